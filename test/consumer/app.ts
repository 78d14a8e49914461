// What a consumer of the published package writes: `faceinv` resolved through its package.json `exports`.
// test/package.test.ts type-checks it (tsc --strict, moduleResolution NodeNext and Bundler) and runs it in Node,
// in Chromium (bundled by esbuild) and in Deno (`faceinv` mapped to `npm:faceinv`).
import { init, tensor, conv2d, sum, backward, FaceModel, reconstruct, tidy, noGrad, type RgbImage } from 'faceinv';

export interface Summary {
  adapter: string;
  /** d(Σ conv2d(x, w))/dw for x = 0..8 as 3×3 and a 2×2 w: each tap sums the four inputs it sees. */
  convGrad: number[];
  embeddingSize: number;
  distance: number;
  iterations: number;
}

/** A flat-coloured 150×150 image. */
function flat(r: number, g: number, b: number): RgbImage {
  const data = new Float32Array(150 * 150 * 3);
  for (let i = 0; i < data.length; i += 3) data.set([r, g, b], i);
  return { width: 150, height: 150, data };
}

/** Runs the engine's autodiff on a convolution, then a short reconstruction with the model whose ONNX bytes it is given. */
export async function run(modelBytes: Uint8Array, iterations = 2): Promise<Summary> {
  const engine = await init();
  const x = tensor([0, 1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 3, 3]);
  const w = tensor([1, -1, 0.5, 2], [1, 1, 2, 2]);
  w.requiresGrad = true;
  const loss = sum(conv2d(x, w));
  backward(loss);
  const convGrad = Array.from(await w.grad!.data());

  // A wrong use the types catch: conv2d takes tensors, not arrays (were the exports `any`, this would compile).
  // @ts-expect-error number[] is not a Tensor
  const wrong = () => conv2d([0, 1, 2, 3], w);
  void wrong;

  const model = FaceModel.fromBytes(modelBytes);
  const target = tidy(() => noGrad(() => model.embed(model.pixels([flat(200, 150, 120)])).embedding));
  const guide = model.pixels([flat(128, 128, 128)]);
  const r = await reconstruct({ model, target, guide, iterations });
  const summary: Summary = {
    adapter: `${engine.adapter.vendor} ${engine.adapter.device} ${engine.adapter.description}`.trim(),
    convGrad,
    embeddingSize: target.shape[1],
    distance: r.distance[0],
    iterations: r.iterations,
  };
  r.image.dispose();
  model.dispose();
  return summary;
}
