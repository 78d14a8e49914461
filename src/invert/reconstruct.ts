// Iterative reconstruction (paper §2–3, §5.1): find images p whose embeddings F(p) match target embeddings e,
//   L(p) = w_e·d[F(p), e] + Σ_ℓ w_ℓ·mean (a_ℓ(p) − a_ℓ(p_G))² + w_TV(t)·R_TV(p) + w_Gauss·R_Gauss + w_LP·R_LP + w_M·R_Mirror,
// optimised over a batch of images at once (each item its own target and guide), with the gradient optionally
// normalised per Laplacian-pyramid level before each step, and pixels kept in [0, 255]. Identity levers
// (issue 8): random transformations before the network (jitter), more networks in the loss (ensemble), and
// the Laplacian pyramid as the parameters (lapParam).
//
// An iteration records forward, backward and update into one command encoder and submits it: no readback, no
// buffer allocation after the first iteration (pooled), no pipeline creation. Every iteration's loss terms
// are copied on the GPU into a history block that is read back every `progressEvery` iterations, which is
// also when non-finite values are caught.
import { Tensor, keep, tidy } from '../tensor/tensor.ts';
import { engine } from '../tensor/engine.ts';
import { fmt } from '../tensor/shape.ts';
import { Rng } from '../tensor/random.ts';
import { LossHistory } from '../tensor/history.ts';
import * as O from '../autograd/ops.ts';
import { backward, noGrad } from '../autograd/tape.ts';
import { totalVariation, lapNormalize, lapRegularizer, mirrorRegularizer, lapSplit, lapMerge, chroma, contrastDeficit, skinTone } from '../autograd/regularizers.ts';
import { Adam } from '../optim/adam.ts';
import { SGD } from '../optim/sgd.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { resolve, type Schedule } from '../optim/schedule.ts';
import type { FaceModel } from '../models/face_model.ts';
import { embeddingLoss, embeddingDistance, guideLoss, type Distance, type GaussianPrior } from './losses.ts';
import { warp, packAffines } from '../autograd/warp.ts';
import { jitterAffines, jitterColours, type Jitter } from './jitter.ts';

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

export { jitterAffines, jitterColours, type Jitter } from './jitter.ts';

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

/** [1, 1, S, S]: 1/count on the chip's central 60 % (the face), 0 elsewhere. */
function faceRegionMask(S: number): Tensor {
  const [lo, hi] = [Math.round(0.2 * S), Math.round(0.8 * S)];
  const w = 1 / (hi - lo) ** 2;
  return O.tensor(Float32Array.from({ length: S * S }, (_, i) => (i % S >= lo && i % S < hi && Math.floor(i / S) >= lo && Math.floor(i / S) < hi ? w : 0)), [1, 1, S, S]);
}

/** Pixels → 0..1 for the image-space regularisers, so their weights do not depend on the pixel scale. */
const UNIT = 1 / 255;

function checkImages(what: string, t: Tensor, n: number | null, size: number): void {
  const [N, C, H, W] = t.shape;
  if (t.rank !== 4 || C !== 3 || H !== size || W !== size || (n !== null && N !== n && N !== 1)) {
    throw new ReconstructError(`${what} must be [${n ?? 'N'}, 3, ${size}, ${size}] (or [1, 3, ${size}, ${size}]) pixels 0..255, got ${fmt(t.shape)}`);
  }
}

/** The options resolved to their defaults and checked, before anything is allocated. */
interface Checked {
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
  chromaStep: number;
  skin: number;
}

/** Every check of the options, up front: a bad option throws ReconstructError before a tensor exists. */
function check(o: ReconstructOptions): Checked {
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
  if (jitter && !([jitter.shift, jitter.scale, jitter.rotate, jitter.colour ?? 0].every((v) => v >= 0 && Number.isFinite(v)) && jitter.scale < 1 && (jitter.colour ?? 0) < 1)) {
    fail(`jitter bounds must be ≥ 0 (scale < 1), got ${JSON.stringify(jitter)}`);
  }
  const lapParam = o.lapParam ?? 0;
  if (!(Number.isInteger(lapParam) && lapParam >= 0)) fail(`lapParam must be a whole number of levels ≥ 0, got ${lapParam}`);
  const [chromaTv, skin, contrast, chromaStep] = [o.chromaTv ?? 0, o.skin ?? 0, o.contrast ?? null, o.chromaStep ?? 1];
  if (!(chromaTv >= 0 && Number.isFinite(chromaTv))) fail(`chromaTv must be a weight ≥ 0, got ${chromaTv}`);
  if (!(skin >= 0 && Number.isFinite(skin))) fail(`skin must be a weight ≥ 0, got ${skin}`);
  if (contrast && !(contrast.weight >= 0 && contrast.floor >= 0 && contrast.floor < 1)) fail(`contrast needs a weight ≥ 0 and a floor in [0, 1), got ${JSON.stringify(contrast)}`);
  if (!(chromaStep >= 0 && chromaStep <= 1)) fail(`chromaStep must be in [0, 1], got ${chromaStep}`);
  const every = Math.max(1, Math.floor(o.progressEvery ?? 10));
  return { N, S, start, iterations, every, lapLevels: o.lapNormLevels ?? 0, lapParam, guideLayers, layerNames, taps, ensemble, jitter, chromaTv, contrast, chromaStep, skin };
}

/** The names of the loss terms, in the order of the rows one step returns. */
function termNamesOf(o: ReconstructOptions, c: Checked): string[] {
  return [
    'embedding',
    ...c.ensemble.map((_, k) => `ensemble:${k}`),
    ...c.guideLayers.map((g) => `guide:${g.layer}`),
    ...(o.gauss ? ['gauss'] : []),
    ...(o.tv ? ['tv'] : []),
    ...(o.lp ? ['lp'] : []),
    ...(o.mirror ? ['mirror'] : []),
    ...(c.chromaTv ? ['chroma-tv'] : []),
    ...(c.contrast ? ['contrast'] : []),
    ...(c.skin ? ['skin'] : []),
    'total',
    'distance',
  ];
}

/** What a run holds from start to end: the images, the parameters, the guide's activations, constants. */
interface RunState {
  /** The current images [N, 3, S, S], pixels 0..255. */
  p: Tensor;
  /** What the optimiser moves: p itself, or p's Laplacian pyramid (lapParam). */
  params: Tensor[];
  guide: Tensor | null;
  guideActs: Record<string, Tensor>;
  /** Rec. 601 luminance weights [1, 3, 1, 1] for the colour terms (null when none is on). */
  lumWeights: Tensor | null;
  skin: { mask: Tensor; target: Tensor } | null;
  jitterMats: Tensor | null;
  colourJit: Tensor | null;
}

/** Allocates the run's state; every tensor goes through `own`, which the caller disposes at the end. */
function allocate(o: ReconstructOptions, c: Checked, own: <T extends Tensor>(t: T) => T): RunState {
  const { N, S, start } = c;
  const expandN = (t: Tensor) => (t.shape[0] === N ? O.clone(t) : O.expand(t, [N, ...t.shape.slice(1)]));
  const guide = o.guide ? own(tidy(() => noGrad(() => expandN(o.guide!)))) : null;
  const guideActs: Record<string, Tensor> = {};
  if (guide && c.layerNames.length) {
    const acts = tidy(() => noGrad(() => o.model.embed(guide, c.layerNames).taps));
    for (const l of c.layerNames) guideActs[l] = own(acts[l]);
  }
  const p = own(
    tidy(() =>
      noGrad(() => {
        if (start instanceof Tensor) return O.clamp(expandN(start), 0, 255);
        if (start === 'guide') return O.clone(guide!);
        const r = new Rng(o.seed ?? 1);
        return O.tensor(r.fill(N * 3 * S * S, () => Math.min(255, Math.max(0, 127.5 + 40 * r.normal()))), [N, 3, S, S]);
      }),
    ),
  );
  // The parameters: the pixels, or the image's Laplacian pyramid (then p follows them after every step).
  const params = c.lapParam ? tidy(() => noGrad(() => lapSplit(p, c.lapParam))).map((t) => own(t)) : [p];
  for (const t of params) t.requiresGrad = true;
  const colour = c.chromaTv || c.contrast || c.skin || c.chromaStep !== 1;
  return {
    p,
    params,
    guide,
    guideActs,
    lumWeights: colour ? own(O.tensor([0.299, 0.587, 0.114], [1, 3, 1, 1])) : null,
    skin: c.skin ? { mask: own(faceRegionMask(S)), target: own(O.tensor([...SKIN_CHROMA], [1, 3])) } : null,
    jitterMats: c.jitter ? own(O.zeros([N, 12])) : null,
    colourJit: c.jitter?.colour ? own(O.zeros([2, N, 1, 1, 1])) : null,
  };
}

/** The image-space regularisers of the image itself (0..1 units), each [N]. */
function imageTerms(o: ReconstructOptions, c: Checked, r: RunState, unit: Tensor, it: number): Tensor[] {
  const terms: Tensor[] = [];
  const lum = r.lumWeights!;
  if (o.tv) terms.push(O.mul(totalVariation(unit, { form: o.tv.form, alpha: o.tv.alpha, beta: o.tv.beta, perItem: true }), resolve(o.tv.weight, it)));
  if (o.lp) terms.push(O.mul(lapRegularizer(unit, { ...o.lp, perItem: true }), o.lp.weight));
  if (o.mirror) terms.push(O.mul(mirrorRegularizer(unit, { perItem: true }), o.mirror));
  if (c.chromaTv) terms.push(O.mul(totalVariation(chroma(unit, lum), { perItem: true }), c.chromaTv));
  if (c.contrast) terms.push(O.mul(contrastDeficit(unit, lum, c.contrast.floor), c.contrast.weight));
  if (r.skin) terms.push(O.mul(skinTone(unit, lum, r.skin.mask, r.skin.target), c.skin));
  return terms;
}

/** The gradient as the step takes it: pyramid-normalised, its colour part scaled by chromaStep. */
function shapeGradients(c: Checked, r: RunState): void {
  const { p, params } = r;
  if (c.lapLevels > 0 && !c.lapParam) {
    const g = p.grad!;
    p.grad = keep(lapNormalize(g, c.lapLevels, { perItem: true }));
    g.dispose();
  }
  if (c.chromaStep === 1) return;
  for (const t of params) {
    const g = t.grad!;
    t.grad = keep(noGrad(() => O.sub(g, O.mul(chroma(g, r.lumWeights!), 1 - c.chromaStep))));
    g.dispose();
  }
}

/**
 * The objective and update of one iteration: returns step(it), which records forward, backward, the
 * gradient's normalisation and the optimiser's update, and returns the loss terms [T, N] (termNamesOf).
 */
function stepper(o: ReconstructOptions, c: Checked, r: RunState, opt: Optimizer): (it: number) => Tensor {
  const { model, target } = o;
  const { N, S, jitter, lapParam } = c;
  const { p, params, guide, guideActs, jitterMats, colourJit } = r;
  const jitterRng = new Rng(jitter?.seed ?? 7);
  const jitterHost = new Float32Array(N * 12);
  const colourHost = new Float32Array(2 * N);
  const embW = o.embeddingWeight ?? 1;
  const embOpts = { distance: o.distance ?? 'l2', normalize: o.normalize ?? false, scale: o.targetScale ?? 1 };
  const pixelsOf = () => (lapParam ? O.clamp(lapMerge(params), 0, 255) : p);

  /** What the networks see this step: the image moved and re-toned at random (new values written in place). */
  const view = (image: Tensor): Tensor => {
    let seen = image;
    if (jitterMats) {
      jitterMats.write(packAffines(jitterAffines(jitterRng, N, S, jitter!), jitterHost));
      seen = warp(image, jitterMats, S, S);
    }
    if (colourJit) {
      colourJit.write(jitterColours(jitterRng, N, jitter!.colour!, colourHost));
      const [gain, offset] = [0, 1].map((k) => O.reshape(O.slice(colourJit, [k, 0, 0, 0, 0], [k + 1, N, 1, 1, 1]), [N, 1, 1, 1]));
      seen = O.add(O.mul(seen, gain), offset);
    }
    return seen;
  };

  return (it: number): Tensor => {
    const image = pixelsOf();
    const seen = view(image);
    const { embedding, taps: acts } = model.embed(seen, c.taps);
    const terms: Tensor[] = [O.mul(embeddingLoss(embedding, target, embOpts), embW)];
    // Unit-length embeddings, so networks of any embedding scale weigh alike.
    for (const m of c.ensemble) terms.push(O.mul(embeddingLoss(m.model.embed(seen).embedding, m.target, { ...embOpts, normalize: true }), m.weight));
    // The guide terms all compare what the network sees (the jittered view) with the unjittered guide: a
    // layer's activations exist only for the view, so the pixel term takes the view too. The guide then
    // acts as a prior that tolerates the jitter's few pixels of misalignment, at every level alike, and no
    // second forward pass of the unjittered image is needed.
    for (const g of c.guideLayers) {
      const a = g.layer === 'pixels' ? O.mul(seen, UNIT) : acts[g.layer];
      const ref = g.layer === 'pixels' ? O.mul(guide!, UNIT) : guideActs[g.layer];
      terms.push(O.mul(guideLoss(a, ref), g.weight));
    }
    if (o.gauss) terms.push(O.mul(o.gauss.prior.loss(acts[o.gauss.prior.layer]), o.gauss.weight));
    // TV, mirror and tone terms are properties of the image itself, not of a view of it.
    terms.push(...imageTerms(o, c, r, O.mul(image, UNIT), it));
    const total = terms.reduce((a, b) => O.add(a, b));
    backward(O.sum(total));
    shapeGradients(c, r);
    opt.step();
    if (lapParam) {
      const next = noGrad(() => pixelsOf());
      engine().copyBuffer(next.buffer, 0, p.buffer, 0, p.size * 4);
    }
    return noGrad(() => O.concat([...terms, total, embeddingDistance(embedding, target)].map((t) => O.reshape(t, [1, N])), 0));
  };
}

/** Runs the reconstruction; see ReconstructOptions for every setting and its default. */
export async function reconstruct(o: ReconstructOptions): Promise<ReconstructResult> {
  const c = check(o);
  // Everything that lives for the whole run, outside every scope; disposed at the end whatever happens.
  const owned: Tensor[] = [];
  const own = <T extends Tensor>(t: T): T => (owned.push(keep(t)), t);
  const termNames = termNamesOf(o, c);
  const history = new LossHistory(c.every, termNames.length * c.N);
  let opt: Optimizer | null = null;
  let r: RunState | null = null;
  try {
    r = allocate(o, c, own);
    const lr = o.lr ?? (o.optimizer === 'sgd' ? 1 : 2);
    const range: [number, number] | undefined = c.lapParam ? undefined : [0, 255];
    opt = o.optimizer === 'sgd' ? new SGD(r.params, { lr, momentum: o.momentum ?? 0.9, range }) : new Adam(r.params, { lr, range });
    return await iterate(o, c, r, opt, stepper(o, c, r, opt), termNames, history, own);
  } finally {
    opt?.dispose();
    for (const t of r?.params ?? []) {
      t.grad?.dispose();
      t.grad = null;
    }
    for (const t of owned) t.dispose();
    history.dispose();
  }
}

/**
 * The loop: one step per iteration, the losses read back every `every` iterations, where a non-finite value
 * rolls the image back to the last one checked finite and progress is reported; then the final distances.
 */
async function iterate(
  o: ReconstructOptions, c: Checked, r: RunState, opt: Optimizer, step: (it: number) => Tensor,
  termNames: string[], history: LossHistory, own: <T extends Tensor>(t: T) => T,
): Promise<ReconstructResult> {
  const e = engine();
  const { N, iterations, every } = c;
  const { p } = r;
  // The last image whose loss was read back finite, and the one being checked.
  const safe = own(noGrad(() => O.clone(p)));
  const candidate = own(O.zerosLike(p));
  const trace: TraceRow[] = [];
  const t0 = performance.now();
  let [lastReport, lastReportIt, done, verified] = [t0, 0, 0, 0];
  let stopped: ReconstructResult['stopped'] = 'done';
  let message: string | undefined;
  for (let it = 0; it < iterations; it++) {
    const checkNow = history.count === every - 1 || it === iterations - 1 || !!o.signal?.aborted;
    // The image this iteration starts from: the one kept if the losses read back after it are finite.
    if (checkNow) e.copyBuffer(p.buffer, 0, candidate.buffer, 0, p.size * 4);
    const stats = tidy(() => step(it));
    history.record(stats);
    stats.dispose();
    opt.zeroGrad();
    e.flush();
    done = it + 1;
    if (!checkNow) continue;
    const first = it + 1 - history.count;
    const { rows, bad } = await history.read();
    // Every row up to the first non-finite one goes into the trace ([T, N] each: term k of item i at k·N + i).
    for (const [k, row] of rows.slice(0, bad >= 0 ? bad : rows.length).entries()) {
      for (let item = 0; item < N; item++) trace.push({ iteration: first + k, item, values: Object.fromEntries(termNames.map((name, t) => [name, row[t * N + item]])) });
    }
    if (bad >= 0) {
      // Back to the last image whose losses were all finite.
      e.copyBuffer(safe.buffer, 0, p.buffer, 0, p.size * 4);
      stopped = 'non-finite';
      message = `a loss term became non-finite at iteration ${first + bad}; kept the image of iteration ${verified} (the last one checked finite). Lower the learning rate or the loss weights.`;
      done = verified;
      break;
    }
    e.copyBuffer(candidate.buffer, 0, safe.buffer, 0, p.size * 4);
    verified = it;
    if (o.onProgress) {
      const now = performance.now();
      const last = rows[rows.length - 1];
      const terms = Object.fromEntries(termNames.map((name, t) => [name, Array.from(last.subarray(t * N, (t + 1) * N))]));
      await o.onProgress({
        iteration: it + 1, iterations, terms, distance: terms.distance, seconds: (now - t0) / 1000,
        rate: ((it + 1 - lastReportIt) * 1000) / Math.max(now - lastReport, 1e-3),
        image: () => p.data(),
      });
      // The rate counts iterations, not the time the callback took (snapshots).
      [lastReport, lastReportIt] = [performance.now(), it + 1];
    }
    if (o.signal?.aborted) {
      stopped = 'aborted';
      break;
    }
  }
  return { ...(await finalDistances(o.model, o.target, p, stopped)), iterations: done, seconds: (performance.now() - t0) / 1000, trace, termNames, stopped, message };
}

/** The returned images (a copy the caller owns) and their embeddings and distances, measured on them. */
async function finalDistances(model: FaceModel, target: Tensor, p: Tensor, stopped: ReconstructResult['stopped']) {
  const embT = tidy(() => noGrad(() => model.embed(p).embedding));
  const emb = await embT.data();
  embT.dispose();
  const [N, D] = target.shape;
  const tgt = await target.data();
  const embedding = Array.from({ length: N }, (_, i) => emb.slice(i * D, (i + 1) * D));
  const distance = embedding.map((v, i) => Math.sqrt(v.reduce((s, x, k) => s + (x - tgt[i * D + k]) ** 2, 0)));
  if (distance.some((d) => !Number.isFinite(d)) && stopped !== 'non-finite') throw new ReconstructError('the final image has a non-finite embedding');
  return { image: keep(noGrad(() => O.clone(p))), distance, embedding };
}
