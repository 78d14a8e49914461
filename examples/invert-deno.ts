// Reconstructs a face from an embedding with faceinv's public API under Deno's own WebGPU.
//   deno run --unstable-webgpu --allow-read --allow-write examples/invert-deno.ts [target.png] [out.png] [iterations]
// Run from the repository root after `npm ci` (which converts the default model into models/).
import * as F from '../src/index.ts';

export interface ExampleResult {
  /** Embedding distance of the starting image (the guide) to the target, and of the result. */
  start: number;
  final: number;
  iterations: number;
  seconds: number;
}

export async function invertExample(o: { target?: string; guide?: string; iterations?: number; out?: string } = {}): Promise<ExampleResult> {
  const targetPath = o.target ?? 'assets/faces/astronaut.png';
  const guidePath = o.guide ?? 'assets/guides/lfw-average.png';
  await F.init();
  const model = F.FaceModel.fromBytes(await Deno.readFile('models/dlib_face_recognition_resnet.onnx'), 'dlib');
  const layers = JSON.parse(model.module.metadata['faceinv.guide_layers']) as string[];
  const S = model.imageSize;
  const targetImage = await F.decodePngBytes(await Deno.readFile(targetPath), targetPath);
  const guideImage = await F.decodePngBytes(await Deno.readFile(guidePath), guidePath);
  // The target embedding, here from a face image; an embedding from elsewhere works the same: F.tensor(values, [1, 128]).
  const target = F.keep(F.tidy(() => F.noGrad(() => model.embed(model.pixels([targetImage])).embedding)));
  const guide = F.keep(model.pixels([guideImage]));
  const startDistance = F.tidy(() => F.noGrad(() => F.embeddingDistance(model.embed(guide).embedding, target)));
  const start = (await startDistance.data())[0];
  startDistance.dispose();
  const r = await F.reconstruct({
    ...F.preset('fast', layers, o.iterations ?? 30),
    model,
    target,
    guide,
    onProgress: (p) => console.error(`iteration ${p.iteration}: distance ${p.distance[0].toFixed(4)}`),
  });
  if (o.out) await Deno.writeFile(o.out, await F.encodePngBytes(F.fromPlanes(await r.image.data(), 1, S, S)[0]));
  [r.image, target, guide].forEach((t) => t.dispose());
  model.dispose();
  return { start, final: r.distance[0], iterations: r.iterations, seconds: r.seconds };
}

if (import.meta.main) {
  const [target, out = 'out/deno-face.png', iterations = '30'] = Deno.args;
  const r = await invertExample({ target, out, iterations: Number(iterations) });
  console.log(JSON.stringify({ out, ...r }));
  F.shutdown();
}
