// A face-embedding network plus what its metadata says about using it: input size, pixel normalisation,
// the same-person threshold. Works for the bundled default model and any ONNX model carrying faceinv.*
// metadata (other models get defaults derived from their input shape).
import { Tensor, keep } from '../tensor/tensor.ts';
import * as O from '../autograd/ops.ts';
import { OnnxModule } from './onnx/module.ts';
import { OnnxError } from './onnx/load.ts';
import { toModelInput, type RgbImage } from '../io/image.ts';

export class FaceModel {
  readonly inputSize: number;
  readonly mean: [number, number, number];
  readonly scale: number;
  readonly threshold: number;
  readonly inputName: string;
  readonly outputName: string;
  private meanTensor: Tensor | null = null;

  constructor(readonly module: OnnxModule) {
    const md = module.metadata;
    if (module.inputs.length !== 1) throw new OnnxError(`${module.name}: a face model needs exactly one input, found ${module.inputs.length}`);
    const input = module.inputs[0];
    const side = Number(md['faceinv.input_size'] ?? input.dims[2]);
    if (!Number.isInteger(side) || side <= 0 || input.dims.length !== 4 || input.dims[1] !== 3) {
      throw new OnnxError(`${module.name}: input '${input.name}' [${input.dims.join(',')}] is not an NCHW RGB image of fixed size`);
    }
    this.inputSize = side;
    this.inputName = input.name;
    this.outputName = module.outputs[0].name;
    this.mean = md['faceinv.mean'] ? (JSON.parse(md['faceinv.mean']) as [number, number, number]) : [0, 0, 0];
    this.scale = Number(md['faceinv.scale'] ?? 1);
    this.threshold = Number(md['faceinv.same_person_threshold'] ?? NaN);
  }

  static fromBytes(bytes: Uint8Array, name = 'model'): FaceModel {
    return new FaceModel(OnnxModule.fromBytes(bytes, name));
  }

  /** Host images → a [N,3,S,S] tensor of pixels 0..255 (centre crop and resize to the model's size). */
  pixels(images: RgbImage[]): Tensor {
    const S = this.inputSize;
    const out = new Float32Array(images.length * 3 * S * S);
    images.forEach((img, n) => {
      const sq = toModelInput(img, S);
      for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) out[((n * 3 + c) * S * S) + i] = sq.data[i * 3 + c];
    });
    return O.tensor(out, [images.length, 3, S, S]);
  }

  /** Differentiable normalisation of 0..255 pixels: (p − mean) · scale. */
  normalize(pixels: Tensor): Tensor {
    if (!this.meanTensor || this.meanTensor.isDisposed) {
      // Kept for the model's lifetime: every call reuses it.
      this.meanTensor = keep(O.tensor(this.mean, [1, 3, 1, 1]));
    }
    return O.mul(O.sub(pixels, this.meanTensor), this.scale);
  }

  /** Embeddings [N, D] of 0..255 pixel tensors, plus any tapped layers; all differentiable. */
  embed(pixels: Tensor, taps: string[] = []): { embedding: Tensor; taps: Record<string, Tensor> } {
    const out = this.module.run({ [this.inputName]: this.normalize(pixels) }, { taps });
    return { embedding: out[this.outputName], taps: Object.fromEntries(taps.map((t) => [t, out[t]])) };
  }

  dispose(): void {
    this.meanTensor?.dispose();
    this.module.dispose();
  }
}

/** Euclidean distance between two embeddings (host arrays). */
export function euclidean(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`distance: embeddings of length ${a.length} and ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}
