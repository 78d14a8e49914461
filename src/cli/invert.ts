// faceinv invert / transfer / sweep-tv: the command-line face of src/invert. Parses, calls reconstruct(),
// shows progress on stderr, writes PNGs, a CSV trace and plots; the last stdout line is a JSON object.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve as resolvePath } from 'node:path';
import { tidy, keep, type Tensor } from '../tensor/tensor.ts';
import { init } from '../tensor/engine.ts';
import * as O from '../autograd/ops.ts';
import { noGrad } from '../autograd/tape.ts';
import { reconstruct, type ReconstructOptions, type ReconstructResult } from '../invert/reconstruct.ts';
import { preset, decayingTv, guideLayersOf, type PresetName } from '../invert/presets.ts';
import { GaussianPrior, fitLapSpectrum } from '../invert/losses.ts';
import type { FaceModel } from '../models/face_model.ts';
import { readPng, writePng } from '../io/png.ts';
import { fromPlanes, type RgbImage } from '../io/image.ts';
import { chartSvg, imageGrid } from '../io/plot.ts';
import { writePlot } from '../io/plot-png.ts';
import { ProgressBar } from './progress.ts';
import { parse, loadModel, num, pixelsOf, readTargets, writeText, abortOnSigint, UsageError, type Parsed } from './common.ts';
import { DEFAULT_GUIDE, DEFAULT_MODEL, BUNDLED_NETWORKS } from './paths.ts';

export const LOSS_OPTIONS = `Loss and optimiser (each overrides the preset):
  --preset P            paper (default: 300 iterations), fast (100), or identity (paper + --jitter 4,0.05,3:
                        what made both bundled judge networks see the person better, BENCHMARKS.md)
  --iterations N        iterations
  --lr X                learning rate (pixel units per step for Adam)
  --optimizer O         adam or sgd
  --distance D          l2 (default) or dot
  --normalize           compare unit-length embeddings
  --target-scale S      scale the target embedding before comparing (paper Fig. 8)
  --guide-layers A,B    layers tied to the guide (default: the model's faceinv.guide_layers; 'pixels' = the image)
  --guide-weight W      weight of each guide layer
  --tv W                starting w_TV; it falls to a tenth over the run (0 turns TV off)
  --tv-form F           global (paper eq. 2, default) or pixel
  --tv-alpha A          exponent α of the global form (default 2)
  --lap-levels N        Laplacian-pyramid gradient normalisation levels (0 = off; default 4)
  --mirror W            weight of the mirror-symmetry regulariser
  --lp W                weight of R_LP (eq. 12), its N_L and β fitted to the first guide
  --gauss-fit DIR       fit the Gaussian activation prior (appendix A) on the PNG faces in DIR
  --gauss-layer L       its layer (default: the second guide layer)
  --gauss-weight W      its weight (default 1)
  --gauss-nu V          its ν (default 0.1)
  --jitter S,K,R        transformation robustness: each step the network sees the image shifted by up to S
                        pixels, scaled by up to ±K and rotated by up to R degrees (e.g. 4,0.05,3)
  --flip                also mirror the image the networks see, at random half of the steps
  --colour-jitter C     also change its contrast and brightness at random each step by up to ±C (e.g. 0.1)
  --chroma-tv W         weight of the total variation of the image's colour (minus its luminance): less
                        colour speckle, the light-dark detail kept
  --chroma-step K       scale the colour part of each step by K in [0, 1] (light and dark move faster; less
                        colour blotching)
  --contrast W[,F]      weight of the contrast floor: images whose luminance standard deviation (0..1) is
                        below F (default 0.2, a face photo's) are pushed up to it
  --ensemble F[:W]      another ONNX face model optimised together, on unit-length embeddings of the
                        target photo under it, with weight W (default 1); repeatable; needs PNG targets
  --lap-param N         optimise the image's Laplacian pyramid (N levels) instead of its pixels
  --start S             guide (default), noise, or a PNG to start from
  --seed S              seed of the noise start
  --model F             an ONNX face model (default: the bundled dlib ResNet)
  --progress-every K    read the losses back every K iterations (default 10)`;

const INVERT_HELP = `Usage: faceinv invert --target <image.png | embedding.json>... [--guide <image.png>]... --out out.png [options]

Reconstructs a face whose embedding matches each target (paper §2–3, §5.1). With several guides, every
target is reconstructed with each guide in one batch and the result with the smallest embedding distance is
kept (§3). Writes the PNG(s) at the model's input size and a CSV trace of every loss term per iteration; the
last stdout line is {"out", "distance", "iterations", "seconds", ...}. Ctrl-C stops after the current
iteration and still writes the result.

  --out F               output PNG (several targets: F with -0, -1, … before .png)
  --trace F             CSV trace (default: the output path with .csv)
  --snapshot-every K    also write the current image every K iterations (so a crash loses little)

${LOSS_OPTIONS}
`;

/** The options of LOSS_OPTIONS (and --guide), shared by every command that reconstructs. */
export const LOSS_VALUED = [
  'guide', 'preset', 'iterations', 'lr', 'optimizer', 'distance', 'target-scale', 'guide-layers', 'guide-weight', 'tv', 'tv-form',
  'tv-alpha', 'lap-levels', 'mirror', 'lp', 'gauss-fit', 'gauss-layer', 'gauss-weight', 'gauss-nu', 'start', 'seed', 'model',
  'progress-every', 'jitter', 'ensemble', 'lap-param', 'colour-jitter', 'chroma-tv', 'contrast', 'chroma-step',
];
export const LOSS_SWITCHES = ['normalize', 'flip'];
const VALUED = ['target', 'out', 'trace', 'snapshot-every', 'frames', 'values', ...LOSS_VALUED];
const SWITCHES = [...LOSS_SWITCHES, 'json'];

/** Reconstruction settings from the preset and the options that override it (everything but targets and guides). */
export async function settings(model: FaceModel, a: Parsed, firstGuide: Tensor | null): Promise<{ s: Omit<ReconstructOptions, 'model' | 'target' | 'guide'>; owned: { dispose(): void }[] }> {
  const { opt } = a;
  const presetName = (opt.preset ?? 'paper') as PresetName;
  if (!['paper', 'fast', 'identity'].includes(presetName)) throw new UsageError(`--preset: '${presetName}' is not a preset (paper, fast, identity)`);
  const metaLayers = JSON.parse(model.module.metadata['faceinv.guide_layers'] ?? '[]') as string[];
  const iterations = num(opt, 'iterations', NaN, (v) => Number.isInteger(v) && v >= 0);
  const s = preset(presetName, metaLayers, Number.isNaN(iterations) ? undefined : iterations);
  const its = s.iterations!;
  const owned: { dispose(): void }[] = [];
  if (opt.lr !== undefined) s.lr = num(opt, 'lr', 0, (v) => v > 0 && Number.isFinite(v));
  if (opt.optimizer !== undefined) {
    if (opt.optimizer !== 'adam' && opt.optimizer !== 'sgd') throw new UsageError(`--optimizer: '${opt.optimizer}' is not adam or sgd`);
    s.optimizer = opt.optimizer;
  }
  if (opt.distance !== undefined) {
    if (opt.distance !== 'l2' && opt.distance !== 'dot') throw new UsageError(`--distance: '${opt.distance}' is not l2 or dot`);
    s.distance = opt.distance;
  }
  if (opt.normalize) s.normalize = true;
  if (opt['target-scale'] !== undefined) s.targetScale = num(opt, 'target-scale', 1);
  const layers = typeof opt['guide-layers'] === 'string' ? opt['guide-layers'].split(',').filter(Boolean) : (s.guideLayers ?? []).map((g) => g.layer);
  const gw = num(opt, 'guide-weight', s.guideLayers?.[0]?.weight ?? 1e-3, (v) => v >= 0 && Number.isFinite(v));
  s.guideLayers = guideLayersOf(layers, gw).filter((g) => g.weight > 0);
  if (opt.tv !== undefined) {
    const w0 = num(opt, 'tv', 0, (v) => v >= 0 && Number.isFinite(v));
    s.tv = w0 > 0 ? { ...(s.tv ?? {}), weight: decayingTv(w0, its) } : null;
  }
  if (s.tv && opt['tv-form'] !== undefined) {
    if (opt['tv-form'] !== 'global' && opt['tv-form'] !== 'pixel') throw new UsageError(`--tv-form: '${opt['tv-form']}' is not global or pixel`);
    s.tv.form = opt['tv-form'];
  }
  if (s.tv && opt['tv-alpha'] !== undefined) s.tv = { ...s.tv, alpha: num(opt, 'tv-alpha', 2, (v) => v > 0), beta: num(opt, 'tv-alpha', 2, (v) => v > 0) };
  if (opt['lap-levels'] !== undefined) s.lapNormLevels = num(opt, 'lap-levels', 4, (v) => Number.isInteger(v) && v >= 0);
  if (opt.mirror !== undefined) s.mirror = num(opt, 'mirror', 0, (v) => v >= 0);
  if (opt.lp !== undefined) {
    if (!firstGuide) throw new UsageError('--lp fits N_L and β to the guide: give a guide');
    const levels = 4;
    const unit = tidy(() => noGrad(() => O.mul(O.slice(firstGuide, [0, 0, 0, 0], [1, 3, model.imageSize, model.imageSize]), 1 / 255)));
    const fit = await fitLapSpectrum(unit, levels);
    unit.dispose();
    s.lp = { weight: num(opt, 'lp', 0, (v) => v >= 0), levels, ...fit };
  }
  if (opt['gauss-fit'] !== undefined) {
    const dir = String(opt['gauss-fit']);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--gauss-fit: ${dir} is not a directory`);
    const files = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.png')).sort().map((f) => join(dir, f));
    if (files.length < 2) throw new UsageError(`--gauss-fit: ${dir} holds ${files.length} PNG file(s); the prior needs at least 2`);
    const layer = typeof opt['gauss-layer'] === 'string' ? opt['gauss-layer'] : (layers[1] ?? layers[0] ?? metaLayers[1]);
    if (!layer) throw new UsageError('--gauss-fit needs --gauss-layer (the model names no guide layers)');
    const acts = tidy(() => noGrad(() => model.embed(pixelsOf(model, files), [layer]).taps[layer]));
    const prior = GaussianPrior.fit(layer, acts, num(opt, 'gauss-nu', 0.1, (v) => v > 0));
    acts.dispose();
    owned.push(prior);
    s.gauss = { prior, weight: num(opt, 'gauss-weight', 1, (v) => v >= 0) };
  }
  if (opt.start !== undefined) {
    if (opt.start === 'guide' || opt.start === 'noise') s.start = opt.start;
    else {
      const img = keep(pixelsOf(model, [String(opt.start)]));
      owned.push(img);
      s.start = img;
    }
  }
  if (opt.seed !== undefined) s.seed = num(opt, 'seed', 1, Number.isInteger);
  if (opt['lap-param'] !== undefined) s.lapParam = num(opt, 'lap-param', 0, (v) => Number.isInteger(v) && v >= 0 && v <= 8);
  if (opt.jitter !== undefined) {
    const v = String(opt.jitter).split(',').map(Number);
    if (v.length !== 3 || !v.every((x) => x >= 0 && Number.isFinite(x)) || v[1] >= 1) {
      throw new UsageError(`--jitter: '${opt.jitter}' is not S,K,R (shift in pixels, scale change below 1, rotation in degrees, all ≥ 0)`);
    }
    s.jitter = { shift: v[0], scale: v[1], rotate: (v[2] * Math.PI) / 180, seed: s.seed };
  }
  if (opt.flip || opt['colour-jitter'] !== undefined) {
    s.jitter = { ...(s.jitter ?? { shift: 0, scale: 0, rotate: 0, seed: s.seed }) };
    if (opt.flip) s.jitter.flip = true;
    if (opt['colour-jitter'] !== undefined) s.jitter.colour = num(opt, 'colour-jitter', 0, (v) => v >= 0 && v < 1);
  }
  if (opt['chroma-step'] !== undefined) s.chromaStep = num(opt, 'chroma-step', 1, (v) => v >= 0 && v <= 1);
  if (opt['chroma-tv'] !== undefined) s.chromaTv = num(opt, 'chroma-tv', 0, (v) => v >= 0 && Number.isFinite(v));
  if (opt.contrast !== undefined) {
    const v = String(opt.contrast).split(',').map(Number);
    if (v.length > 2 || !(v[0] >= 0 && Number.isFinite(v[0])) || (v.length === 2 && !(v[1] >= 0 && v[1] < 1))) {
      throw new UsageError(`--contrast: '${opt.contrast}' is not W or W,F (a weight ≥ 0, a floor in [0, 1))`);
    }
    s.contrast = v[0] > 0 ? { weight: v[0], floor: v[1] ?? 0.2 } : null;
  }
  s.progressEvery = num(opt, 'progress-every', 10, (v) => Number.isInteger(v) && v >= 1);
  return { s, owned };
}

const imagesOf = (data: Float32Array, n: number, size: number): RgbImage[] => fromPlanes(data, n, size, size);

/**
 * The ensemble's networks: the --ensemble options ('none' for no ensemble), or else, with --preset identity,
 * every bundled network that is neither the model nor excluded (the judge).
 */
function ensembleSpecs(a: Parsed, exclude: string[]): string[] {
  const given = a.all.ensemble;
  if (given) return given.includes('none') ? [] : given;
  if (a.opt.preset !== 'identity') return [];
  const taken = [typeof a.opt.model === 'string' ? a.opt.model : DEFAULT_MODEL, ...exclude].map((f) => resolvePath(f));
  return BUNDLED_NETWORKS.filter((f) => !taken.includes(resolvePath(f)));
}

/** The ensemble members, their targets the given target photos embedded by each (one row per batch item). */
export async function ensembleOf(a: Parsed, targetImages: RgbImage[] | null, exclude: string[] = []): Promise<{ members: NonNullable<ReconstructOptions['ensemble']>; dispose(): void }> {
  const specs = ensembleSpecs(a, exclude);
  const members: NonNullable<ReconstructOptions['ensemble']> = [];
  const dispose = () => members.forEach((m) => (m.target.dispose(), m.model.dispose()));
  if (!specs.length) return { members, dispose };
  if (!targetImages) throw new UsageError(`${a.all.ensemble ? '--ensemble' : '--preset identity'} embeds the target photo with each network of the ensemble: give PNG targets${a.all.ensemble ? '' : ', or --ensemble none'}`);
  try {
    for (const spec of specs) {
      const m = /^(.*?)(?::([0-9.eE+-]+))?$/.exec(spec)!;
      const weight = m[2] === undefined ? 1 : Number(m[2]);
      if (!(weight >= 0 && Number.isFinite(weight))) throw new UsageError(`--ensemble: '${spec}' has a bad weight`);
      if (exclude.some((x) => resolvePath(x) === resolvePath(m[1]))) throw new UsageError(`--ensemble: ${m[1]} is the judge; the judge must take no part in the optimisation`);
      const model = loadModel(m[1]);
      const target = keep(tidy(() => noGrad(() => model.embed(model.pixels(targetImages)).embedding)));
      members.push({ model, target, weight });
    }
  } catch (e) {
    dispose();
    throw e;
  }
  return { members, dispose };
}

function csvTrace(r: ReconstructResult, itemLabel: (item: number) => string[], header: string[]): string {
  const lines = [['iteration', 'item', ...header, ...r.termNames].join(',')];
  for (const row of r.trace) lines.push([row.iteration, row.item, ...itemLabel(row.item).map((v) => JSON.stringify(v)), ...r.termNames.map((t) => row.values[t])].join(','));
  return lines.join('\n') + '\n';
}

/** The target photos, when every target is a PNG (an ensemble embeds them with each of its networks). */
const pngTargets = (files: string[]) => files.every((f) => readFileSync(f).readUInt32BE(0) === 0x89504e47);

const withSuffix = (path: string, suffix: string, ext = extname(path) || '.png') => join(dirname(path), `${basename(path, extname(path))}${suffix}${ext}`);

export async function invert(args: string[]): Promise<number> {
  const a = parse(args, VALUED, SWITCHES);
  const { opt, all } = a;
  if (opt.help) {
    process.stdout.write(INVERT_HELP);
    return 0;
  }
  await init();
  if (!all.target?.length || typeof opt.out !== 'string') throw new UsageError("invert needs --target and --out (see 'faceinv invert --help')");
  const model = loadModel(opt.model);
  const S = model.imageSize;
  const { embeddings, labels } = await readTargets(model, all.target);
  const guideFiles = all.guide?.length ? all.guide : [DEFAULT_GUIDE];
  const T = embeddings.length;
  const G = guideFiles.length;
  // Every (target, guide) pair is one batch item: item = t·G + g.
  const guidePixels = keep(pixelsOf(model, guideFiles));
  const { s, owned } = await settings(model, a, guidePixels);
  const target = keep(O.tensor(Float32Array.from(embeddings.flatMap((e) => Array.from({ length: G }, () => Array.from(e))).flat()), [T * G, embeddings[0].length]));
  // Ensemble targets per batch item: target t's photo for each of its G guides.
  const ens = await ensembleOf(a, pngTargets(all.target) ? all.target.flatMap((f) => Array.from({ length: G }, () => readPng(f))) : null);
  s.ensemble = ens.members;
  owned.push(ens);
  const guide = G === 1 ? guidePixels : keep(tidy(() => O.concat(Array.from({ length: T }, () => guidePixels), 0)));
  const outs = T === 1 ? [opt.out] : embeddings.map((_, t) => withSuffix(String(opt.out), `-${t}`));
  for (const o of outs) mkdirSync(dirname(o), { recursive: true });
  const tracePath = typeof opt.trace === 'string' ? opt.trace : withSuffix(String(opt.out), '', '.csv');
  const snapshotEvery = num(opt, 'snapshot-every', 0, (v) => Number.isInteger(v) && v >= 0);
  if (snapshotEvery) s.progressEvery = Math.min(s.progressEvery!, snapshotEvery);
  const bar = new ProgressBar(s.iterations!, 'invert');
  const sig = abortOnSigint();
  /** Per target, the guide whose item is closest to it. */
  const best = (d: number[]) => Array.from({ length: T }, (_, t) => {
    let g = 0;
    for (let k = 1; k < G; k++) if (d[t * G + k] < d[t * G + g]) g = k;
    return g;
  });
  let r: ReconstructResult;
  try {
    r = await reconstruct({
      ...s,
      model,
      target,
      guide,
      signal: sig.signal,
      onProgress: async (p) => {
        const d = p.distance;
        // Loss terms summed over the batch, the guide layers summed into one.
        const sum = (k: string) => p.terms[k].reduce((x, y) => x + y, 0);
        const shown: Record<string, number> = { distance: Math.min(...d), loss: sum('total'), embedding: sum('embedding') };
        const guides = Object.keys(p.terms).filter((k) => k.startsWith('guide:'));
        if (guides.length) shown.guide = guides.reduce((x, k) => x + sum(k), 0);
        if (p.terms.tv) shown.tv = sum('tv');
        if (snapshotEvery && p.iteration % snapshotEvery === 0) {
          const images = imagesOf(await p.image(), T * G, S);
          best(d).forEach((g, t) => writePng(outs[t], images[t * G + g]));
        }
        bar.update(p.iteration, shown, p.rate);
      },
    });
  } finally {
    bar.done();
    sig.release();
  }
  const images = imagesOf(await r.image.data(), T * G, S);
  r.image.dispose();
  const chosen = best(r.distance);
  chosen.forEach((g, t) => writePng(outs[t], images[t * G + g]));
  writeText(tracePath, csvTrace(r, (item) => [labels[Math.floor(item / G)], guideFiles[item % G]], ['target', 'guide']));
  for (const t of [target, guidePixels, ...(guide !== guidePixels ? [guide] : [])]) t.dispose();
  for (const x of owned) x.dispose();
  model.dispose();
  if (r.stopped === 'non-finite') process.stderr.write(`faceinv: ${r.message}\n`);
  const distance = chosen.map((g, t) => r.distance[t * G + g]);
  const result = {
    out: T === 1 ? outs[0] : outs,
    distance: T === 1 ? distance[0] : distance,
    iterations: r.iterations,
    seconds: +r.seconds.toFixed(3),
    guide: T === 1 ? guideFiles[chosen[0]] : chosen.map((g) => guideFiles[g]),
    // With several guides: every guide's final distance, per target, in --guide order.
    ...(G > 1 ? { distance_by_guide: Array.from({ length: T }, (_, t) => r.distance.slice(t * G, (t + 1) * G)) } : {}),
    threshold: Number.isFinite(model.threshold) ? model.threshold : null,
    stopped: r.stopped,
    trace: tracePath,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  return r.stopped === 'non-finite' ? 3 : 0;
}

const TRANSFER_HELP = `Usage: faceinv transfer --target <image.png | embedding.json> --frames <dir of PNG frames> --out <dir> [options]

Face transfer (paper §3, Figs. 4–5): one reconstruction per frame, in file-name order, with that frame as the
guide, each starting from the previous frame's result. Writes <out>/<frame name>.png; the last stdout line
is {"out", "frames", "distance": [...], "seconds"}.

${LOSS_OPTIONS}
`;

export async function transfer(args: string[]): Promise<number> {
  const a = parse(args, VALUED, SWITCHES);
  const { opt, all } = a;
  if (opt.help) {
    process.stdout.write(TRANSFER_HELP);
    return 0;
  }
  await init();
  if (!all.target?.length || typeof opt.frames !== 'string' || typeof opt.out !== 'string') {
    throw new UsageError("transfer needs --target, --frames and --out (see 'faceinv transfer --help')");
  }
  if (all.target.length > 1) throw new UsageError('transfer takes one --target');
  const dir = opt.frames;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--frames: ${dir} is not a directory`);
  const frames = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.png')).sort();
  if (!frames.length) throw new UsageError(`--frames: ${dir} holds no PNG files`);
  const model = loadModel(opt.model);
  const S = model.imageSize;
  const { embeddings } = await readTargets(model, all.target);
  const target = keep(O.tensor(embeddings[0], [1, embeddings[0].length]));
  const ens = await ensembleOf(a, pngTargets(all.target) ? [readPng(all.target[0])] : null);
  mkdirSync(opt.out, { recursive: true });
  const distances: number[] = [];
  const t0 = performance.now();
  const sig = abortOnSigint();
  let previous: Tensor | null = null;
  const bar = new ProgressBar(frames.length, 'transfer', 'frames');
  try {
    for (let f = 0; f < frames.length && !sig.signal.aborted; f++) {
      const guide = keep(pixelsOf(model, [join(dir, frames[f])]));
      const { s, owned } = await settings(model, a, guide);
      // Warm start: the previous frame's result, so consecutive frames stay consistent.
      if (previous) s.start = previous;
      const r = await reconstruct({ ...s, ensemble: ens.members, model, target, guide, signal: sig.signal });
      previous?.dispose();
      previous = r.image;
      writePng(join(opt.out, frames[f]), imagesOf(await r.image.data(), 1, S)[0]);
      distances.push(r.distance[0]);
      guide.dispose();
      for (const x of owned) x.dispose();
      bar.update(f + 1, { frame: frames[f], distance: r.distance[0] });
    }
  } finally {
    bar.done();
    sig.release();
    previous?.dispose();
    ens.dispose();
  }
  target.dispose();
  model.dispose();
  process.stdout.write(JSON.stringify({ out: opt.out, frames: distances.length, distance: distances, seconds: +((performance.now() - t0) / 1000).toFixed(3) }) + '\n');
  return 0;
}

const SWEEP_HELP = `Usage: faceinv sweep-tv --target <image.png | embedding.json> [--guide <image.png>] --out <dir> [--values 1e-3,1e-2,3e-2,1e-1] [options]

Paper Fig. 6: the same reconstruction for several starting w_TV values. Writes <out>/tv-<w>.png for each,
<out>/grid.png (the images left to right in the order given) and <out>/distance.svg / .png (embedding
distance per iteration for each w_TV); the last stdout line is {"out", "values", "distance": [...]}.

${LOSS_OPTIONS}
`;

export async function sweepTv(args: string[]): Promise<number> {
  const a = parse(args, VALUED, SWITCHES);
  const { opt, all } = a;
  if (opt.help) {
    process.stdout.write(SWEEP_HELP);
    return 0;
  }
  await init();
  if (!all.target?.length || typeof opt.out !== 'string') throw new UsageError("sweep-tv needs --target and --out (see 'faceinv sweep-tv --help')");
  const values = (typeof opt.values === 'string' ? opt.values : '1e-3,1e-2,3e-2,1e-1').split(',').map(Number);
  if (!values.length || values.some((v) => !(v >= 0 && Number.isFinite(v)))) throw new UsageError(`--values: '${opt.values}' is not a list of weights ≥ 0`);
  const model = loadModel(opt.model);
  const S = model.imageSize;
  const { embeddings } = await readTargets(model, all.target.slice(0, 1));
  const target = keep(O.tensor(embeddings[0], [1, embeddings[0].length]));
  const guide = keep(pixelsOf(model, [all.guide?.[0] ?? DEFAULT_GUIDE]));
  const ens = await ensembleOf(a, pngTargets(all.target.slice(0, 1)) ? [readPng(all.target[0])] : null);
  mkdirSync(opt.out, { recursive: true });
  const images: RgbImage[] = [];
  const series: { name: string; points: [number, number][] }[] = [];
  const finals: number[] = [];
  const sig = abortOnSigint();
  try {
    for (const w of values) {
      const { s, owned } = await settings(model, { ...a, opt: { ...opt, tv: String(w) } }, guide);
      const bar = new ProgressBar(s.iterations!, `w_TV ${w}`);
      const r = await reconstruct({ ...s, ensemble: ens.members, model, target, guide, signal: sig.signal, onProgress: (p) => bar.update(p.iteration, { distance: p.distance[0] }, p.rate) });
      bar.done();
      const img = imagesOf(await r.image.data(), 1, S)[0];
      r.image.dispose();
      writePng(join(opt.out, `tv-${w}.png`), img);
      images.push(img);
      series.push({ name: `w_TV ${w}`, points: r.trace.map((row) => [row.iteration, row.values.distance]) });
      finals.push(r.distance[0]);
      for (const x of owned) x.dispose();
      if (sig.signal.aborted) break;
    }
  } finally {
    sig.release();
    ens.dispose();
  }
  writePng(join(opt.out, 'grid.png'), imageGrid(images, images.length));
  writePlot(join(opt.out, 'distance'), chartSvg({ title: 'Embedding distance per iteration for several w_TV (paper Fig. 6)', xLabel: 'iteration', yLabel: 'distance to the target', series }));
  target.dispose();
  guide.dispose();
  model.dispose();
  process.stdout.write(JSON.stringify({ out: opt.out, values: values.slice(0, finals.length), distance: finals }) + '\n');
  return 0;
}

