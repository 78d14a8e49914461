// Dispatches (compute kernels launched) of one forward + backward to the pixels, at batch 1, for each bundled
// network: the count issue 17 asks to bring down (fewer launches, less per-dispatch overhead on every device).
// Run: node --import tsx bench/dispatches.ts      (last line: JSON)
import { readFileSync } from 'node:fs';
import * as F from '../src/index.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { DEFAULT_MODEL } from '../src/cli/paths.ts';

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
console.log(JSON.stringify({ name: 'dispatches', batch: 1, counts }));
