// Feed-forward decoders (paper §4.1, §4.2): embedding → image in one pass.
//   §4.1 ('embedding'): e → fully connected + ReLU → base×base×16 → ReLU deconvolutions (5×5, stride 2), all
//        with `filters` channels but the last (3) → centre crop to the face model's input → pixels.
//   §4.2 ('guided'): the guide, padded to the decoder's full size, goes through stride-2 convolutions; each
//        result is depth-concatenated with the decoder tensor of the same size before the next deconvolution;
//        the last deconvolution keeps `filters` channels, is concatenated with the guide itself and a final
//        5×5 convolution maps it to 3 channels. Optionally a one-hot guide index joins the embedding (the
//        paper's sparse guide index input).
// Sizes: the default face model takes 150×150; the paper's 256 → 224 becomes base 10 → 160 → 150 here: four
// deconvolutions from 10×10 reach 160, the smallest such size ≥ 150 (an 8×8 start would need 256, 2.9× the
// pixels to compute for 5% more margin).
// Pixels come out as 127.5 + 127.5·tanh(y), always inside 0..255.
import { Tensor, keep, tidy } from '../tensor/tensor.ts';
import { Rng } from '../tensor/random.ts';
import { fmt } from '../tensor/shape.ts';
import * as O from '../autograd/ops.ts';
import { noGrad } from '../autograd/tape.ts';
import { conv2d, convTranspose2d } from '../autograd/conv.ts';
import { pyrUp, pyrDown, contrastStretch, luminanceWeights } from '../autograd/regularizers.ts';

export interface DecoderConfig {
  kind: 'embedding' | 'guided';
  embeddingSize: number;
  /** Side of the output image (the face model's input). */
  outputSize: number;
  /** Side of the first tensor (from the fully connected layer). */
  baseSize: number;
  /** Channels of the first tensor (16 in the paper). */
  baseChannels: number;
  /** L_n: channels of every deconvolution output but the image's. */
  filters: number;
  /** Deconvolutions: baseSize · 2^upsamplings ≥ outputSize. */
  upsamplings: number;
  /** L̄_n: channels of each guide convolution ('guided'). */
  guideFilters: number;
  /** > 0: a one-hot guide index of this many guides joins the embedding ('guided', the sparse index variant). */
  guideIndexCount: number;
  /**
   * The training embeddings' mean and standard deviation per dimension: the decoder's input is standardised,
   * (e − mean) / std, so that what tells one person from another, not what all faces share, drives the first
   * layer (embeddings of faces all lie in a narrow cone). Absent: the embedding as it is (runs before them).
   */
  inputMean?: number[];
  inputStd?: number[];
  /**
   * > 0 ('embedding' only): a linear face space under the deconvolutions. The standardised embedding maps
   * linearly to an image `linearLevels` Laplacian-pyramid levels below the output (38×38 under 150 for 2),
   * enlarged by the pyramid's upsampling; the deconvolutions' tanh output is added to it as a residual. Fitted
   * in closed form (ridge regression on real faces, src/train/ridge.ts) before training, it gives the decoder
   * distinct, face-like images from the first step; training refines both.
   */
  linearLevels?: number;
  /**
   * Photo contrast as the output layer (contrastStretch), when set: each decoded face's luminance stretched about
   * its mean until its σ reaches this (0..1; a photo's is about 0.2). Trained with it, the decoder keeps its
   * pixel term's soft, mean-like faces at a photo's contrast instead of washed out. Absent: as drawn.
   */
  stretch?: number;
  /**
   * The face space's enlargement renormalised at the image's edges (each enlarged pixel divided by the weight of
   * its taps that lie inside the smaller image), so that a uniform face stays uniform to the border. Absent (runs
   * before it): the pyramid's zero padding, which darkens the outer pixels and the corners most.
   */
  evenEdges?: boolean;
}

/** 1 / pyrUp(ones): the gain that renormalises an enlargement from `from`² to `to`² at the edges, [1, 1, to, to]. */
export function upEdgeGain(from: number, to: number): Tensor {
  return tidy(() => noGrad(() => O.div(O.ones([1, 1, to, to]), pyrUp(O.ones([1, 1, from, from]), to, to))));
}

/** 1 / pyrDown(ones): the gain that renormalises a reduction of a side² image at the edges, [1, 1, ⌈side/2⌉, ⌈side/2⌉]. */
export function downEdgeGain(side: number): Tensor {
  return tidy(() => noGrad(() => {
    const lo = pyrDown(O.ones([1, 1, side, side]));
    return O.div(O.ones(lo.shape), lo);
  }));
}

/** The sides of the linear face space's image, from the smallest up to the output (linearLevels + 1 of them). */
export function linearSides(c: DecoderConfig): number[] {
  const sides = [c.outputSize];
  for (let l = 0; l < (c.linearLevels ?? 0); l++) sides.unshift(Math.ceil(sides[0] / 2));
  return sides;
}

/** The §4.1 decoder's configuration for the default model, with `over`'s fields replacing the defaults. */
export function defaultDecoderConfig(over: Partial<DecoderConfig> = {}): DecoderConfig {
  const c: DecoderConfig = {
    kind: 'embedding', embeddingSize: 128, outputSize: 150, baseSize: 10, baseChannels: 16, filters: 50, upsamplings: 4, guideFilters: 8, guideIndexCount: 0,
    ...over,
  };
  checkConfig(c);
  return c;
}

export function checkConfig(c: DecoderConfig): void {
  const posInt = (k: keyof DecoderConfig, min = 1) => {
    const v = c[k] as number;
    if (!(Number.isInteger(v) && v >= min)) throw new RangeError(`decoder config: ${k} must be a whole number ≥ ${min}, got ${v}`);
  };
  if (c.kind !== 'embedding' && c.kind !== 'guided') throw new RangeError(`decoder config: kind must be 'embedding' or 'guided', got ${c.kind}`);
  for (const k of ['embeddingSize', 'outputSize', 'baseSize', 'baseChannels', 'filters', 'upsamplings', 'guideFilters'] as const) posInt(k);
  posInt('guideIndexCount', 0);
  if (c.kind === 'embedding' && c.guideIndexCount > 0) throw new RangeError('decoder config: a guide index needs kind guided');
  if (c.linearLevels !== undefined && !(Number.isInteger(c.linearLevels) && c.linearLevels >= 0 && c.linearLevels <= 6)) throw new RangeError(`decoder config: linearLevels must be a whole number 0..6, got ${c.linearLevels}`);
  if (c.linearLevels && c.kind !== 'embedding') throw new RangeError('decoder config: a linear face space (linearLevels) is for the embedding decoder only');
  if (c.stretch !== undefined && !(c.stretch > 0 && c.stretch < 1)) throw new RangeError(`decoder config: stretch must be a contrast between 0 and 1, got ${c.stretch}`);
  if (c.evenEdges !== undefined && typeof c.evenEdges !== 'boolean') throw new RangeError(`decoder config: evenEdges must be true or false, got ${c.evenEdges}`);
  if (!c.inputMean !== !c.inputStd) throw new RangeError('decoder config: inputMean and inputStd come together');
  if (c.inputMean && (c.inputMean.length !== c.embeddingSize || c.inputStd!.length !== c.embeddingSize || c.inputStd!.some((v) => !(v > 0)) || c.inputMean.some((v) => !Number.isFinite(v)))) {
    throw new RangeError(`decoder config: inputMean and inputStd need ${c.embeddingSize} finite values each, the deviations > 0`);
  }
  const full = c.baseSize * 2 ** c.upsamplings;
  if (full < c.outputSize) throw new RangeError(`decoder config: ${c.baseSize}·2^${c.upsamplings} = ${full} is smaller than the output size ${c.outputSize}`);
}

/** The decoder's full (uncropped) output side. */
export const fullSize = (c: DecoderConfig) => c.baseSize * 2 ** c.upsamplings;

/** 5×5 stride-2 transposed convolution doubling the size: pad 2, output padding 1. */
const UP = { stride: 2, padding: 2, outputPadding: 1 } as const;
/** 5×5 stride-2 convolution halving it (even sizes). */
const DOWN = { stride: 2, padding: [2, 2, 1, 1] as [number, number, number, number] };

/** Parameter names and shapes, in a fixed order (the checkpoint's). */
export function parameterShapes(c: DecoderConfig): [string, number[]][] {
  const out: [string, number[]][] = [];
  const inputs = c.embeddingSize + (c.kind === 'guided' ? c.guideIndexCount : 0);
  out.push(['fc.weight', [inputs, c.baseChannels * c.baseSize * c.baseSize]], ['fc.bias', [c.baseChannels * c.baseSize * c.baseSize]]);
  const guided = c.kind === 'guided';
  let ch = c.baseChannels;
  for (let i = 0; i < c.upsamplings; i++) {
    const last = i === c.upsamplings - 1;
    const cin = ch + (guided ? c.guideFilters : 0);
    const cout = last && !guided ? 3 : c.filters;
    out.push([`deconv${i}.weight`, [cin, cout, 5, 5]], [`deconv${i}.bias`, [cout]]);
    ch = cout;
  }
  if (guided) {
    // guide conv j maps size full/2^j → full/2^(j+1), j = 0 … upsamplings−1.
    for (let j = 0; j < c.upsamplings; j++) out.push([`guide${j}.weight`, [c.guideFilters, j === 0 ? 3 : c.guideFilters, 5, 5]], [`guide${j}.bias`, [c.guideFilters]]);
    out.push(['final.weight', [3, c.filters + 3, 5, 5]], ['final.bias', [3]]);
  }
  if (c.linearLevels) {
    const side = linearSides(c)[0];
    out.push(['linear.weight', [c.embeddingSize, 3 * side * side]], ['linear.bias', [3 * side * side]]);
  }
  return out;
}

/** 5×5 separable kernel [1,4,6,4,1]/8 ⊗ itself: as a stride-2 deconvolution it interpolates (each phase sums to 1). */
const INTERP = (() => {
  const k = [1, 4, 6, 4, 1].map((v) => v / 8);
  return Array.from({ length: 25 }, (_, i) => k[Math.floor(i / 5)] * k[i % 5]);
})();

/**
 * The paper's initialisation (§5.2): deconvolutions that interpolate smoothly, with Xavier-random mixing
 * between filters; the last deconvolution (the image) gives grey: one mixing column shared by R, G and B, kept
 * small so that tanh starts near 0 (mid-grey). Convolutions (guide branch, final) are Xavier; biases 0 but the
 * fully connected layer's, 0.1, so that its ReLUs start alive.
 */
export function initialParameters(c: DecoderConfig, seed: number): Map<string, Float32Array> {
  const r = new Rng(seed);
  const xavier = (fanIn: number, fanOut: number) => Math.sqrt(6 / (fanIn + fanOut));
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of parameterShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    if (name === 'linear.bias') v.fill(127.5);
    else if (name === 'linear.weight') {
      // Zero (a grey face space) until ridge regression on real faces fits it (src/train/ridge.ts).
    } else if (name === 'fc.weight') {
      const a = xavier(shape[0], shape[1]);
      for (let i = 0; i < n; i++) v[i] = r.uniform(-a, a);
    } else if (name === 'fc.bias') v.fill(0.1);
    else if (name.startsWith('deconv') && name.endsWith('.weight')) {
      const [cin, cout] = shape;
      const image = cout === 3 && name === `deconv${c.upsamplings - 1}.weight`;
      const a = xavier(cin, cout) * (image ? 0.1 : 1);
      for (let i = 0; i < cin; i++) {
        const grey = r.uniform(-a, a);
        for (let o = 0; o < cout; o++) {
          const m = image ? grey : r.uniform(-a, a);
          for (let k = 0; k < 25; k++) v[(i * cout + o) * 25 + k] = m * INTERP[k];
        }
      }
    } else if (name.endsWith('.weight')) {
      const [cout, cin] = shape;
      const a = xavier(cin * 25, cout * 25) * (name === 'final.weight' ? 0.1 : 1);
      for (let i = 0; i < n; i++) v[i] = r.uniform(-a, a);
    }
    out.set(name, v);
  }
  return out;
}

/** A feed-forward decoder (§4): embeddings [N, D] → face images [N, 3, S, S]; its parameters are tensors to train. */
export class Decoder {
  readonly params: Map<string, Tensor>;
  /** The input standardisation (config.inputMean, 1 / config.inputStd) as [1, D] tensors, or null. */
  private readonly standardise: { mean: Tensor; gain: Tensor } | null;
  /** The luminance weights of the output stretch ([1, 3, 1, 1]), or null without one. */
  private readonly lum: Tensor | null;
  /** Per enlargement of the face space (config.evenEdges): 1 / the in-range tap weight, [1, 1, side, side]. */
  private readonly edgeGains: Tensor[];

  private constructor(
    readonly config: DecoderConfig,
    params: Map<string, Tensor>,
  ) {
    this.params = params;
    const { inputMean: m, inputStd: sd } = config;
    this.standardise = m && sd ? { mean: keep(O.tensor(m, [1, m.length])), gain: keep(O.tensor(sd.map((v) => 1 / v), [1, sd.length])) } : null;
    this.lum = config.stretch ? keep(luminanceWeights()) : null;
    const sides = linearSides(config);
    this.edgeGains = config.linearLevels && config.evenEdges ? sides.slice(1).map((side, k) => keep(upEdgeGain(sides[k], side))) : [];
  }

  /** A decoder with the paper's initialisation (seeded). */
  static create(config: DecoderConfig, seed = 1): Decoder {
    return Decoder.fromValues(config, initialParameters(config, seed));
  }

  /** A decoder from parameter values (a checkpoint's); every parameter must be there with its shape's size. */
  static fromValues(config: DecoderConfig, values: Map<string, Float32Array>): Decoder {
    checkConfig(config);
    const params = new Map<string, Tensor>();
    for (const [name, shape] of parameterShapes(config)) {
      const v = values.get(name);
      const n = shape.reduce((a, b) => a * b, 1);
      if (!v || v.length !== n) throw new RangeError(`decoder: parameter ${name} needs ${n} values ${fmt(shape)}, got ${v ? v.length : 'none'}`);
      const t = keep(O.tensor(v, shape));
      t.requiresGrad = true;
      params.set(name, t);
    }
    return new Decoder(config, params);
  }

  /** Parameters in checkpoint order. */
  parameterList(): Tensor[] {
    return parameterShapes(this.config).map(([name]) => this.params.get(name)!);
  }

  async values(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, t] of this.params) out.set(name, await t.data());
    return out;
  }

  private p(name: string): Tensor {
    return this.params.get(name)!;
  }

  /**
   * Images [N, 3, S, S] (pixels 0..255, S = outputSize) from embeddings [N, D]; the guided kind also takes
   * guide images [N or 1, 3, S, S] and, with an index input, guide indices (one per item).
   */
  forward(embeddings: Tensor, guide?: Tensor, guideIndex?: number[]): Tensor {
    const c = this.config;
    const N = embeddings.shape[0];
    if (embeddings.rank !== 2 || embeddings.shape[1] !== c.embeddingSize) {
      throw new RangeError(`decoder: embeddings must be [N, ${c.embeddingSize}], got ${fmt(embeddings.shape)}`);
    }
    const guided = c.kind === 'guided';
    if (guided && !guide) throw new RangeError('decoder: a guided decoder needs guide images');
    const S = c.outputSize;
    const full = fullSize(c);
    const standardised = this.standardise ? O.mul(O.sub(embeddings, this.standardise.mean), this.standardise.gain) : embeddings;
    let input = standardised;
    if (guided && c.guideIndexCount > 0) {
      if (!guideIndex || guideIndex.length !== N || guideIndex.some((g) => !(Number.isInteger(g) && g >= 0 && g < c.guideIndexCount))) {
        throw new RangeError(`decoder: give one guide index in 0..${c.guideIndexCount - 1} per embedding (${N})`);
      }
      const onehot = new Float32Array(N * c.guideIndexCount);
      guideIndex.forEach((g, i) => (onehot[i * c.guideIndexCount + g] = 1));
      input = O.concat([input, O.tensor(onehot, [N, c.guideIndexCount])], 1);
    }
    let h = O.relu(O.add(O.matmul(input, this.p('fc.weight')), this.p('fc.bias')));
    h = O.reshape(h, [N, c.baseChannels, c.baseSize, c.baseSize]);
    // The guide branch: padded to the full size (centred, zeros), then halved c.upsamplings times.
    const guides: Tensor[] = [];
    let padded: Tensor | null = null;
    if (guided) {
      const g = guide!;
      if (g.rank !== 4 || g.shape[1] !== 3 || g.shape[2] !== S || g.shape[3] !== S || (g.shape[0] !== N && g.shape[0] !== 1)) {
        throw new RangeError(`decoder: guides must be [${N} or 1, 3, ${S}, ${S}], got ${fmt(g.shape)}`);
      }
      const lo = Math.floor((full - S) / 2);
      // Pixels to −1..1 before the convolutions, like the decoder's own output range.
      const gn = O.mul(O.sub(g.shape[0] === N ? g : O.expand(g, [N, 3, S, S]), 127.5), 1 / 127.5);
      padded = O.pad(gn, [[0, 0], [0, 0], [lo, full - S - lo], [lo, full - S - lo]]);
      let x = padded;
      for (let j = 0; j < c.upsamplings; j++) {
        x = conv2d(x, this.p(`guide${j}.weight`), this.p(`guide${j}.bias`), { ...DOWN, relu: true });
        guides.push(x);
      }
    }
    for (let i = 0; i < c.upsamplings; i++) {
      if (guided) h = O.concat([h, guides[c.upsamplings - 1 - i]], 1);
      h = convTranspose2d(h, this.p(`deconv${i}.weight`), this.p(`deconv${i}.bias`), UP);
      if (i < c.upsamplings - 1 || guided) h = O.relu(h);
    }
    if (guided) h = conv2d(O.concat([h, padded!], 1), this.p('final.weight'), this.p('final.bias'), { padding: 2 });
    const lo = Math.floor((full - S) / 2);
    const cropped = full === S ? h : O.slice(h, [0, 0, lo, lo], [N, 3, lo + S, lo + S]);
    const drawn = O.mul(O.tanh(cropped), 127.5);
    if (!c.linearLevels) return this.toned(O.add(drawn, 127.5));
    const sides = linearSides(c);
    let face = O.reshape(O.add(O.matmul(standardised, this.p('linear.weight')), this.p('linear.bias')), [N, 3, sides[0], sides[0]]);
    sides.slice(1).forEach((side, k) => {
      face = pyrUp(face, side, side);
      if (this.edgeGains.length) face = O.mul(face, this.edgeGains[k]);
    });
    return this.toned(O.add(face, drawn));
  }

  /** The output stretch (config.stretch), then pixels limited to 0..255 (tanh's output already is without either). */
  private toned(image: Tensor): Tensor {
    const c = this.config;
    if (!this.lum) return c.linearLevels ? O.clamp(image, 0, 255) : image;
    return O.clamp(contrastStretch(image, this.lum, c.stretch! * 255), 0, 255);
  }

  /** Images without recording gradients (inference). */
  decode(embeddings: Tensor, guide?: Tensor, guideIndex?: number[]): Tensor {
    return tidy(() => noGrad(() => this.forward(embeddings, guide, guideIndex)));
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    this.params.clear();
    if (this.standardise) [this.standardise.mean, this.standardise.gain].forEach((t) => t.dispose());
    this.lum?.dispose();
    this.edgeGains.forEach((t) => t.dispose());
  }
}
