// reconstruct()'s options, results and errors, and the check that resolves the options to their defaults
// before anything is allocated (src/invert/reconstruct.ts runs them).
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import type { Schedule } from '../optim/schedule.ts';
import type { FaceModel } from '../models/face_model.ts';
import type { Distance, GaussianPrior } from './losses.ts';
import type { Jitter } from './jitter.ts';

/** A guide term: a layer of the model by name, or 'pixels' for the image itself (in 0..1 units). */
export interface GuideLayer {
  layer: string;
  weight: number;
}

export interface TvSettings {
  /** w_TV, a number or a schedule of the iteration (the paper lowers it as the iterations go, §3). */
  weight: number | Schedule;
  form?: 'global' | 'pixel';
  /** Exponent α of the global form (eq. 2). */
  alpha?: number;
  /** Exponent β of the per-pixel form. */
  beta?: number;
}

export interface ReconstructOptions {
  model: FaceModel;
  /** Target embeddings [N, D]. */
  target: Tensor;
  /** Guide images [N, 3, S, S] or one shared [1, 3, S, S], pixels 0..255. Needed to start from it or for guide layers. */
  guide?: Tensor;
  /** 'guide' (default when there is one), 'noise' (seeded), or an image tensor [N, 3, S, S] to start from. */
  start?: 'guide' | 'noise' | Tensor;
  seed?: number;
  iterations?: number;
  distance?: Distance;
  normalize?: boolean;
  /** The target is scaled by this before the comparison (Fig. 8). */
  targetScale?: number;
  embeddingWeight?: number;
  guideLayers?: GuideLayer[];
  tv?: TvSettings | null;
  /** Levels of the Laplacian-pyramid gradient normalisation; 0 turns it off. */
  lapNormLevels?: number;
  gauss?: { prior: GaussianPrior; weight: number } | null;
  /** R_LP (eq. 12) on the image in 0..1 units. */
  lp?: { weight: number; NL: number; beta: number; levels?: number } | null;
  /** Weight of R_Mirror on the image in 0..1 units. */
  mirror?: number;
  /**
   * Weight of the total variation of the image's chroma (each channel minus the luminance, 0..1 units; global
   * form, α = 2, constant): smooths colour speckle without blurring the light-dark detail.
   */
  chromaTv?: number;
  /**
   * Contrast floor: weight · max(0, floor − σ)², σ the standard deviation of each image's luminance in 0..1
   * units (face photos: about 0.18–0.29; the average-face guide 0.1). Lifts washed-out images only.
   */
  contrast?: { weight: number; floor: number } | null;
  /**
   * Face contrast floor: the same on the luminance of the face region only (the chip's central 60 %; face
   * photos: about 0.18 there (bench/identity.ts), reconstructions from the average face 0.10). A pale face on a dark background
   * passes the whole-image floor; this one lifts the face itself.
   */
  faceContrast?: { weight: number; floor: number } | null;
  /**
   * The colour part of each step (the gradient minus its luminance, after the pyramid normalisation) is scaled
   * by this (default 1): below 1, the networks' gradients move light and dark faster than colour, so colour
   * stays coherent instead of gathering into blotches at every scale the normalisation lifts.
   */
  chromaStep?: number;
  /**
   * Weight of the skin-tone prior: the squared distance of the mean colour of each image's face region (the
   * chip's central 60 %) from a skin chroma (SKIN_CHROMA), in 0..1 units. The networks' gradients carry little
   * about hue, so from a grey guide the colour drifts to whatever they tolerate (violet casts); this pulls only
   * the region's average hue toward skin and leaves every local colour free.
   */
  skin?: number;
  /**
   * Transformation robustness: before the network sees the image at each step, every item is shifted, scaled
   * and rotated at random (uniform within these bounds; the edges repeated), so the identity must survive
   * small changes of framing instead of living in one pixel grid.
   */
  jitter?: Jitter | null;
  /**
   * More embedding networks optimised together (never the judge): each compares the image's unit-length
   * embedding under it with its own target ([N, D_k], e.g. the same photo embedded by it, also made unit
   * length), weighted. Their images are fitted to each network's input (FaceModel.fit).
   */
  ensemble?: { model: FaceModel; target: Tensor; weight: number }[];
  /**
   * Caricature: each network's target is moved away from the guide's embedding under it by this fraction of
   * their difference, t + A·(t − F(guide)) (unit-length embeddings for the ensemble), so the image is pushed
   * past the target along what tells this person from the generic face it starts as. The reported distance
   * stays the one to the given target. Needs a guide; 0 (default) leaves the targets as they are.
   */
  caricature?: number;
  /**
   * The guide layers' weights fall geometrically to this fraction of theirs by the last iteration (1, the
   * default, keeps them constant): the guide shapes the face early and the networks finish it, without the
   * guide's own features (the average face's eyes and mouth) held against the person's.
   */
  guideDecay?: number;
  /**
   * Coarse to fine: over this fraction of the iterations (0 … 1; 0, the default, is off) the band-pass levels of
   * the normalised gradient fade in one after another, the coarsest first and the finest last, so the face's
   * layout and shading settle before fine detail is drawn over them (needs lapNormLevels). A step then moves
   * whole features rather than painting new edges beside the guide's.
   */
  coarseToFine?: number;
  /**
   * Weights of the pyramid's levels, finest first (missing ones 1): with lapParam the levels' scales in the
   * image (each level's parameters multiplied by its weight in the merge, so Adam's equal-sized steps move the
   * levels in proportion: Lucid's spectrum-scaled parameterisation), otherwise the weights of the normalised
   * gradient's levels (weaker: Adam divides each pixel's step by its own gradient's size). Below 1 on the
   * finest level, a step draws less of the one-to-two-pixel stripes strided first layers leave in gradients.
   */
  lapWeights?: number[];
  /**
   * Optimise the image's Laplacian pyramid (this many band-pass levels plus the low-pass rest) instead of its
   * pixels: the image is the clamped sum of the upsampled levels, so a step moves coarse structure as easily
   * as fine detail. Replaces the gradient normalisation (lapNormLevels is ignored).
   */
  lapParam?: number;
  optimizer?: 'adam' | 'sgd';
  lr?: number | Schedule;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** Read the loss terms back (progress, non-finite check) every this many iterations. */
  progressEvery?: number;
  /** Called at every readback; may return a promise, which is awaited (e.g. writing a snapshot). */
  onProgress?: (p: Progress) => void | Promise<void>;
  /** Stops after the current iteration when aborted (the result keeps the image reached). */
  signal?: { readonly aborted: boolean };
}

export interface Progress {
  iteration: number;
  iterations: number;
  /** Each loss term (weighted, as summed into the total) of every item at this iteration. */
  terms: Record<string, number[]>;
  /** Euclidean embedding distance to the target, per item. */
  distance: number[];
  seconds: number;
  /** Iterations per second since the previous report. */
  rate: number;
  /** Reads the current images [N, 3, S, S] back (for snapshots; costs a readback). */
  image(): Promise<Float32Array>;
}

export interface TraceRow {
  iteration: number;
  item: number;
  values: Record<string, number>;
}

export interface ReconstructResult {
  /** [N, 3, S, S] pixels 0..255; the caller disposes it. */
  image: Tensor;
  /** Euclidean distance of each final image's embedding to its (unscaled) target. */
  distance: number[];
  embedding: Float32Array[];
  iterations: number;
  seconds: number;
  /** Every iteration's loss terms per item, read back in blocks. */
  trace: TraceRow[];
  termNames: string[];
  /** 'done', 'aborted', or 'non-finite' (then `image` is the last image whose loss was finite). */
  stopped: 'done' | 'aborted' | 'non-finite';
  message?: string;
}

/** Options reconstruct() cannot run with (shapes, missing guide, unknown layer …). */
export class ReconstructError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconstructError';
  }
}

/**
 * The skin-tone prior's target: each channel minus the luminance (Rec. 601) of the colour at Cb = 110, Cr = 150
 * (8-bit YCbCr), the middle of the skin cluster that YCbCr skin detectors use (Chai & Ngan 1999: Cb 77–127,
 * Cr 133–173). Skin of every complexion falls near it: people differ mostly in luminance, which stays free.
 */
export const SKIN_CHROMA: readonly [number, number, number] = (() => {
  const [r, b] = [(150 - 128) / 255 / 0.713, (110 - 128) / 255 / 0.564];
  return [r, -(0.299 * r + 0.114 * b) / 0.587, b];
})();

function checkImages(what: string, t: Tensor, n: number | null, size: number): void {
  const [N, C, H, W] = t.shape;
  if (t.rank !== 4 || C !== 3 || H !== size || W !== size || (n !== null && N !== n && N !== 1)) {
    throw new ReconstructError(`${what} must be [${n ?? 'N'}, 3, ${size}, ${size}] (or [1, 3, ${size}, ${size}]) pixels 0..255, got ${fmt(t.shape)}`);
  }
}

/** The options resolved to their defaults and checked, before anything is allocated. */
export interface Checked {
  N: number;
  S: number;
  start: 'guide' | 'noise' | Tensor;
  iterations: number;
  every: number;
  lapLevels: number;
  lapParam: number;
  guideLayers: GuideLayer[];
  /** Guide layers of the model (not 'pixels'), and every layer the objective taps. */
  layerNames: string[];
  taps: string[];
  ensemble: NonNullable<ReconstructOptions['ensemble']>;
  jitter: Jitter | null;
  chromaTv: number;
  contrast: { weight: number; floor: number } | null;
  faceContrast: { weight: number; floor: number } | null;
  chromaStep: number;
  skin: number;
  caricature: number;
  guideDecay: number;
  coarseToFine: number;
  lapWeights: number[] | null;
}

/** Every check of the options, up front: a bad option throws ReconstructError before a tensor exists. */
export function check(o: ReconstructOptions): Checked {
  const fail = (msg: string): never => {
    throw new ReconstructError(msg);
  };
  const { model, target } = o;
  const S = model.imageSize;
  if (target.rank !== 2) fail(`target must be embeddings [N, D], got ${fmt(target.shape)}`);
  const N = target.shape[0];
  const guideLayers = o.guideLayers ?? [];
  const start = o.start ?? (o.guide ? 'guide' : 'noise');
  if (o.guide) checkImages('guide', o.guide, N, S);
  if (!o.guide && (start === 'guide' || guideLayers.length)) fail(start === 'guide' ? 'starting from the guide needs a guide image' : 'guide layers need a guide image');
  if (start instanceof Tensor) checkImages('start image', start, N, S);
  const iterations = o.iterations ?? 300;
  if (!(Number.isInteger(iterations) && iterations >= 0)) fail(`iterations must be a whole number ≥ 0, got ${iterations}`);
  const layerNames = guideLayers.map((g) => g.layer).filter((l) => l !== 'pixels');
  const known = new Set(model.module.layers().map((l) => l.name));
  const taps = [...new Set([...layerNames, ...(o.gauss ? [o.gauss.prior.layer] : [])])];
  for (const l of taps) if (!known.has(l)) fail(`the model has no layer '${l}' (see 'faceinv info' for the list)`);
  const ensemble = o.ensemble ?? [];
  ensemble.forEach((m, k) => {
    if (m.target.rank !== 2 || m.target.shape[0] !== N) fail(`ensemble member ${k}: target must be [${N}, D], got ${fmt(m.target.shape)}`);
    if (m.model === model) fail(`ensemble member ${k} is the main model`);
  });
  const jitter = o.jitter ?? null;
  if (jitter && !([jitter.shift, jitter.scale, jitter.rotate, jitter.colour ?? 0, jitter.blur ?? 0, jitter.noise ?? 0].every((v) => v >= 0 && Number.isFinite(v)) && jitter.scale < 1 && (jitter.colour ?? 0) < 1 && (jitter.blur ?? 0) <= 1)) {
    fail(`jitter bounds must be ≥ 0 (scale and colour < 1, blur ≤ 1), got ${JSON.stringify(jitter)}`);
  }
  const lapParam = o.lapParam ?? 0;
  if (!(Number.isInteger(lapParam) && lapParam >= 0)) fail(`lapParam must be a whole number of levels ≥ 0, got ${lapParam}`);
  const [chromaTv, skin, contrast, chromaStep] = [o.chromaTv ?? 0, o.skin ?? 0, o.contrast ?? null, o.chromaStep ?? 1];
  if (!(chromaTv >= 0 && Number.isFinite(chromaTv))) fail(`chromaTv must be a weight ≥ 0, got ${chromaTv}`);
  if (!(skin >= 0 && Number.isFinite(skin))) fail(`skin must be a weight ≥ 0, got ${skin}`);
  const faceContrast = o.faceContrast ?? null;
  for (const [name, f] of [['contrast', contrast], ['faceContrast', faceContrast]] as const) {
    if (f && !(f.weight >= 0 && f.floor >= 0 && f.floor < 1)) fail(`${name} needs a weight ≥ 0 and a floor in [0, 1), got ${JSON.stringify(f)}`);
  }
  if (!(chromaStep >= 0 && chromaStep <= 1)) fail(`chromaStep must be in [0, 1], got ${chromaStep}`);
  const caricature = o.caricature ?? 0;
  if (!(caricature >= 0 && Number.isFinite(caricature))) fail(`caricature must be ≥ 0, got ${caricature}`);
  if (caricature && !o.guide) fail('caricature moves the targets away from the guide: give a guide');
  const guideDecay = o.guideDecay ?? 1;
  if (!(guideDecay >= 0 && guideDecay <= 1)) fail(`guideDecay must be in [0, 1], got ${guideDecay}`);
  const lapLevels = o.lapNormLevels ?? 0;
  const coarseToFine = o.coarseToFine ?? 0;
  if (!(coarseToFine >= 0 && coarseToFine <= 1)) fail(`coarseToFine must be in [0, 1], got ${coarseToFine}`);
  if (coarseToFine && (!lapLevels || lapParam)) fail('coarseToFine fades in the levels of the gradient normalisation: it needs lapNormLevels (and no lapParam)');
  const lapWeights = o.lapWeights ?? null;
  if (lapWeights && !lapWeights.every((w) => w >= 0 && Number.isFinite(w))) fail(`lapWeights must be weights ≥ 0, got ${JSON.stringify(lapWeights)}`);
  if (lapWeights && !lapLevels && !lapParam) fail('lapWeights weigh pyramid levels: they need lapParam or lapNormLevels');
  if (lapWeights && lapParam && !lapWeights.every((w) => w > 0)) fail('with lapParam every level weight must be > 0');
  const every = Math.max(1, Math.floor(o.progressEvery ?? 10));
  return { N, S, start, iterations, every, lapLevels, lapParam, guideLayers, layerNames, taps, ensemble, jitter, chromaTv, contrast, faceContrast, chromaStep, skin, caricature, guideDecay, coarseToFine, lapWeights };
}
