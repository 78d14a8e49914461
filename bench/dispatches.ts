// Dispatches (compute kernels launched) of one forward + backward to the pixels, at batch 1, for each bundled
// network: the count issue 17 asks to bring down (fewer launches, less per-dispatch overhead on every device).
// Also one whole reconstruction iteration of the default model at bench/invert's settings (guide layers, TV,
// the Laplacian normalisation, Adam): `iteration`, the launches between two progress reports of reconstruct().
// Run: node --import tsx bench/dispatches.ts      (last line: JSON)
import { readFileSync } from 'node:fs';
import * as F from '../src/index.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { DEFAULT_MODEL } from '../src/cli/paths.ts';
import { reconstruct } from '../src/invert/reconstruct.ts';

const NETWORKS: [string, string][] = [
  ['dlib', DEFAULT_MODEL],
  ['mobileface', 'assets/judges/mobileface.onnx'],
  ['faceplugin', 'assets/judges/faceplugin.onnx'],
  ['faceres', 'assets/judges/faceres.onnx'],
];
const e = await F.init();
const counts: Record<string, number> = {};
for (const [name, path] of NETWORKS) {
  const model = FaceModel.fromBytes(new Uint8Array(readFileSync(path)), name);
  const S = model.imageSize;
  const p = F.keep(F.mul(F.rand([1, 3, S, S], 1), 255));
  p.requiresGrad = true;
  const step = () => {
    F.tidy(() => F.backward(F.sum(model.embed(p).embedding)));
    p.grad?.dispose();
    p.grad = null;
    e.flush();
  };
  step();
  const before = e.launches;
  step();
  counts[name] = e.launches - before;
  console.log(`${name}: ${counts[name]} dispatches per forward + backward`);
  p.dispose();
  model.dispose();
}
// One iteration of bench/invert's reconstruction at batch 1: launches between progress reports 5 and 6.
const model = FaceModel.fromBytes(new Uint8Array(readFileSync(DEFAULT_MODEL)), 'dlib');
const start = F.keep(F.mul(F.rand([1, 3, 150, 150], 3), 255));
const at: number[] = [];
const r = await reconstruct({
  model, target: F.tidy(() => F.noGrad(() => model.embed(start).embedding)), guide: start, iterations: 7, progressEvery: 1, lr: 2, optimizer: 'adam',
  guideLayers: ['conv64_3', 'conv128_2'].map((layer) => ({ layer, weight: 3e-3 })), tv: { weight: 3e-2, form: 'global', alpha: 2 }, lapNormLevels: 4,
  onProgress: () => void at.push(e.launches),
});
r.image.dispose();
counts.iteration = at[6] - at[5];
console.log(`one reconstruction iteration (dlib, batch 1): ${counts.iteration} dispatches`);
console.log(JSON.stringify({ name: 'dispatches', batch: 1, counts }));
