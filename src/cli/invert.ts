// faceinv invert / transfer / sweep-tv: the command-line face of src/invert. Parses, calls reconstruct(),
// shows progress on stderr, writes PNGs, a CSV trace and plots; the last stdout line is a JSON object.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve as resolvePath } from 'node:path';
import { tidy, keep, type Tensor } from '../tensor/tensor.ts';
import { init } from '../tensor/engine.ts';
import * as O from '../autograd/ops.ts';
import { noGrad } from '../autograd/tape.ts';
import { reconstruct, type ReconstructOptions, type ReconstructResult, type Progress } from '../invert/reconstruct.ts';
import { writePng, isImageFile } from '../io/png.ts';
import { fromPlanes, type RgbImage } from '../io/image.ts';
import { chartSvg, imageGrid } from '../io/plot.ts';
import { writePlot } from '../io/plot-png.ts';
import { ProgressBar } from './progress.ts';
import { loadModel, num, pixelsOf, readTargets, readFaces, writeText, abortOnSigint, UsageError, EXIT_INTERRUPTED, EXIT_NON_FINITE, type Parsed } from './common.ts';
import type { CommandSpec } from './options.ts';
import { checkOutputs, type NamedPath } from './outputs.ts';
import { DEFAULT_GUIDE, DEFAULT_MODEL, IDENTITY_ENSEMBLE } from './paths.ts';
import { guidesPerTarget, GUIDE_AVERAGE } from './guides.ts';
import { LOSS_OPTIONS, parseEnsembleSpec, settings, type EnsembleSpec } from './loss-options.ts';

export { LOSS_OPTIONS, parseEnsembleSpec, settings, type EnsembleSpec } from './loss-options.ts';


const INVERT_ABOUT = `Reconstructs a face whose embedding matches each target (paper §2–3, §5.1). With several guides, every
target is reconstructed with each guide in one batch and the result with the smallest embedding distance is
kept (§3). Writes the PNG(s) at the model's input size and a CSV trace of every loss term per iteration; the
last stdout line is {"out", "distance", "iterations", "seconds", ...}. Ctrl-C or SIGTERM stops after the
current iteration, still writes the result, and exits with code ${EXIT_INTERRUPTED}.`;

export const INVERT: CommandSpec = {
  name: 'invert',
  summary: 'reconstruct a face whose embedding matches a target (image or embedding)',
  usage: 'faceinv invert --target <image.png | embedding.json>... [--guide <image.png>]... --out out.png [options]',
  about: INVERT_ABOUT,
  required: ['target', 'out'],
  options: [
    { name: 'target', type: 'string', repeat: true, help: 'a face PNG (embedded first) or an embedding as JSON; repeat for a batch' },
    { name: 'guide', type: 'string', repeat: true, help: 'guide PNG (default: the bundled average face); repeat to keep the closest result' },
    GUIDE_AVERAGE,
    { name: 'out', type: 'string', help: 'output PNG (several targets: F with -0, -1, … before .png)' },
    { name: 'trace', type: 'string', help: 'CSV trace (default: the output path with .csv)' },
    { name: 'snapshot-every', type: 'int', arg: 'K', min: 0, help: 'also write the current image every K iterations (so a crash loses little)' },
    ...LOSS_OPTIONS,
  ],
};


const imagesOf = (data: Float32Array, n: number, size: number): RgbImage[] => fromPlanes(data, n, size, size);

/**
 * The ensemble's networks: the --ensemble options ('none' for no ensemble), or else, with --preset identity,
 * the bundled networks (IDENTITY_ENSEMBLE) that are neither the model nor excluded (the judge).
 */
export function ensembleSpecs(args: Parsed, exclude: string[] = []): EnsembleSpec[] {
  const parse = (v: string): EnsembleSpec => {
    const p = parseEnsembleSpec(v);
    if (typeof p === 'string') throw new UsageError(p);
    return p;
  };
  const given = args.all.ensemble;
  if (given) return given.includes('none') ? [] : given.map(parse);
  if (args.opt.preset !== 'identity') return [];
  const taken = [typeof args.opt.model === 'string' ? args.opt.model : DEFAULT_MODEL, ...exclude].map((f) => resolvePath(f));
  return IDENTITY_ENSEMBLE.map(parse).filter((p) => !taken.includes(resolvePath(p.file)));
}

/** The ensemble members, their targets the given target photos embedded by each (one row per batch item). */
export async function ensembleOf(args: Parsed, targetImages: RgbImage[] | null, exclude: string[] = []): Promise<{ members: NonNullable<ReconstructOptions['ensemble']>; dispose(): void }> {
  const specs = ensembleSpecs(args, exclude);
  const members: NonNullable<ReconstructOptions['ensemble']> = [];
  const dispose = () => members.forEach((m) => (m.target.dispose(), m.model.dispose()));
  if (!specs.length) return { members, dispose };
  if (!targetImages) throw new UsageError(`${args.all.ensemble ? '--ensemble' : '--preset identity'} embeds the target photo with each network of the ensemble: give PNG targets${args.all.ensemble ? '' : ', or --ensemble none'}`);
  try {
    for (const { file, size, weight } of specs) {
      if (exclude.some((x) => resolvePath(x) === resolvePath(file))) throw new UsageError(`--ensemble: ${file} is the judge; the judge must take no part in the optimisation`);
      const model = loadModel(file, size);
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

/** The target photos, when every target is a PNG or JPEG (an ensemble embeds them with each of its networks). */
const pngTargets = (files: string[]) => files.every((f) => isImageFile(readFileSync(f)));
/** Target photos as the ensemble sees them: each one's face aligned to a 150-px chip, as the model's target is (readTargets). */
const targetFaces = async (files: string[]) => (await readFaces({ imageSize: 150 }, files)).map((f) => f.image);

const withSuffix = (path: string, suffix: string, ext = extname(path) || '.png') => join(dirname(path), `${basename(path, extname(path))}${suffix}${ext}`);

/** The files and folders a reconstruction reads (none of them may be an output). */
export function reconstructionInputs({ opt, all }: Parsed): NamedPath[] {
  const named = (what: string, paths: string[] | undefined, dir = false) => (paths ?? []).map((path) => ({ path, what: `${what} ${path}`, dir }));
  const start = typeof opt.start === 'string' && opt.start !== 'guide' && opt.start !== 'noise' ? [opt.start] : [];
  return [
    ...named('--target', all.target),
    ...named('--guide', all.guide),
    ...named('--model', all.model),
    ...named('--start', start),
    ...named('--gauss-fit', all['gauss-fit'], true),
    ...named('--ensemble', all.ensemble?.map((e) => (parseEnsembleSpec(e) as EnsembleSpec).file)),
  ];
}

/** Per target, the guide whose item (t·G + g) is closest to it. */
function closestGuides(d: number[], T: number, G: number): number[] {
  return Array.from({ length: T }, (_, t) => {
    let g = 0;
    for (let k = 1; k < G; k++) if (d[t * G + k] < d[t * G + g]) g = k;
    return g;
  });
}

/** The progress bar's figures: the best distance and the loss terms summed over the batch, guide layers as one. */
function shownTerms(p: Progress): Record<string, number> {
  const sum = (k: string) => p.terms[k].reduce((x, y) => x + y, 0);
  const shown: Record<string, number> = { distance: Math.min(...p.distance), loss: sum('total'), embedding: sum('embedding') };
  const guides = Object.keys(p.terms).filter((k) => k.startsWith('guide:'));
  if (guides.length) shown.guide = guides.reduce((x, k) => x + sum(k), 0);
  if (p.terms.tv) shown.tv = sum('tv');
  return shown;
}

export async function invert(args: Parsed): Promise<number> {
  const { opt, all } = args;
  const out = String(opt.out);
  const traceOf = (o: string) => (typeof opt.trace === 'string' ? opt.trace : withSuffix(o, '', '.csv'));
  const outputs = (outs: string[]): NamedPath[] => [
    ...outs.map((path) => ({ path, what: '--out' })),
    { path: traceOf(out), what: typeof opt.trace === 'string' ? '--trace' : 'the trace (--out with .csv)' },
  ];
  checkOutputs(outputs([out]), reconstructionInputs(args));
  await init();
  const model = loadModel(opt.model);
  const S = model.imageSize;
  const { embeddings, labels } = await readTargets(model, all.target);
  // Several targets (or JSON lines) write out-0.png, out-1.png, …: checked again by those names.
  if (embeddings.length > 1) checkOutputs(outputs(embeddings.map((_, t) => withSuffix(out, `-${t}`))), reconstructionInputs(args));
  const averaging = opt['guide-average'] !== undefined;
  const T = embeddings.length;
  // --guide-average: one guide per target, made from the pool; else every (target, guide) pair is one batch
  // item: item = t·G + g.
  const G = averaging ? 1 : (all.guide?.length ?? 1);
  // Ensemble targets per batch item: target t's photo for each of its G guides.
  const ens = await ensembleOf(args, pngTargets(all.target) ? (await targetFaces(all.target)).flatMap((img) => Array.from({ length: G }, () => img)) : null);
  const perTarget = averaging ? (await guidesPerTarget(args, model, ens.members, embeddings, labels))! : null;
  const guideFiles = perTarget ? perTarget.picks.map((p) => p.join(' + ')) : all.guide?.length ? all.guide : [DEFAULT_GUIDE];
  const guidePixels = keep(perTarget ? model.pixels(perTarget.images) : pixelsOf(model, guideFiles));
  const { s, owned } = await settings(model, args, guidePixels);
  const target = keep(O.tensor(Float32Array.from(embeddings.flatMap((e) => Array.from({ length: G }, () => Array.from(e))).flat()), [T * G, embeddings[0].length]));
  s.ensemble = ens.members;
  owned.push(ens);
  const guide = G === 1 ? guidePixels : keep(tidy(() => O.concat(Array.from({ length: T }, () => guidePixels), 0)));
  const outs = T === 1 ? [out] : embeddings.map((_, t) => withSuffix(out, `-${t}`));
  for (const o of [...outs, traceOf(out)]) mkdirSync(dirname(o), { recursive: true });
  const tracePath = traceOf(out);
  const snapshotEvery = num(opt, 'snapshot-every', 0, (v) => Number.isInteger(v) && v >= 0);
  if (snapshotEvery) s.progressEvery = Math.min(s.progressEvery ?? 10, snapshotEvery);
  const bar = new ProgressBar(s.iterations!, 'invert');
  const sig = abortOnSigint();
  const best = (d: number[]) => closestGuides(d, T, G);
  let r: ReconstructResult;
  try {
    r = await reconstruct({
      ...s,
      model,
      target,
      guide,
      signal: sig.signal,
      onProgress: async (p) => {
        if (snapshotEvery && p.iteration % snapshotEvery === 0) {
          const images = imagesOf(await p.image(), T * G, S);
          best(p.distance).forEach((g, t) => writePng(outs[t], images[t * G + g]));
        }
        bar.update(p.iteration, shownTerms(p), p.rate);
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
  const guideOf = (t: number, g: number) => (perTarget ? guideFiles[t] : guideFiles[g]);
  writeText(tracePath, csvTrace(r, (item) => [labels[Math.floor(item / G)], guideOf(Math.floor(item / G), item % G)], ['target', 'guide']));
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
    guide: T === 1 ? guideOf(0, chosen[0]) : chosen.map((g, t) => guideOf(t, g)),
    // With several guides: every guide's final distance, per target, in --guide order.
    ...(G > 1 ? { distance_by_guide: Array.from({ length: T }, (_, t) => r.distance.slice(t * G, (t + 1) * G)) } : {}),
    threshold: Number.isFinite(model.threshold) ? model.threshold : null,
    stopped: r.stopped,
    trace: tracePath,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  return r.stopped === 'non-finite' ? EXIT_NON_FINITE : 0;
}

export const TRANSFER: CommandSpec = {
  name: 'transfer',
  summary: 'face transfer: reconstruct a target over the frames of a video, one frame per guide',
  usage: 'faceinv transfer --target <image.png | embedding.json> --frames <dir of PNG frames> --out <dir> [options]',
  about: `Face transfer (paper §3, Figs. 4–5): one reconstruction per frame, in file-name order, with that frame as the
guide, each starting from the previous frame's result. Writes <out>/<frame name>.png; the last stdout line
is {"out", "frames", "distance": [...], "seconds"}. Ctrl-C or SIGTERM stops after the current frame (exit
code ${EXIT_INTERRUPTED}).`,
  required: ['target', 'frames', 'out'],
  options: [
    { name: 'target', type: 'string', help: 'a face PNG (embedded first) or an embedding as JSON' },
    { name: 'frames', type: 'string', arg: 'DIR', help: 'a directory of PNG frames, each the guide of its reconstruction' },
    { name: 'out', type: 'string', arg: 'DIR', help: 'where the reconstructed frames go' },
    ...LOSS_OPTIONS,
  ],
};

export async function transfer(args: Parsed): Promise<number> {
  const { opt, all } = args;
  const dir = String(opt.frames);
  const out = String(opt.out);
  checkOutputs([{ path: out, what: '--out', dir: true }], [...reconstructionInputs(args), { path: dir, what: `--frames ${dir}`, dir: true }]);
  await init();
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--frames: ${dir} is not a directory`);
  const frames = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.png')).sort();
  if (!frames.length) throw new UsageError(`--frames: ${dir} holds no PNG files`);
  const model = loadModel(opt.model);
  const S = model.imageSize;
  const { embeddings } = await readTargets(model, all.target);
  const target = keep(O.tensor(embeddings[0], [1, embeddings[0].length]));
  const ens = await ensembleOf(args, pngTargets(all.target) ? await targetFaces(all.target.slice(0, 1)) : null);
  mkdirSync(out, { recursive: true });
  const distances: number[] = [];
  const t0 = performance.now();
  const sig = abortOnSigint();
  let previous: Tensor | null = null;
  const bar = new ProgressBar(frames.length, 'transfer', 'frames');
  try {
    for (let f = 0; f < frames.length && !sig.signal.aborted; f++) {
      const guide = keep(pixelsOf(model, [join(dir, frames[f])]));
      const { s, owned } = await settings(model, args, guide);
      // Warm start: the previous frame's result, so consecutive frames stay consistent.
      if (previous) s.start = previous;
      const r = await reconstruct({ ...s, ensemble: ens.members, model, target, guide, signal: sig.signal });
      previous?.dispose();
      previous = r.image;
      writePng(join(out, frames[f]), imagesOf(await r.image.data(), 1, S)[0]);
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
  process.stdout.write(JSON.stringify({ out, frames: distances.length, distance: distances, seconds: +((performance.now() - t0) / 1000).toFixed(3) }) + '\n');
  return 0;
}

const valuesCheck = (v: string): string | null =>
  v.split(',').every((x) => x.trim() !== '' && Number(x) >= 0 && Number.isFinite(Number(x))) ? null : `--values: '${v}' is not a list of weights ≥ 0`;

export const SWEEP_TV: CommandSpec = {
  name: 'sweep-tv',
  summary: 'the same reconstruction for several TV weights: images and a distance plot (paper Fig. 6)',
  usage: 'faceinv sweep-tv --target <image.png | embedding.json> [--guide <image.png>] --out <dir> [--values 1e-3,1e-2,3e-2,1e-1] [options]',
  about: `Paper Fig. 6: the same reconstruction for several starting w_TV values. Writes <out>/tv-<w>.png for each,
<out>/grid.png (the images left to right in the order given) and <out>/distance.svg / .png (embedding
distance per iteration for each w_TV); the last stdout line is {"out", "values", "distance": [...]}.`,
  required: ['target', 'out'],
  options: [
    { name: 'target', type: 'string', help: 'a face PNG (embedded first) or an embedding as JSON' },
    { name: 'guide', type: 'string', help: 'guide PNG (default: the bundled average face)' },
    { name: 'out', type: 'string', arg: 'DIR', help: 'where the images and the plot go' },
    { name: 'values', type: 'string', arg: 'W,W,…', check: valuesCheck, help: 'the starting w_TV of each run (default 1e-3,1e-2,3e-2,1e-1)' },
    // Each run's --tv is one of --values.
    ...LOSS_OPTIONS.filter((o) => !('name' in o) || o.name !== 'tv'),
  ],
};

export async function sweepTv(args: Parsed): Promise<number> {
  const { opt, all } = args;
  const values = (typeof opt.values === 'string' ? opt.values : '1e-3,1e-2,3e-2,1e-1').split(',').map(Number);
  const out = String(opt.out);
  checkOutputs([{ path: out, what: '--out', dir: true }], reconstructionInputs(args));
  await init();
  const model = loadModel(opt.model);
  const S = model.imageSize;
  const { embeddings } = await readTargets(model, all.target.slice(0, 1));
  const target = keep(O.tensor(embeddings[0], [1, embeddings[0].length]));
  const guide = keep(pixelsOf(model, [all.guide?.[0] ?? DEFAULT_GUIDE]));
  const ens = await ensembleOf(args, pngTargets(all.target.slice(0, 1)) ? await targetFaces(all.target.slice(0, 1)) : null);
  mkdirSync(out, { recursive: true });
  const images: RgbImage[] = [];
  const series: { name: string; points: [number, number][] }[] = [];
  const finals: number[] = [];
  const sig = abortOnSigint();
  try {
    for (const w of values) {
      const { s, owned } = await settings(model, { ...args, opt: { ...opt, tv: String(w) } }, guide);
      const bar = new ProgressBar(s.iterations!, `w_TV ${w}`);
      const r = await reconstruct({ ...s, ensemble: ens.members, model, target, guide, signal: sig.signal, onProgress: (p) => bar.update(p.iteration, { distance: p.distance[0] }, p.rate) });
      bar.done();
      const img = imagesOf(await r.image.data(), 1, S)[0];
      r.image.dispose();
      writePng(join(out, `tv-${w}.png`), img);
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
  writePng(join(out, 'grid.png'), imageGrid(images, images.length));
  writePlot(join(out, 'distance'), chartSvg({ title: 'Embedding distance per iteration for several w_TV (paper Fig. 6)', xLabel: 'iteration', yLabel: 'distance to the target', series }));
  target.dispose();
  guide.dispose();
  model.dispose();
  process.stdout.write(JSON.stringify({ out, values: values.slice(0, finals.length), distance: finals }) + '\n');
  return 0;
}

