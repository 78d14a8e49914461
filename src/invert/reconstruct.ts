// Iterative reconstruction (paper §2–3, §5.1): find images p whose embeddings F(p) match target embeddings e,
//   L(p) = w_e·d[F(p), e] + Σ_ℓ w_ℓ·mean (a_ℓ(p) − a_ℓ(p_G))² + w_TV(t)·R_TV(p) + w_Gauss·R_Gauss + w_LP·R_LP + w_M·R_Mirror,
// optimised over a batch of images at once (each item its own target and guide), with the gradient optionally
// normalised per Laplacian-pyramid level before each step, and pixels kept in [0, 255]. Identity levers
// (issues 8, 13): random transformations before the network (jitter), more networks in the loss (ensemble),
// targets moved away from the guide's embedding (caricature), and the Laplacian pyramid as the parameters
// (lapParam). The options, their defaults and their checks are in ./options.ts.
//
// An iteration records forward, backward and update into one command encoder and submits it: no readback, no
// buffer allocation after the first iteration (pooled), no pipeline creation. Every iteration's loss terms
// are copied on the GPU into a history block that is read back every `progressEvery` iterations, which is
// also when non-finite values are caught.
import { Tensor, keep, tidy } from '../tensor/tensor.ts';
import { engine } from '../tensor/engine.ts';
import { Rng } from '../tensor/random.ts';
import { LossHistory } from '../tensor/history.ts';
import * as O from '../autograd/ops.ts';
import { backward, noGrad } from '../autograd/tape.ts';
import { totalVariation, lapNormalize, coarseToFineWeights, lapRegularizer, mirrorRegularizer, lapSplit, lapMerge, chroma, contrastFloors, faceRegionMask, skinTone, luminanceWeights } from '../autograd/regularizers.ts';
import { Adam } from '../optim/adam.ts';
import { SGD } from '../optim/sgd.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { resolve } from '../optim/schedule.ts';
import { decaying } from './presets.ts';
import type { FaceModel } from '../models/face_model.ts';
import { embeddingLoss, embeddingDistance, guideLoss, unitRows } from './losses.ts';
import { JitterView } from './jitter.ts';
import { check, ReconstructError, SKIN_CHROMA, type Checked, type ReconstructOptions, type ReconstructResult, type TraceRow } from './options.ts';

export { jitterAffines, jitterColours, jitterBlurs, jitterNoise, type Jitter } from './jitter.ts';
export { ReconstructError, SKIN_CHROMA, type GuideLayer, type TvSettings, type ReconstructOptions, type Progress, type TraceRow, type ReconstructResult } from './options.ts';

/** Pixels → 0..1 for the image-space regularisers, so their weights do not depend on the pixel scale. */
const UNIT = 1 / 255;

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
    ...(c.faceContrast ? ['face-contrast'] : []),
    ...(c.skin ? ['skin'] : []),
    'total',
    'distance',
  ];
}

/** Pyramid level i's weight (lapWeights; 1 where none is given), and a level scaled by one. */
const levelWeight = (c: Checked, i: number) => c.lapWeights?.[i] ?? 1;
const scaleLevel = (L: Tensor, k: number) => (k === 1 ? L : O.mul(L, k));

/** What a run holds from start to end: the images, the parameters, the guide's activations, constants. */
interface RunState {
  /** The current images [N, 3, S, S], pixels 0..255. */
  p: Tensor;
  /** What the optimiser moves: p itself, or p's Laplacian pyramid (lapParam). */
  params: Tensor[];
  guide: Tensor | null;
  guideActs: Record<string, Tensor>;
  /** What the model's and each ensemble member's embedding is pulled to (the targets, or their caricatures). */
  target: Tensor;
  memberTargets: Tensor[];
  /** Rec. 601 luminance weights [1, 3, 1, 1] for the colour terms (null when none is on). */
  lumWeights: Tensor | null;
  /** The face region (the chip's central 60 %, weights 1/count) for the skin prior and the face contrast floor. */
  faceMask: Tensor | null;
  /** The skin prior's chroma [1, 3]. */
  skinTarget: Tensor | null;
  /** What the networks see each step (jitter): the image moved and re-toned at random. */
  viewer: JitterView | null;
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
  const [target, memberTargets] = targetsOf(o, c, guide, own);
  // The parameters: the pixels, or the image's Laplacian pyramid (then p follows them after every step).
  // With lapWeights each level is held divided by its weight and multiplied back in the merge, so the optimiser's
  // steps, of one size for every parameter under Adam, move the levels in proportion to their weights.
  const params = c.lapParam ? tidy(() => noGrad(() => lapSplit(p, c.lapParam).map((L, i) => scaleLevel(L, 1 / levelWeight(c, i))))).map((t) => own(t)) : [p];
  for (const t of params) t.requiresGrad = true;
  const colour = c.chromaTv || c.contrast || c.faceContrast || c.skin || c.chromaStep !== 1;
  return {
    p,
    params,
    guide,
    guideActs,
    target,
    memberTargets,
    lumWeights: colour ? own(luminanceWeights()) : null,
    faceMask: c.skin || c.faceContrast ? own(faceRegionMask(S)) : null,
    skinTarget: c.skin ? own(O.tensor([...SKIN_CHROMA], [1, 3])) : null,
    viewer: c.jitter ? new JitterView(N, S, c.jitter) : null,
  };
}

/**
 * The targets the loss pulls to: as given, or with `caricature` A each moved away from the guide's embedding
 * under its network, t + A·(t − F(guide)) (for the ensemble on unit-length embeddings, as its loss compares).
 */
function targetsOf(o: ReconstructOptions, c: Checked, guide: Tensor | null, own: <T extends Tensor>(t: T) => T): [Tensor, Tensor[]] {
  const members = c.ensemble.map((m) => m.target);
  if (!c.caricature) return [o.target, members];
  const away = (t: Tensor, g: Tensor) => O.add(t, O.mul(O.sub(t, g), c.caricature));
  const target = own(tidy(() => noGrad(() => away(o.target, o.model.embed(guide!).embedding))));
  const moved = c.ensemble.map((m) => own(tidy(() => noGrad(() => away(unitRows(m.target), unitRows(m.model.embed(guide!).embedding))))));
  return [target, moved];
}

/** The image-space regularisers of the image itself (0..1 units), each [N]. */
function imageTerms(o: ReconstructOptions, c: Checked, r: RunState, unit: Tensor, it: number): Tensor[] {
  const terms: Tensor[] = [];
  const lum = r.lumWeights!;
  if (o.tv) terms.push(O.mul(totalVariation(unit, { form: o.tv.form, alpha: o.tv.alpha, beta: o.tv.beta, perItem: true }), resolve(o.tv.weight, it)));
  if (o.lp) terms.push(O.mul(lapRegularizer(unit, { ...o.lp, perItem: true }), o.lp.weight));
  if (o.mirror) terms.push(O.mul(mirrorRegularizer(unit, { perItem: true }), o.mirror));
  if (c.chromaTv) terms.push(O.mul(totalVariation(chroma(unit, lum), { perItem: true }), c.chromaTv));
  terms.push(...contrastFloors(unit, lum, r.faceMask, c));
  if (c.skin) terms.push(O.mul(skinTone(unit, lum, r.faceMask!, r.skinTarget!), c.skin));
  return terms;
}

/**
 * The gradient as the step takes it at iteration `it`: pyramid-normalised (its levels weighted by lapWeights, the
 * fine ones faded in over the first coarseToFine of the run), its colour part scaled by chromaStep.
 */
function shapeGradients(c: Checked, r: RunState, it: number): void {
  const { p, params } = r;
  if (c.lapLevels > 0 && !c.lapParam) {
    const g = p.grad!;
    const schedule = c.coarseToFine ? coarseToFineWeights(c.lapLevels, it / (c.coarseToFine * c.iterations)) : null;
    const weights = schedule || c.lapWeights ? Array.from({ length: c.lapLevels + 1 }, (_, i) => (schedule?.[i] ?? 1) * levelWeight(c, i)) : undefined;
    p.grad = keep(lapNormalize(g, c.lapLevels, { perItem: true, weights }));
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
  const { model } = o;
  const { N, jitter, lapParam } = c;
  const { p, params, guide, guideActs, viewer, target, memberTargets } = r;
  const jitterRng = new Rng(jitter?.seed ?? 7);
  const embW = o.embeddingWeight ?? 1;
  const embOpts = { distance: o.distance ?? 'l2', normalize: o.normalize ?? false, scale: o.targetScale ?? 1 };
  const pixelsOf = () => (lapParam ? O.clamp(lapMerge(params.map((q, i) => scaleLevel(q, levelWeight(c, i)))), 0, 255) : p);

  /** What the networks see this step: the image moved and re-toned at random (new values written in place). */
  const view = (image: Tensor): Tensor => (viewer ? viewer.apply(image, jitterRng) : image);

  const guideScale = decaying(1, c.iterations, c.guideDecay);
  return (it: number): Tensor => {
    const image = pixelsOf();
    const seen = view(image);
    const { embedding, taps: acts } = model.embed(seen, c.taps);
    const terms: Tensor[] = [O.mul(embeddingLoss(embedding, target, embOpts), embW)];
    // Unit-length embeddings, so networks of any embedding scale weigh alike.
    c.ensemble.forEach((m, k) => terms.push(O.mul(embeddingLoss(m.model.embed(seen).embedding, memberTargets[k], { ...embOpts, normalize: true }), m.weight)));
    // The guide terms all compare what the network sees (the jittered view) with the unjittered guide: a
    // layer's activations exist only for the view, so the pixel term takes the view too. The guide then
    // acts as a prior that tolerates the jitter's few pixels of misalignment, at every level alike, and no
    // second forward pass of the unjittered image is needed.
    for (const g of c.guideLayers) {
      const a = g.layer === 'pixels' ? O.mul(seen, UNIT) : acts[g.layer];
      const ref = g.layer === 'pixels' ? O.mul(guide!, UNIT) : guideActs[g.layer];
      terms.push(O.mul(guideLoss(a, ref), g.weight * guideScale(it)));
    }
    if (o.gauss) terms.push(O.mul(o.gauss.prior.loss(acts[o.gauss.prior.layer]), o.gauss.weight));
    // TV, mirror and tone terms are properties of the image itself, not of a view of it.
    terms.push(...imageTerms(o, c, r, O.mul(image, UNIT), it));
    const total = terms.reduce((a, b) => O.add(a, b));
    backward(O.sum(total));
    shapeGradients(c, r, it);
    opt.step();
    if (lapParam) {
      const next = noGrad(() => pixelsOf());
      engine().copyBuffer(next.buffer, 0, p.buffer, 0, p.size * 4);
    }
    return noGrad(() => O.concat([...terms, total, embeddingDistance(embedding, o.target)].map((t) => O.reshape(t, [1, N])), 0));
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
    r?.viewer?.dispose();
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
