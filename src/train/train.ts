// Decoder training (paper §4.1, §4.2, §5.2): on each step, random embeddings e from the sampler go through
// the decoder; its images p are scored with the same loss as the iterative method,
//   L = mean over the batch of ‖F(p) − e‖² + Σ_ℓ w_ℓ · mean (a_ℓ(p) − a_ℓ(p_G))² + w_TV · R_TV(p),
// and Adam updates the decoder's weights. Trained on real faces x instead (issue 20), e = F(x) and L adds
// w_px · mean ((p − x)/255)² and, per ensemble network G, w_G · ‖Ĝ(p) − Ĝ(x)‖² (unit-length embeddings), and
// each face x is its own image's guide: the guide layers' term is then a perceptual one, a_ℓ(p) against a_ℓ(x).
// A step records into one command encoder: the only host traffic is the
// upload of the step's embeddings (or of its face draws' transforms); losses are copied on the GPU into a history block read every `logEvery`
// steps. Checkpoints (weights, Adam state, the sampler's random state, the step) are taken every
// `checkpointEvery` steps, and a run resumed from one continues exactly as if it had not stopped.
import { Tensor, keep, tidy } from '../tensor/tensor.ts';
import { engine } from '../tensor/engine.ts';
import { Rng } from '../tensor/random.ts';
import * as O from '../autograd/ops.ts';
import { backward, noGrad } from '../autograd/tape.ts';
import { totalVariation, lapBalanceGrad, pyrDown, chroma, contrastFloors, faceRegionMask, luminanceWeights, type ContrastFloor } from '../autograd/regularizers.ts';
import { Adam } from '../optim/adam.ts';
import { cosine } from '../optim/schedule.ts';
import type { FaceModel } from '../models/face_model.ts';
import type { Decoder } from '../models/decoder.ts';
import { embeddingLoss, embeddingDistance, guideLoss } from '../invert/losses.ts';
import type { GuideLayer } from '../invert/reconstruct.ts';
import type { GaussianSampler } from './sampler.ts';
import type { FaceSource } from './face_source.ts';
import { JitterView, type Jitter } from '../invert/jitter.ts';
import { LossHistory } from '../tensor/history.ts';

export interface TrainSettings {
  steps: number;
  batch: number;
  lr: number;
  /** Adam's rate falls along half a cosine from lr to lr · lrFinal at the last step (absent or 1: constant). */
  lrFinal?: number;
  /** Layers tied to the guide (§4; with real faces, to each image's own face: a perceptual term). */
  guideLayers: GuideLayer[];
  tvWeight: number;
  checkpointEvery: number;
  logEvery: number;
  /** Weight of the mean squared pixel difference (0..1 scale) to the real face a target came from (faces only). */
  pixelWeight?: number;
  /**
   * The pixel term compares the images after this many halvings (the Laplacian pyramid's reduce; 0: at full
   * size): at 2, 38 px, the coarse face a 25-px sheet face holds, leaving the detail to the embedding terms.
   */
  pixelLevels?: number;
  /**
   * The sheet's faces (25-px LFW crops enlarged, blur at full size) compared only after this many halvings,
   * the sharp photos as pixelLevels says: so that the pixel term stops teaching blur (needs a source that
   * knows its sheet's faces, FaceSource's `sheet`).
   */
  sheetLevels?: number;
  /** Real faces (faces only) blended with another of the step's by a random fraction up to this (FaceSource). */
  mix?: number;
  /** How the real faces (faces only) are moved, mirrored and re-toned each step (absent: FACE_AUGMENT). */
  augment?: Jitter;
  /**
   * Input diversity for the decoded faces, as the iterative method's jitter: the networks of the loss see each
   * step's faces moved (mirrored, re-toned) at random, while the pixel and TV terms see them as drawn; so the
   * decoder cannot meet the networks with detail that only holds at one placement.
   */
  viewJitter?: Jitter;
  /**
   * The networks' gradient on each decoded face balanced over this many Laplacian levels, its norm kept
   * (lapBalanceGrad: appendix A's normalisation, which the iterative method applies to its image): their pull
   * reaches the decoder at every scale alike rather than mostly in the finest band; only its luminance, the
   * colour as it comes. Absent or 0: all as it comes.
   */
  gradLevels?: number;
  /**
   * Photo-like tones: the decoded faces' luminance σ pushed up to a floor over the whole image and over the face
   * region (invert's --contrast and --face-contrast): the pixel term alone draws the faces washed out, as the
   * mean of the photos an embedding could have come from.
   */
  contrast?: ContrastFloor | null;
  faceContrast?: ContrastFloor | null;
  /** Weight of the total variation of the faces' colour (minus luminance), invert's --chroma-tv: less colour blotching. */
  chromaTv?: number;
}

export interface LogRow {
  step: number;
  /** Batch means of the total loss and of each term; distance is the Euclidean embedding distance. */
  loss: number;
  embedding: number;
  guide: number;
  tv: number;
  distance: number;
  /** The pixel and ensemble terms (0 when the run has none). */
  pixel: number;
  ensemble: number;
  /** The contrast floors' term (0 when the run has none). */
  tone: number;
}

export interface TrainState {
  step: number;
  rng: number;
  optimizer: { t: number; updates: number[]; state: Float32Array[][] };
  params: Map<string, Float32Array>;
}

export interface TrainOptions {
  model: FaceModel;
  decoder: Decoder;
  sampler: GaussianSampler;
  /**
   * Real faces to train on instead of the sampler's draws: each step's targets are the model's embeddings of
   * a batch of them (augmented), and the faces themselves the pixel and ensemble targets; the decoder's inputs
   * the model's embeddings of the source's input faces (the faces themselves, or half the time as read).
   */
  faces?: FaceSource;
  /** More networks in the loss (needs faces): each pulls its unit embedding of the image to its own of the face. */
  ensemble?: { model: FaceModel; weight: number }[];
  /** Guide images [G, 3, S, S]: one for the §4.1 decoder, a set (e.g. video frames) for §4.2. */
  guides: Tensor;
  settings: TrainSettings;
  seed: number;
  /** A checkpoint's state to continue from. */
  resume?: Omit<TrainState, 'params'>;
  onLog?: (rows: LogRow[], stepsPerSecond: number) => void;
  /** Called with the state after `step` steps; may be async (writing the file is awaited). */
  onCheckpoint?: (s: TrainState) => void | Promise<void>;
  signal?: { readonly aborted: boolean };
}

export interface TrainResult {
  steps: number;
  stopped: 'done' | 'aborted' | 'non-finite';
  message?: string;
}

const TERMS = ['loss', 'embedding', 'guide', 'tv', 'distance', 'pixel', 'ensemble', 'tone'] as const;
/** loss.csv's header: the step, then TERMS. */
export const LOSS_COLUMNS = ['step', ...TERMS];

/** What a step's images are scored against besides the model's targets (training on real faces). */
export interface LossExtras {
  /** The real faces the targets came from [N, 3, S, S], for the pixel term. */
  photos?: Tensor;
  pixelWeight?: number;
  pixelLevels?: number;
  /** Per item [N]: 1 where the face is sharp, 0 where it is compared only after `sheetLevels` halvings. */
  sharp?: Tensor;
  sheetLevels?: number;
  /** Ensemble members with their embeddings of the photos [N, D_k]. */
  ensemble?: { model: FaceModel; target: Tensor; weight: number }[];
  /** What the networks see of the images (a jittered view of them); the images themselves when absent. */
  seen?: Tensor;
  /** The contrast floors with their constants: luminance weights [1, 3, 1, 1] and the face region's mask. */
  tones?: { floors: Pick<TrainSettings, 'contrast' | 'faceContrast' | 'chromaTv'>; lum: Tensor; faceMask: Tensor };
}

/** Loss terms per item [N] of decoded images against their targets: what training minimises, and eval reports. */
export function decoderLoss(
  model: FaceModel,
  images: Tensor,
  targets: Tensor,
  guideActs: Record<string, Tensor>,
  layers: GuideLayer[],
  tvWeight: number,
  extra: LossExtras = {},
): { total: Tensor; embedding: Tensor; guide: Tensor; tv: Tensor; distance: Tensor; embedded: Tensor; pixel: Tensor; ensemble: Tensor; tone: Tensor } {
  const names = layers.map((g) => g.layer);
  const seen = extra.seen ?? images;
  const { embedding, taps } = model.embed(seen, names);
  const emb = embeddingLoss(embedding, targets, { distance: 'l2', normalize: false, scale: 1 });
  const N = images.shape[0];
  let guide: Tensor = O.zeros([N]);
  for (const g of layers) guide = O.add(guide, O.mul(guideLoss(taps[g.layer], guideActs[g.layer]), g.weight));
  const tv = O.mul(totalVariation(O.mul(images, 1 / 255), { perItem: true }), tvWeight);
  let pixel: Tensor = O.zeros([N]);
  if (extra.photos && extra.pixelWeight) {
    const photos = extra.photos;
    const mse = (levels: number) => {
      let [a, b] = [images, photos];
      for (let l = 0; l < levels; l++) [a, b] = [pyrDown(a), pyrDown(b)];
      const d = O.mul(O.sub(a, b), 1 / 255);
      return O.mean(O.mul(d, d), [1, 2, 3]);
    };
    const fine = mse(extra.pixelLevels ?? 0);
    // The coarse faces' error after sheetLevels halvings, the sharp ones' as it is: coarse + (fine − coarse) · sharp.
    const coarse = extra.sharp && extra.sheetLevels ? mse(extra.sheetLevels) : null;
    pixel = O.mul(coarse ? O.add(coarse, O.mul(O.sub(fine, coarse), extra.sharp!)) : fine, extra.pixelWeight);
  }
  let ensemble: Tensor = O.zeros([N]);
  for (const m of extra.ensemble ?? []) {
    const l = embeddingLoss(m.model.embed(seen).embedding, m.target, { distance: 'l2', normalize: true, scale: 1 });
    ensemble = O.add(ensemble, O.mul(l, m.weight));
  }
  const tone = tonesTerm(images, extra.tones);
  const total = [guide, tv, pixel, ensemble, tone].reduce((a, b) => O.add(a, b), emb);
  return { total, embedding: emb, guide, tv, distance: embeddingDistance(embedding, targets), embedded: embedding, pixel, ensemble, tone };
}

/** The tone terms per item [N] (contrast floors, colour TV) of images in 0..255; zeros without them. */
function tonesTerm(images: Tensor, t: LossExtras['tones']): Tensor {
  if (!t) return O.zeros([images.shape[0]]);
  const unit = O.mul(images, 1 / 255);
  const terms = contrastFloors(unit, t.lum, t.faceMask, t.floors);
  if (t.floors.chromaTv) terms.push(O.mul(totalVariation(chroma(unit, t.lum), { perItem: true }), t.floors.chromaTv));
  return terms.reduce((a, b) => O.add(a, b), O.zeros([images.shape[0]]));
}

/** Activations of the guides [G, …] at each guide layer, kept until disposed by the caller. */
export function guideActivations(model: FaceModel, guides: Tensor, layers: GuideLayer[]): Record<string, Tensor> {
  if (!layers.length) return {};
  const acts = tidy(() => noGrad(() => model.embed(guides, layers.map((g) => g.layer)).taps));
  for (const t of Object.values(acts)) keep(t);
  return acts;
}

/** Rows `idx` of a [G, …] tensor as an [N, …] batch. */
export function pick(t: Tensor, idx: number[]): Tensor {
  if (t.shape[0] === 1) return O.expand(t, [idx.length, ...t.shape.slice(1)]);
  const rest = t.shape.slice(1);
  return O.concat(idx.map((i) => O.slice(t, [i, ...rest.map(() => 0)], [i + 1, ...rest])), 0);
}

/** The state a checkpoint holds after `step` steps. */
async function snapshotOf(step: number, rng: Rng, opt: Adam, decoder: Decoder): Promise<TrainState> {
  const snap = opt.snapshot();
  return {
    step,
    rng: rng.state,
    optimizer: { t: snap.t, updates: snap.updates, state: await Promise.all(snap.state.map((slots) => Promise.all(slots.map((t) => t.data())))) },
    params: await decoder.values(),
  };
}

/**
 * One step on the batch `targets` (item k trained against guide idx[k]): decode, score, backward, Adam.
 * Returns the batch means of the loss terms (TERMS), on the GPU.
 */
function trainStep(o: TrainOptions, opt: Adam, batch: () => Batch, guideActs: Record<string, Tensor>, idx: number[], view: Viewer, tones: LossExtras['tones']): Tensor {
  const { decoder, settings: s } = o;
  const needsIndex = decoder.config.kind === 'guided' && decoder.config.guideIndexCount > 0;
  return tidy(() => {
    const { targets, inputs, extra } = batch();
    const guideBatch = decoder.config.kind === 'guided' ? pick(o.guides, idx) : undefined;
    const images = decoder.forward(inputs ?? targets, guideBatch, needsIndex ? idx.map((i) => i % decoder.config.guideIndexCount) : undefined);
    const seen = view.apply(images);
    const acts = o.faces ? photoActs(o.model, extra.photos!, view, s.guideLayers) : guideBatchActs(o.guides, guideActs, idx);
    const l = decoderLoss(o.model, images, targets, acts, s.guideLayers, s.tvWeight, { ...extra, seen, tones });
    backward(O.mean(l.total));
    opt.step();
    return noGrad(() => O.concat([l.total, l.embedding, l.guide, l.tv, l.distance, l.pixel, l.ensemble, l.tone].map((t) => O.reshape(O.mean(t), [1])), 0));
  });
}

/** What the loss's networks see of a step's images, and of other images moved as they were. */
interface Viewer {
  apply(images: Tensor): Tensor;
  replay(images: Tensor): Tensor;
}

/** The guides' activations for the batch: one guide's broadcast against it; of a set, each item's own guide's. */
function guideBatchActs(guides: Tensor, acts: Record<string, Tensor>, idx: number[]): Record<string, Tensor> {
  return guides.shape[0] === 1 ? acts : Object.fromEntries(Object.entries(acts).map(([k, v]) => [k, pick(v, idx)]));
}

/**
 * The real faces' activations at the guide layers, seen as their decoded faces are (call after `view.apply`):
 * each face is its image's guide. Without guide layers, nothing is computed.
 */
function photoActs(model: FaceModel, photos: Tensor, view: Viewer, layers: GuideLayer[]): Record<string, Tensor> {
  return layers.length ? noGrad(() => model.embed(view.replay(photos), layers.map((g) => g.layer)).taps) : {};
}

/** A step's embeddings to match, the decoder's inputs where they differ from them, and the loss's other targets. */
interface Batch {
  targets: Tensor;
  inputs?: Tensor;
  extra: LossExtras;
}

/**
 * A batch of real faces and what they set the step's images: the model's and each member's embeddings of them;
 * the decoder's inputs are the model's embeddings of the input faces when the source draws others (as read).
 */
function realBatch(o: TrainOptions, rng: Rng): Batch {
  const { faces: photos, inputs, sharp } = o.faces!.drawPair(rng);
  return noGrad(() => ({
    targets: o.model.embed(photos).embedding,
    ...(inputs !== photos ? { inputs: o.model.embed(inputs).embedding } : {}),
    extra: { photos, pixelWeight: o.settings.pixelWeight ?? 0, pixelLevels: o.settings.pixelLevels ?? 0, sharp, sheetLevels: o.settings.sheetLevels, ensemble: (o.ensemble ?? []).map((m) => ({ ...m, target: m.model.embed(photos).embedding })) },
  }));
}

export async function trainDecoder(o: TrainOptions): Promise<TrainResult> {
  const e = engine();
  const { model, decoder, sampler, settings: s } = o;
  const D = decoder.config.embeddingSize;
  if (sampler.dim !== D) throw new RangeError(`train: the sampler draws ${sampler.dim}-d embeddings, the decoder takes ${D}`);
  if (o.ensemble?.length && !o.faces) throw new RangeError('train: an ensemble needs real faces (its targets are its embeddings of them)');
  if (s.sheetLevels && o.faces?.sheet === undefined) throw new RangeError("train: sheetLevels needs a face source that marks its sheet's faces (FaceSource's sheet)");
  if (o.faces && o.faces.batch !== s.batch) throw new RangeError(`train: the face source draws ${o.faces.batch} faces a step, the batch is ${s.batch}`);
  const G = o.guides.shape[0];
  const B = s.batch;
  const every = Math.max(1, s.logEvery);
  const rng = new Rng(o.seed);
  let step = 0;
  const params = decoder.parameterList();
  const opt = new Adam(params, { lr: s.lrFinal !== undefined && s.lrFinal !== 1 ? cosine(s.lr, s.lr * s.lrFinal, s.steps) : s.lr });
  if (o.resume) {
    rng.state = o.resume.rng;
    step = o.resume.step;
    opt.restore(o.resume.optimizer);
  }
  // With real faces each face is its own image's guide (photoActs), the guide images unused.
  const guideActs = o.faces ? {} : guideActivations(model, o.guides, s.guideLayers);
  const targets = keep(O.zeros([B, D]));
  const history = new LossHistory(every, TERMS.length);
  const viewer = s.viewJitter ? new JitterView(B, decoder.config.outputSize, s.viewJitter) : null;
  const lum = s.contrast || s.faceContrast || s.chromaTv || s.gradLevels ? keep(luminanceWeights()) : undefined;
  // The networks' gradient comes back through the view balanced over the pyramid's levels (gradLevels).
  const balance = (seen: Tensor) => (s.gradLevels ? lapBalanceGrad(seen, s.gradLevels, lum) : seen);
  const view: Viewer = { apply: (images) => balance(viewer ? viewer.apply(images, rng) : images), replay: (images) => (viewer ? viewer.replay(images) : images) };
  const floors = { contrast: s.contrast, faceContrast: s.faceContrast, chromaTv: s.chromaTv };
  const tones = s.contrast || s.faceContrast || s.chromaTv ? { floors, lum: lum!, faceMask: keep(faceRegionMask(decoder.config.outputSize)) } : undefined;

  const snapshot = () => snapshotOf(step, rng, opt, decoder);

  let stopped: TrainResult['stopped'] = 'done';
  let message: string | undefined;
  let t0 = performance.now();
  try {
    while (step < s.steps) {
      if (!o.faces) targets.write(sampler.sample(rng, B));
      // Which guide each item is trained against (§4.2 trains on a set of guides; §4.1 has one).
      const idx = Array.from({ length: B }, () => (G === 1 ? 0 : Math.floor(rng.next() * G)));
      const stats = trainStep(o, opt, () => (o.faces ? realBatch(o, rng) : { targets, extra: {} }), guideActs, idx, view, tones);
      history.record(stats);
      stats.dispose();
      opt.zeroGrad();
      e.flush();
      step++;
      // Read once: an abort that arrives while this step is logged or saved is taken at the next step, so a
      // run never stops without a checkpoint of the step it stops at.
      const aborting = !!o.signal?.aborted;
      const checkpointNow = step % s.checkpointEvery === 0 || step === s.steps || aborting;
      if (history.full || checkpointNow) {
        const first = step - history.count;
        const block = await history.read();
        const rows: LogRow[] = block.rows.map((v, k) => ({ step: first + k, loss: v[0], embedding: v[1], guide: v[2], tv: v[3], distance: v[4], pixel: v[5], ensemble: v[6], tone: v[7] }));
        const now = performance.now();
        o.onLog?.(rows, (rows.length * 1000) / Math.max(now - t0, 1e-3));
        if (block.bad >= 0) {
          stopped = 'non-finite';
          message = `the loss became non-finite at step ${first + block.bad}; the last checkpoint holds the weights from before it. Lower the learning rate.`;
          break;
        }
        t0 = performance.now();
      }
      if (checkpointNow) {
        await o.onCheckpoint?.(await snapshot());
        t0 = performance.now();
      }
      if (aborting) {
        stopped = 'aborted';
        break;
      }
    }
  } finally {
    opt.dispose();
    for (const p of params) {
      p.grad?.dispose();
      p.grad = null;
    }
    [targets, history, viewer, lum, tones?.faceMask, ...Object.values(guideActs)].forEach((t) => t?.dispose());
  }
  return { steps: step, stopped, message };
}
