// Evaluation of decoders (paper Table 1, Fig. 10): for held-out embeddings e1 and the embeddings e2 of the
// images made from them, the mean loss ⟨L⟩, ⟨‖e1 − e2‖²⟩ and ⟨ẽ1·ẽ2⟩ (unit-length embeddings), and the
// fraction the face model calls the same person. The same numbers for any other images (a constant image, the
// iterative method's results) make the comparisons.
import { Tensor, keep, tidy } from '../tensor/tensor.ts';
import * as O from '../autograd/ops.ts';
import { noGrad } from '../autograd/tape.ts';
import type { FaceModel } from '../models/face_model.ts';
import type { Decoder } from '../models/decoder.ts';
import type { GuideLayer } from '../invert/reconstruct.ts';
import { unitRows } from '../invert/losses.ts';
import { decoderLoss, pick } from './train.ts';

export interface ItemScore {
  /** The training loss L of this image against its target. */
  loss: number;
  /** ‖e1 − e2‖². */
  l2sq: number;
  /** ẽ1·ẽ2. */
  cos: number;
  /** ‖e1 − e2‖. */
  distance: number;
}

export interface Summary {
  count: number;
  meanLoss: number;
  meanL2sq: number;
  meanCos: number;
  /** Fraction with ‖e1 − e2‖ below the model's same-person threshold (NaN without one). */
  samePerson: number;
}

export interface LossSettings {
  guideLayers: GuideLayer[];
  tvWeight: number;
}

/** Scores of images [N, 3, S, S] against targets [N, D]; guide activations are per item ([N, …] or [1, …]). */
export async function scoreImages(model: FaceModel, images: Tensor, targets: Tensor, guideActs: Record<string, Tensor>, s: LossSettings): Promise<ItemScore[]> {
  const N = images.shape[0];
  const out = tidy(() =>
    noGrad(() => {
      const acts = Object.fromEntries(Object.entries(guideActs).map(([k, v]) => [k, v.shape[0] === N ? v : pick(v, Array(N).fill(0))]));
      const l = decoderLoss(model, images, targets, acts, s.guideLayers, s.tvWeight);
      const cos = O.sum(O.mul(unitRows(l.embedded), unitRows(targets)), 1);
      return O.concat([l.total, l.embedding, cos, l.distance].map((t) => O.reshape(t, [1, N])), 0);
    }),
  );
  const v = await out.data();
  out.dispose();
  return Array.from({ length: N }, (_, i) => ({ loss: v[i], l2sq: v[N + i], cos: v[2 * N + i], distance: v[3 * N + i] }));
}

export function summarise(scores: ItemScore[], threshold: number): Summary {
  const n = scores.length;
  const mean = (f: (s: ItemScore) => number) => scores.reduce((a, s) => a + f(s), 0) / n;
  return {
    count: n,
    meanLoss: mean((s) => s.loss),
    meanL2sq: mean((s) => s.l2sq),
    meanCos: mean((s) => s.cos),
    samePerson: Number.isFinite(threshold) ? scores.filter((s) => s.distance < threshold).length / n : NaN,
  };
}

/** Decodes `embeddings` in batches and scores each image against its embedding (one guide for all). */
export async function scoreDecoder(
  model: FaceModel,
  decoder: Decoder,
  embeddings: Float32Array[],
  guide: Tensor,
  guideActs: Record<string, Tensor>,
  s: LossSettings,
  batch = 16,
): Promise<{ scores: ItemScore[]; images: Float32Array[] }> {
  const scores: ItemScore[] = [];
  const images: Float32Array[] = [];
  const D = decoder.config.embeddingSize;
  for (let at = 0; at < embeddings.length; at += batch) {
    const chunk = embeddings.slice(at, at + batch);
    const targets = O.tensor(Float32Array.from(chunk.flatMap((e) => Array.from(e))), [chunk.length, D]);
    const guides = decoder.config.kind === 'guided' ? keep(tidy(() => pick(guide, Array(chunk.length).fill(0)))) : undefined;
    const img = decoder.decode(targets, guides, decoder.config.guideIndexCount > 0 ? Array(chunk.length).fill(0) : undefined);
    scores.push(...(await scoreImages(model, img, targets, guideActs, s)));
    const px = await img.data();
    const per = px.length / chunk.length;
    for (let i = 0; i < chunk.length; i++) images.push(px.slice(i * per, (i + 1) * per));
    [targets, img, ...(guides ? [guides] : [])].forEach((t) => t.dispose());
  }
  return { scores, images };
}
