// A face-embedding network plus what its metadata says about using it: the image size, pixel normalisation,
// framing, the same-person threshold. Works for the bundled default model and any ONNX model carrying
// faceinv.* metadata; a model without it is refused with a line naming the metadata to add.
import { Tensor, keep } from '../tensor/tensor.ts';
import * as O from '../autograd/ops.ts';
import { OnnxModule } from './onnx/module.ts';
import { OnnxError } from './onnx/load.ts';
import { toModelInput, type RgbImage } from '../io/image.ts';
import { warp, packAffines, boxAffine } from '../autograd/warp.ts';

/** The metadata a network needs before faceinv can feed it, as one line saying how to add it. */
export function missingMetadata(name: string, md: Record<string, string>): string | null {
  if ('faceinv.mean' in md || 'faceinv.scale' in md) return null;
  return (
    `${name}: no faceinv metadata says how to feed this network: add faceinv.mean (per-channel mean of 0..255 RGB pixels) and ` +
    `faceinv.scale (multiplier after subtracting it), and where its crop differs from faceinv's chips faceinv.chip_box, ` +
    `e.g. 'faceinv annotate ${name} out.onnx faceinv.mean=[127.5,127.5,127.5] faceinv.scale=0.0078125 faceinv.distance=cosine'`
  );
}

/** A face-embedding network with its preprocessing: image tensors → embeddings, differentiably; built from ONNX bytes with fromBytes(). */
export class FaceModel {
  /**
   * The side of the square images faceinv works with for this model: what `pixels()` makes, `embed()` takes,
   * inversion optimises and every command reads and writes. `fit()` resamples them to the network's input.
   */
  readonly imageSize: number;
  /** The side of the network's own input (`fit()`'s output); nothing outside this class should need it. */
  readonly networkSize: number;
  readonly mean: [number, number, number];
  readonly scale: number;
  readonly threshold: number;
  readonly inputName: string;
  readonly outputName: string;
  /**
   * Where the network's input lies in faceinv's face chips (`faceinv.chip_box`: x0, y0, size in chip widths),
   * for networks trained on another framing (the judges); null when the network takes the whole chip.
   */
  readonly chipBox: [number, number, number] | null;
  /** Distance the network's embeddings are compared with (`faceinv.distance`). */
  readonly distance: 'euclidean' | 'cosine';
  private meanTensor: Tensor | null = null;
  private readonly cropMats = new Map<string, Tensor>();

  /**
   * `inputSize` runs a network that resamples faceinv's chips (`faceinv.chip_box`) at another input size than
   * its own, e.g. a 224-px network at the chip's 150 px inside an ensemble, for a quarter of the work.
   */
  constructor(readonly module: OnnxModule, opts: { inputSize?: number } = {}) {
    const md = module.metadata;
    if (module.inputs.length !== 1) throw new OnnxError(`${module.name}: a face model needs exactly one input, found ${module.inputs.length}`);
    const input = module.inputs[0];
    const side = Number(md['faceinv.input_size'] ?? input.dims[2]);
    if (!Number.isInteger(side) || side <= 0 || input.dims.length !== 4 || input.dims[1] !== 3) {
      throw new OnnxError(`${module.name}: input '${input.name}' [${input.dims.join(',')}] is not an NCHW RGB image of fixed size`);
    }
    const missing = missingMetadata(module.name, md);
    if (missing) throw new OnnxError(missing);
    this.networkSize = opts.inputSize ?? side;
    this.inputName = input.name;
    this.outputName = module.outputs[0].name;
    this.mean = md['faceinv.mean'] ? (JSON.parse(md['faceinv.mean']) as [number, number, number]) : [0, 0, 0];
    this.scale = Number(md['faceinv.scale'] ?? 1);
    this.threshold = Number(md['faceinv.same_person_threshold'] ?? NaN);
    this.distance = md['faceinv.distance'] === 'cosine' ? 'cosine' : 'euclidean';
    const box = md['faceinv.chip_box'] ? (JSON.parse(md['faceinv.chip_box']) as number[]) : null;
    if (box && !(box.length === 3 && box.every(Number.isFinite) && box[2] > 0)) {
      throw new OnnxError(`${module.name}: faceinv.chip_box must be [x0, y0, size] with size > 0, got ${md['faceinv.chip_box']}`);
    }
    this.chipBox = box as [number, number, number] | null;
    if (opts.inputSize !== undefined) {
      if (!(Number.isInteger(opts.inputSize) && opts.inputSize >= 32)) throw new RangeError(`${module.name}: input size must be a whole number ≥ 32, got ${opts.inputSize}`);
      if (!box) throw new OnnxError(`${module.name}: only a network that resamples faceinv's chips (faceinv.chip_box) can run at another input size`);
      module.resizeInput(input.name, [1, 3, opts.inputSize, opts.inputSize]);
    }
    // A network framed differently takes faceinv's chips (150 unless faceinv.chip_size says otherwise); one
    // framed like them takes images at its own input size.
    this.imageSize = box ? Number(md['faceinv.chip_size'] ?? 150) : side;
    if (!(Number.isInteger(this.imageSize) && this.imageSize > 0)) throw new OnnxError(`${module.name}: faceinv.chip_size must be a whole number > 0, got ${md['faceinv.chip_size']}`);
  }

  static fromBytes(bytes: Uint8Array, name = 'model', opts: { inputSize?: number } = {}): FaceModel {
    return new FaceModel(OnnxModule.fromBytes(bytes, name), opts);
  }

  /** Host images → a [N,3,S,S] tensor of pixels 0..255 (centre crop and resize to `imageSize`). */
  pixels(images: RgbImage[]): Tensor {
    const S = this.imageSize;
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

  /**
   * Pixels as the network takes them: square images of any size are resampled (differentiably) from the chip
   * box, or resized, to the input size.
   */
  fit(pixels: Tensor): Tensor {
    const [N, , H, W] = pixels.shape;
    if (H !== W) throw new RangeError(`${this.module.name}: images must be square, got ${H}×${W}`);
    if (!this.chipBox && H === this.networkSize) return pixels;
    const key = `${N}:${H}`;
    let mats = this.cropMats.get(key);
    if (!mats || mats.isDisposed) {
      const m = boxAffine(this.chipBox ?? [0, 0, 1], H, this.networkSize);
      // Kept for the model's lifetime, one per batch and image size.
      mats = keep(O.tensor(packAffines(Array.from({ length: N }, () => m)), [N, 12]));
      this.cropMats.set(key, mats);
    }
    return warp(pixels, mats, this.networkSize, this.networkSize);
  }

  /** Embeddings [N, D] of 0..255 pixel tensors, plus any tapped layers; all differentiable. */
  embed(pixels: Tensor, taps: string[] = []): { embedding: Tensor; taps: Record<string, Tensor> } {
    const out = this.module.run({ [this.inputName]: this.normalize(this.fit(pixels)) }, { taps });
    return { embedding: out[this.outputName], taps: Object.fromEntries(taps.map((t) => [t, out[t]])) };
  }

  dispose(): void {
    this.meanTensor?.dispose();
    for (const m of this.cropMats.values()) if (!m.isDisposed) m.dispose();
    this.cropMats.clear();
    this.module.dispose();
  }
}

/** Cosine similarity of two embeddings (host arrays). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`cosine: embeddings of length ${a.length} and ${b.length}`);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** Euclidean distance between two embeddings (host arrays). */
export function euclidean(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`distance: embeddings of length ${a.length} and ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}
