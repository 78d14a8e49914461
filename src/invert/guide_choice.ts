// The guide chosen per target (paper §3 picks the guiding image for the person; §5.1 guides with cartoon and
// averaged faces), by the networks being optimised and no other: for each target, the guides whose embeddings
// are nearest it under the model and every ensemble member, one of them or the average of K. A judge never
// takes part, so the choice cannot use what it will see.
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../autograd/tape.ts';
import * as O from '../autograd/ops.ts';
import type { FaceModel } from '../models/face_model.ts';
import type { RgbImage } from '../io/image.ts';

/** A network that takes part in the optimisation, with its targets [N, D]. */
export interface ChoosingNetwork {
  model: FaceModel;
  target: Tensor;
}

/** Guides embedded at a time (a hundred at once outgrow a device's largest buffer). */
const CHUNK = 16;

const unitRows = (data: Float32Array, n: number): Float32Array[] => {
  const d = data.length / n;
  return Array.from({ length: n }, (_, i) => {
    const row = data.slice(i * d, (i + 1) * d);
    const norm = Math.hypot(...row) || 1;
    return row.map((v) => v / norm);
  });
};

/**
 * Cosine distances [N][G] of every target to every guide under each network, each target's row divided by its
 * mean (so no network's scale outweighs another's), summed over the networks.
 */
export async function guideDistances(nets: ChoosingNetwork[], guides: Tensor): Promise<number[][]> {
  const G = guides.shape[0];
  let total: number[][] | null = null;
  for (const { model, target } of nets) {
    const g: Float32Array[] = [];
    for (let i = 0; i < G; i += CHUNK) {
      const n = Math.min(CHUNK, G - i);
      const e = tidy(() => noGrad(() => model.embed(O.slice(guides, [i, 0, 0, 0], [i + n, ...guides.shape.slice(1)])).embedding));
      g.push(...unitRows(await e.data(), n));
      e.dispose();
    }
    const N = target.shape[0];
    const t = unitRows(await target.data(), N);
    const d = t.map((row) => g.map((gr) => 1 - row.reduce((s, v, k) => s + v * gr[k], 0)));
    const scaled = d.map((row) => {
      const mean = row.reduce((a, b) => a + b, 0) / G || 1;
      return row.map((v) => v / mean);
    });
    total = total ? total.map((row, i) => row.map((v, k) => v + scaled[i][k])) : scaled;
  }
  if (!total) throw new RangeError('guideDistances: no network to choose with');
  return total;
}

/** Per target, the indices of its K nearest guides (guideDistances), nearest first. */
export async function nearestGuides(nets: ChoosingNetwork[], guides: Tensor, K = 1): Promise<number[][]> {
  return (await guideDistances(nets, guides)).map((row) => row.map((v, k) => [v, k]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, K).map(([, k]) => k));
}

/** The pixel mean of some images of one size (an averaged face, paper §5.1). */
export function meanImage(images: RgbImage[]): RgbImage {
  const { width, height } = images[0];
  const data = new Float32Array(width * height * 3);
  for (const im of images) {
    if (im.width !== width || im.height !== height) throw new RangeError(`meanImage: ${im.width}×${im.height} among ${width}×${height} images`);
    for (let i = 0; i < data.length; i++) data[i] += im.data[i] / images.length;
  }
  return { width, height, data };
}
