// Reconstructs a face from an embedding with faceinv's public API in Node (the built package, dist/).
//   node examples/invert-node.mjs [target.png] [out.png] [iterations]
// Run from the repository root after `npm ci` (which builds dist/ and converts the default model). In your own
// project, `npm install faceinv` and import from 'faceinv' the same way.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as F from 'faceinv';

const [targetPath = 'assets/faces/astronaut.png', out = 'out/node-face.png', iterations = '30'] = process.argv.slice(2);
await F.init();
const model = F.FaceModel.fromBytes(new Uint8Array(await readFile('models/dlib_face_recognition_resnet.onnx')), 'dlib');
const layers = JSON.parse(model.module.metadata['faceinv.guide_layers']);
const S = model.imageSize;
const targetImage = await F.decodePngBytes(new Uint8Array(await readFile(targetPath)), targetPath);
const guideImage = await F.decodePngBytes(new Uint8Array(await readFile('assets/guides/lfw-average.png')), 'guide');
// The target embedding, here from a face image; an embedding from elsewhere works the same: F.tensor(values, [1, 128]).
const target = F.keep(F.tidy(() => F.noGrad(() => model.embed(model.pixels([targetImage])).embedding)));
const guide = F.keep(model.pixels([guideImage]));
const r = await F.reconstruct({
  ...F.preset('fast', layers, Number(iterations)),
  model,
  target,
  guide,
  onProgress: (p) => console.error(`iteration ${p.iteration}: distance ${p.distance[0].toFixed(4)}`),
});
await mkdir(dirname(out), { recursive: true });
await writeFile(out, await F.encodePngBytes(F.fromPlanes(await r.image.data(), 1, S, S)[0]));
console.log(JSON.stringify({ out, distance: r.distance[0], iterations: r.iterations, seconds: r.seconds }));
F.shutdown();
process.exit(0);
