// faceinv judge: does a face network that took no part in the optimisation recognise the person in
// reconstructions? Identification against a labelled gallery (src/evaluate/judge.ts), optionally after making
// the reconstructions of every gallery photo itself (--reconstruct), with an HTML report.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve as resolvePath } from 'node:path';
import { tidy, keep, type Tensor } from '../tensor/tensor.ts';
import { init } from '../tensor/engine.ts';
import * as O from '../autograd/ops.ts';
import type { FaceModel } from '../models/face_model.ts';
import { noGrad } from '../autograd/tape.ts';
import { reconstruct } from '../invert/reconstruct.ts';
import { calibrate, identify, summarize, galleryPeople, labelOf, type Labelled, type Verdict, type Metric } from '../evaluate/judge.ts';
import { readPng, writePng } from '../io/png.ts';
import { fromPlanes, toModelInput, type RgbImage } from '../io/image.ts';
import { imageGrid } from '../io/plot.ts';
import { ProgressBar } from './progress.ts';
import { loadModel, num, pixelsOf, embedAll, readFaces, imageFiles, writeText, abortOnSigint, UsageError, type Parsed } from './common.ts';
import type { CommandSpec } from './options.ts';
import { loadRun } from './decoder-run.ts';
import { Decoder } from '../models/decoder.ts';
import { guidesPerTarget, GUIDE_AVERAGE } from './guides.ts';
import { pickByHeldOut } from './cross_check.ts';
import { settings, ensembleOf, ensembleSpecs, reconstructionInputs, LOSS_OPTIONS } from './invert.ts';
import { checkOutputs } from './outputs.ts';
import { DEFAULT_GUIDE, DEFAULT_MODEL, packageRoot } from './paths.ts';
import { BUNDLED_JUDGES } from '../models/judges.ts';

export const JUDGE: CommandSpec = {
  name: 'judge',
  summary: 'does a face network that took no part recognise the person? identification against a gallery',
  usage: `faceinv judge --gallery <dir> [--judge mobileface | file.onnx] <reconstruction.png ...>
faceinv judge --gallery <dir> --reconstruct --out <dir> [reconstruction options]`,
  about: `Identifies the person in each reconstruction with a judge network that took no part in making it: each
gallery person scores their best photo's similarity to the reconstruction, the photo it was made from left
out; it is identified when its own person scores highest. The same-person threshold is measured on the
gallery's labelled pairs (or given). Prints a line per reconstruction on stderr; the last stdout line is
{"judge", "threshold", "calibration", "summary", "verdicts"}.

The gallery: face chips framed like assets/faces/astronaut.png, as <dir>/<person>/<photo>.png (or flat
<dir>/<person>_<k>.png), several people, at least two photos for those to be judged. A reconstruction's
person and source photo come from its path the same way (<person>/<photo>.png).`,
  required: ['gallery'],
  positionals: { name: 'reconstruction', min: 0, max: Infinity },
  options: [
    { name: 'gallery', type: 'string', arg: 'DIR', help: 'the labelled gallery' },
    { name: 'judge', type: 'string', arg: 'J', help: `a bundled network (${BUNDLED_JUDGES.join(', ')}; default ${BUNDLED_JUDGES[0]}) or an ONNX face model` },
    { name: 'threshold', type: 'number', arg: 'T', help: "same-person threshold of the judge's similarity (default: measured on the gallery)" },
    { name: 'report', type: 'string', arg: 'DIR', help: 'write DIR/report.html and DIR/grid.png (source photo | reconstruction | rank-1 photo)' },
    { name: 'reconstruct', type: 'flag', help: 'first reconstruct every photo of each person with two or more photos, from its\nembedding under --model, into --out/<person>/<photo>.png; then judge those' },
    { name: 'out', type: 'string', arg: 'DIR', needs: 'reconstruct', help: 'where --reconstruct writes' },
    { name: 'guide', type: 'string', repeat: true, needs: 'reconstruct', help: 'the guide (default: the bundled average face); repeated, each target gets the one\nnearest it under the optimised networks (the model and the ensemble, never the judge)' },
    { ...GUIDE_AVERAGE, needs: 'reconstruct' },
    { name: 'cross-check', type: 'flag', needs: 'reconstruct', help: 'one candidate per ensemble member, each made without it; the member left out scores\nits candidate (its similarity to the target against strangers) and the best is kept' },
    { name: 'batch', type: 'int', arg: 'B', min: 1, max: 4096, needs: 'reconstruct', help: 'reconstructions per batch (default 8)' },
    { name: 'per-person', type: 'int', arg: 'K', min: 1, needs: 'reconstruct', help: 'reconstruct at most K photos of each person (the first K by name; default all)' },
    { name: 'start-decoder', type: 'string', arg: 'DIR', needs: 'reconstruct', help: "start each reconstruction from a trained decoder's face for its target (DIR from\n'faceinv train-decoder'; an unguided decoder, or a guided one given --guide)" },
    // The reconstruction options act only with --reconstruct (input images are limited either way).
    ...LOSS_OPTIONS.map((o) => ('name' in o && o.name !== 'max-pixels' && o.name !== 'no-align' ? { ...o, needs: o.needs ?? 'reconstruct' } : o)),
  ],
};

/** The judge's ONNX file: a bundled judge by name, or a path. */
function judgeFile(spec: string | true | undefined): string {
  const name = typeof spec === 'string' ? spec : BUNDLED_JUDGES[0];
  const bundled = join(packageRoot(), 'assets', 'judges', `${name}.onnx`);
  const file = existsSync(bundled) && !name.endsWith('.onnx') ? bundled : name;
  if (!existsSync(file)) throw new UsageError(`--judge: '${name}' is neither a bundled network (${BUNDLED_JUDGES.join(', ')}) nor an ONNX file`);
  return file;
}

export async function judgeCmd(args: Parsed): Promise<number> {
  const { pos, opt } = args;
  if (typeof opt.gallery !== 'string') throw new UsageError("judge needs --gallery (see 'faceinv judge --help')");
  if (!existsSync(opt.gallery) || !statSync(opt.gallery).isDirectory()) throw new UsageError(`--gallery: ${opt.gallery} is not a directory`);
  if (opt.reconstruct && typeof opt.out !== 'string') throw new UsageError('--reconstruct needs --out');
  if (!opt.reconstruct && !pos.length) throw new UsageError('judge needs reconstructions to judge, or --reconstruct');
  const judgePath = judgeFile(opt.judge);
  if (typeof opt.model === 'string' && resolvePath(opt.model) === resolvePath(judgePath)) throw new UsageError('--model is the judge; the judge must take no part in the optimisation');
  const inputs = [{ path: opt.gallery, what: `--gallery ${opt.gallery}`, dir: true }, ...pos.map((path) => ({ path, what: `the reconstruction ${path}` })), ...reconstructionInputs(args)];
  if (opt.reconstruct) checkOutputs([{ path: String(opt.out), what: '--out', dir: true }], inputs);
  if (typeof opt.report === 'string') checkOutputs([{ path: opt.report, what: '--report', dir: true }], inputs);
  await init();
  const galleryRoot = opt.gallery;
  const files = imageFiles(galleryRoot).sort();
  const labels = files.map((f) => labelOf(relative(galleryRoot, f)));
  const people = galleryPeople(labels.map((l) => ({ ...l, embedding: [] })));
  // Gallery photos: each one's most confident face aligned to the 150-px chip every bundled network takes
  // (--no-align: ready chips). Probes (reconstructions) are chips already.
  const images = (await readFaces({ imageSize: 150 }, files)).map((f) => f.image);

  let probes: Made[];
  if (opt.reconstruct) probes = await reconstructGallery(args, files, labels, images, people, judgePath);
  else {
    probes = pos.map((file) => {
      if (!existsSync(file)) throw new UsageError(`${file} does not exist`);
      const dir = basename(dirname(file));
      const name = basename(file, extname(file));
      return people.has(dir) ? { file, person: dir, name } : { file, ...labelOf(basename(file)) };
    });
  }

  const judge = loadModel(judgePath);
  const metric: Metric = judge.distance;
  const gallery: Labelled[] = (await embedAll(judge, images)).map((embedding, i) => ({ ...labels[i], embedding }));
  const calibration = calibrate(gallery, metric);
  const threshold = opt.threshold !== undefined ? num(opt, 'threshold', 0) : calibration.threshold;
  const probeEmb = await embedAll(judge, probes.map((p) => readPng(p.file)));
  judge.dispose();
  const verdicts: Verdict[] = [];
  probes.forEach((p, i) => {
    const v = identify({ ...p, embedding: probeEmb[i] }, gallery, metric, threshold);
    if (!v) {
      process.stderr.write(`faceinv: ${p.file}: ${p.person} has no other photo in the gallery; not judged\n`);
      return;
    }
    verdicts.push(v);
    process.stderr.write(`${v.identified ? 'identified' : 'missed    '} ${v.file}: ${v.person} ${v.score.toFixed(3)}${v.clears ? ' (clears)' : ''}; rank 1 ${v.rank1} ${v.rank1Score.toFixed(3)}\n`);
  });
  const summary = summarize(verdicts, people.size);
  // The white-box side (must stay a match): the optimised model's distances of the reconstructions made here.
  const made = probes.filter((p) => p.distance !== undefined);
  const whiteBox = made.length
    ? { threshold: Number.isFinite(made[0].threshold!) ? made[0].threshold : null, mean: made.reduce((a, p) => a + p.distance!, 0) / made.length, max: Math.max(...made.map((p) => p.distance!)) }
    : null;
  if (whiteBox) process.stderr.write(`white box: distance to the target mean ${whiteBox.mean.toFixed(3)}, max ${whiteBox.max.toFixed(3)}${whiteBox.threshold !== null ? ` (threshold ${whiteBox.threshold})` : ''}\n`);
  process.stderr.write(
    `judge ${typeof opt.judge === 'string' ? opt.judge : 'mobileface'}: ${summary.identified}/${summary.judged} identified (${(100 * summary.rate).toFixed(1)} %, chance ${(100 * summary.chance).toFixed(1)} %), ` +
      `${summary.identifiedAndClears} also above the threshold ${threshold.toFixed(3)} (gallery pairs: same ${calibration.sameMean.toFixed(3)}, different ${calibration.differentMean.toFixed(3)}, balanced accuracy ${calibration.accuracy.toFixed(3)})\n`,
  );
  if (typeof opt.report === 'string') writeReport(opt.report, verdicts, files, labels, images, summary, threshold);
  // The networks that made the reconstructions (model first), so a reader can check the judge was not one.
  const optimised = opt.reconstruct ? [typeof opt.model === 'string' ? opt.model : DEFAULT_MODEL, ...ensembleSpecs(args, [judgePath]).map((p) => p.file)] : null;
  process.stdout.write(JSON.stringify({ judge: typeof opt.judge === 'string' ? opt.judge : 'mobileface', gallery: galleryRoot, people: people.size, photos: files.length, threshold, calibration, summary, white_box: whiteBox, optimised, verdicts }) + '\n');
  return 0;
}

/** [n, D] host data as n rows. */
const hostRows = (data: Float32Array, n: number) => Array.from({ length: n }, (_, k) => data.subarray((k * data.length) / n, ((k + 1) * data.length) / n));

/** A reconstruction to judge; made here, it has the white-box distance to its target and that model's threshold. */
type Made = { file: string; person: string; name: string; distance?: number; threshold?: number };

/** The photos to reconstruct: those of people with two or more, at most perPerson each (the first by name). */
function photosToReconstruct(labels: { person: string }[], people: Map<string, number>, perPerson: number): number[] {
  const taken = new Map<string, number>();
  return labels.map((_, i) => i).filter((i) => {
    const p = labels[i].person;
    if (people.get(p)! < 2 || (taken.get(p) ?? 0) >= perPerson) return false;
    taken.set(p, (taken.get(p) ?? 0) + 1);
    return true;
  });
}

type Members = Awaited<ReturnType<typeof ensembleOf>>['members'];
/** What every batch of a gallery's reconstructions shares. */
interface GalleryRun {
  model: FaceModel;
  s: Awaited<ReturnType<typeof settings>>['s'];
  /** The model's target embeddings, one per photo to reconstruct. */
  targets: Float32Array[];
  guideOne: Tensor;
  perTarget: Awaited<ReturnType<typeof guidesPerTarget>>;
  decoder: Decoder | null;
  batch: number;
  signal: { readonly aborted: boolean };
}

/** Every photo reconstructed, a batch at a time, with these ensemble members: each one's image and distance. */
async function reconstructSet(run: GalleryRun, members: Members, what: string): Promise<{ image: RgbImage; distance: number }[]> {
  const { model, s, targets, guideOne, perTarget, decoder } = run;
  const made: { image: RgbImage; distance: number }[] = [];
  for (let b = 0; b < targets.length && !run.signal.aborted; b += run.batch) {
    const B = Math.min(run.batch, targets.length - b);
    const guide = keep(perTarget ? model.pixels(perTarget.images.slice(b, b + B)) : tidy(() => (B === 1 ? O.clone(guideOne) : O.concat(Array.from({ length: B }, () => guideOne), 0))));
    const target = keep(O.tensor(Float32Array.from(targets.slice(b, b + B).flatMap((e) => Array.from(e))), [B, targets[0].length]));
    const batchOwned: { dispose(): void }[] = [];
    const start = decoder
      ? keep(tidy(() => noGrad(() => decoder.decode(target, decoder.config.kind === 'guided' ? guide : undefined, decoder.config.guideIndexCount > 0 ? Array(B).fill(0) : undefined))))
      : s.start;
    if (decoder) batchOwned.push(start as Tensor);
    // This batch's rows of each ensemble member's targets.
    const ensemble = members.map((m) => {
      const t = keep(tidy(() => O.slice(m.target, [b, 0], [b + B, m.target.shape[1]])));
      batchOwned.push(t);
      return { ...m, target: t };
    });
    const bar = new ProgressBar(s.iterations!, `photos ${b + 1}–${b + B} of ${targets.length}${what}`);
    const r = await reconstruct({ ...s, start, ensemble, model, target, guide, signal: run.signal, onProgress: (p) => bar.update(p.iteration, { distance: Math.max(...p.distance) }, p.rate) });
    bar.done();
    fromPlanes(await r.image.data(), B, model.imageSize, model.imageSize).forEach((image, k) => made.push({ image, distance: r.distance[k] }));
    for (const t of [r.image, guide, target, ...batchOwned]) t.dispose();
  }
  return made;
}

/**
 * The reconstructions to keep: the one set, or with --cross-check one set per ensemble member, made without it,
 * each photo's candidate the member left out scores highest (cross_check.ts).
 */
async function reconstructions(run: GalleryRun, members: Members, crossCheck: boolean, names: string[]) {
  const nets = members.map((m) => basename(m.model.module.name));
  if (!crossCheck) return reconstructSet(run, members, '');
  const made: { image: RgbImage; distance: number }[][] = [];
  for (const [m, net] of nets.entries()) made.push(await reconstructSet(run, members.filter((_, k) => k !== m), `, without ${net}`));
  const done = Math.min(...made.map((set) => set.length));
  const validators = await Promise.all(members.map(async (m) => ({ model: m.model, targets: hostRows(await m.target.data(), run.targets.length) })));
  const { pick, scores } = await pickByHeldOut(validators, made.map((set) => set.slice(0, done).map((x) => x.image)));
  pick.forEach((m, k) => process.stderr.write(`${names[k]}: kept the candidate made without ${nets[m]} (stand-out ${nets.map((n, v) => `${n} ${scores[v][k].toFixed(2)}`).join(', ')})\n`));
  return pick.map((m, k) => made[m][k]);
}

/** Reconstructs every photo of the people with two or more photos; returns the written files as probes. */
async function reconstructGallery(args: Parsed, files: string[], labels: { person: string; name: string }[], images: RgbImage[], people: Map<string, number>, judgePath: string) {
  const { opt, all } = args;
  const model = loadModel(opt.model);
  const todo = photosToReconstruct(labels, people, num(opt, 'per-person', Infinity, (v) => v === Infinity || (Number.isInteger(v) && v >= 1)));
  const names = todo.map((i) => `${labels[i].person}/${labels[i].name}`);
  const targets = await embedAll(model, todo.map((i) => images[i]));
  const guideOne = keep(pixelsOf(model, (all.guide?.length ? all.guide : [DEFAULT_GUIDE]).slice(0, 1)));
  let decoder: Decoder | null = null;
  if (typeof opt['start-decoder'] === 'string') {
    const { ckpt } = loadRun(opt['start-decoder']);
    decoder = Decoder.fromValues(ckpt.config, ckpt.params);
    if (decoder.config.outputSize !== model.imageSize) throw new UsageError(`--start-decoder: the decoder makes ${decoder.config.outputSize} px faces, the model takes ${model.imageSize}`);
  }
  // Settings (a fitted prior, a start image) and the ensemble's networks and targets: made once for all batches.
  const { s, owned } = await settings(model, args, guideOne);
  const ens = await ensembleOf(args, todo.map((i) => images[i]), [judgePath]);
  owned.push(ens);
  const crossCheck = !!opt['cross-check'];
  if (crossCheck && ens.members.length < 2) throw new UsageError('--cross-check needs an ensemble of two or more networks: one candidate per member, made without it');
  const perTarget = await guidesPerTarget(args, model, ens.members, targets, names);
  const sig = abortOnSigint('stopping after this batch');
  const probes: Made[] = [];
  try {
    const run: GalleryRun = { model, s, targets, guideOne, perTarget, decoder, batch: num(opt, 'batch', 8, (v) => Number.isInteger(v) && v >= 1), signal: sig.signal };
    (await reconstructions(run, ens.members, crossCheck, names)).forEach(({ image, distance }, k) => {
      const file = join(String(opt.out), labels[todo[k]].person, `${labels[todo[k]].name}.png`);
      mkdirSync(dirname(file), { recursive: true });
      writePng(file, image);
      probes.push({ file, ...labels[todo[k]], distance, threshold: model.threshold });
    });
  } finally {
    sig.release();
    guideOne.dispose();
    for (const x of owned) x.dispose();
    decoder?.dispose();
    model.dispose();
  }
  return probes;
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function writeReport(dir: string, verdicts: Verdict[], files: string[], labels: { person: string; name: string }[], images: RgbImage[], summary: ReturnType<typeof summarize>, threshold: number): void {
  mkdirSync(dir, { recursive: true });
  const S = 112;
  const photoOf = (person: string, name: string) => labels.findIndex((l) => l.person === person && l.name === name);
  /** The rank-1 person's photo that scored: the first of theirs other than the source (for the grid). */
  const anyPhoto = (person: string, except: string) => labels.findIndex((l) => l.person === person && l.name !== except);
  const cells: RgbImage[] = [];
  const blank: RgbImage = { width: S, height: S, data: new Float32Array(S * S * 3).fill(255) };
  const rows = verdicts.map((v) => {
    const src = photoOf(v.person, v.source);
    const match = anyPhoto(v.rank1, v.person === v.rank1 ? v.source : '');
    cells.push(src >= 0 ? toModelInput(images[src], S) : blank, toModelInput(readPng(v.file), S), match >= 0 ? toModelInput(images[match], S) : blank);
    const rel = (f: string) => escapeHtml(relative(dir, f));
    return `<tr class="${v.identified ? 'hit' : 'miss'}"><td>${src >= 0 ? `<img src="${rel(files[src])}">` : ''}</td><td><img src="${rel(v.file)}"></td><td>${match >= 0 ? `<img src="${rel(files[match])}">` : ''}</td>` +
      `<td>${escapeHtml(v.person)}</td><td>${v.score.toFixed(3)}${v.clears ? ' ✓' : ''}</td><td>${escapeHtml(v.rank1)}</td><td>${v.rank1Score.toFixed(3)}</td><td>${v.rank}</td></tr>`;
  });
  if (cells.length) writePng(join(dir, 'grid.png'), imageGrid(cells, 3));
  const html = `<!doctype html><meta charset="utf-8"><title>faceinv judge</title>
<style>body{font:14px system-ui;margin:2em}td,th{padding:4px 8px;text-align:left}img{width:112px}tr.hit td:nth-child(4){color:#070}tr.miss td:nth-child(4){color:#a00}</style>
<h1>Identification of reconstructions</h1>
<p>${summary.identified} of ${summary.judged} identified (${(100 * summary.rate).toFixed(1)} %; chance ${(100 * summary.chance).toFixed(1)} %);
${summary.identifiedAndClears} also at or above the same-person threshold ${threshold.toFixed(3)}. Mean similarity to the true person ${summary.meanScore.toFixed(3)}.</p>
<table><tr><th>source photo</th><th>reconstruction</th><th>rank-1 person's photo</th><th>person</th><th>similarity</th><th>rank 1</th><th>its similarity</th><th>rank</th></tr>
${rows.join('\n')}
</table>
`;
  writeText(join(dir, 'report.html'), html);
}
