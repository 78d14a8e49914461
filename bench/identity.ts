// Issue 13's protocol: do face networks that took no part in making a reconstruction recognise the person?
// Leave one network out: each network in turn is the judge and takes no part in the optimisation (not the
// model, not an ensemble member); the others are the model (dlib's, unless dlib judges) and its ensemble. For
// each lever configuration and each judge, `faceinv judge --reconstruct` reconstructs one photo per gallery
// person (by default) from its embeddings and identifies each reconstruction against the gallery without that
// photo (rank 1). --optimise lists the networks that may take part (all five by default); faceres takes part
// at 150 px (AS_MEMBER), as at its own 224 px it costs about four default-model steps. Beside each judge's rate: the default model's distance of the written PNG to its target,
// the judge's similarity to the person's other photos against the best other person, the tones (contrast, local
// light-dark detail and colour speckle, beside the photos'), and the time per reconstruction. Prints Markdown tables, writes a grid
// per configuration (source photo, then the reconstruction made without each judge), and last one JSON line.
//   npm run build && node --import tsx bench/identity.ts --gallery <dir> --out <dir> [--levers a,b]
//        [--judges mobileface,faceres,faceplugin,dlib,mobilefacenet] [--optimise dlib,mobileface,faceplugin] [--networks a,b]
//        [--per-person K] [--iterations N] [--batch B]
// --networks fixes the optimised networks (model first) instead of "all but the judge", to compare levers on
// one set; a judge may then be any network outside it.
// Runs already in --out (their JSON exists) are read, not made again.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';
import { readPng, writePng } from '../src/io/png.ts';
import { toModelInput, meanToneStats, type RgbImage, type ToneStats } from '../src/io/image.ts';
import { imageGrid } from '../src/io/plot.ts';
import { arg } from './args.ts';
import { NETWORKS } from './gallery.ts';

const gallery = arg('gallery');
const out = arg('out');
if (!gallery || !out) throw new Error('usage: identity.ts --gallery <dir> --out <dir> [--levers a,b] [--judges a,b] [--per-person K] [--iterations N] [--batch B]');
const perPerson = arg('per-person', '1')!;
const iterations = arg('iterations');
const batch = arg('batch', '13')!;

/**
 * How a network is run as an ensemble member when not at its own input size: faceres at the chip's 150 px
 * instead of 224 (about half the work; on the gallery's photos it still identifies 60 of 60 at rank 1).
 */
const AS_MEMBER: Record<string, string> = { faceres: '@150' };
/** Networks of one family count as one: none may take part when another of its family judges. */
const FAMILY: Record<string, string> = { 'faceres-deep': 'faceres' };
const familyOf = (n: string) => FAMILY[n] ?? n;

/**
 * Lever configurations: options of `faceinv judge --reconstruct`, and whether the networks other than the
 * judge join as an ensemble (otherwise the model works alone, and one set of reconstructions serves every
 * judge but the model).
 */
export const LEVERS: Record<string, { args: string[]; ensemble: boolean; members?: Record<string, string> }> = {
  paper: { args: ['--preset', 'paper'], ensemble: false },
  jitter: { args: ['--preset', 'paper', '--jitter', '4,0.05,3'], ensemble: false },
  ensemble: { args: ['--preset', 'paper'], ensemble: true },
  'ensemble-jitter': { args: ['--preset', 'paper', '--jitter', '4,0.05,3'], ensemble: true },
  'ensemble-diverse': { args: ['--preset', 'paper', '--jitter', '4,0.05,3', '--flip', '--colour-jitter', '0.1'], ensemble: true },
  'ensemble-diverse-tones': { args: ['--preset', 'paper', '--jitter', '4,0.05,3', '--flip', '--colour-jitter', '0.1', '--chroma-tv', '0.3', '--contrast', '30,0.2'], ensemble: true },
  'ensemble-diverse-tones-chromastep': { args: ['--preset', 'identity', '--chroma-step', '0.5'], ensemble: true },
  identity: { args: ['--preset', 'identity'], ensemble: true },
  'identity-caricature': { args: ['--preset', 'identity', '--caricature', '0.5'], ensemble: true },
  'identity-face-contrast': { args: ['--preset', 'identity', '--face-contrast', '30'], ensemble: true },
  'identity-guide-decay': { args: ['--preset', 'identity', '--guide-decay', '0.1'], ensemble: true },
  'identity-wide-jitter': { args: ['--preset', 'identity', '--jitter', '8,0.15,8'], ensemble: true },
  'identity-wide-jitter-400': { args: ['--preset', 'identity', '--jitter', '8,0.15,8', '--iterations', '400'], ensemble: true },
  // Paper §3 and §5.1: each target's guide the average of the 6 bundled LFW faces nearest it under the optimised networks.
  'identity-guide-average': { args: ['--preset', 'identity', '--guide-average', '6'], ensemble: true },
  // Views blurred toward half resolution at random: identity legible at the scales other networks read.
  'identity-blur-jitter': { args: ['--preset', 'identity', '--blur-jitter', '1'], ensemble: true },
  // Fresh pixel noise in every view (σ 12 of 255): identity carried only by detail coarser than the noise.
  'identity-noise': { args: ['--preset', 'identity', '--noise-jitter', '12'], ensemble: true },
  // The guide on dlib's two deeper layers only (pose and layout), none on its first two (edges and texture),
  // meant to free the faces of the faint second set of features (measured: they stay). dlib as the model only.
  'identity-deep-guide': { args: ['--preset', 'identity', '--guide-layers', 'conv128_2,conv256_2'], ensemble: true },
  // faceres weighted 3 in the ensemble: alone it draws the most recognisable face of the four, yet in the
  // ensemble it ends the least matched (cosine ≈ 0.8 to its target against 0.96 for faceplugin).
  'identity-faceres3': { args: ['--preset', 'identity'], ensemble: true, members: { faceres: '@150:3' } },
  // faceres at its own 224 px (the chip's 1.13 box resampled up, as it was trained) instead of 150.
  'identity-faceres224': { args: ['--preset', 'identity'], ensemble: true, members: { faceres: '' } },
  // A tenth of the paper's w_TV (0.01 falling to 0.001, the paper's quadratic form): the quadratic TV at 0.1 blurs
  // the faces to a quarter of a photo's local detail; at 0.01 features are drawn sharper (with ripples over the skin).
  'identity-tv01': { args: ['--preset', 'identity', '--tv', '0.01', '--tv-form', 'global', '--tv-alpha', '2'], ensemble: true },
  // The same with the finest pyramid level's steps halved and the next one's at 0.7 (pyramid parameters).
  'identity-tv01-lapw': { args: ['--preset', 'identity', '--tv', '0.01', '--tv-form', 'global', '--tv-alpha', '2', '--lap-param', '4', '--lap-weights', '0.5,0.7', '--lr', '1'], ensemble: true },
  // An edge-preserving TV instead of the quadratic one (per-pixel form, β = 1: Σ √(Δx² + Δy²), Rudin–Osher–Fatemi):
  // at the quadratic TV's low weight the networks' gradients draw wavy, ridged textures over the face; the L1 form
  // costs such ripples in proportion to their amplitude while a feature's edge costs no more than its height.
  // identity-tvl1-3 is --preset identity since 8afdf6c.
  'identity-tvl1': { args: ['--preset', 'identity', '--tv', '0.005', '--tv-form', 'pixel', '--tv-beta', '1'], ensemble: true },
  'identity-tvl1-3': { args: ['--preset', 'identity', '--tv', '0.003', '--tv-form', 'pixel', '--tv-beta', '1'], ensemble: true },
  // The preset given dlib's embedding alone (--ensemble none): what a decoder is given, so the iterative method's
  // counterpart of issue 20's one-pass faces. One set of reconstructions serves every judge but dlib.
  'identity-model-only': { args: ['--preset', 'identity', '--ensemble', 'none'], ensemble: false },
  // ALSUV's held-out validation: a candidate per ensemble member, made without it, scored by it; the best kept.
  'identity-cross-check': { args: ['--preset', 'identity', '--cross-check'], ensemble: true },
};
const levers = arg('levers', 'paper,identity')!.split(',');
const judges = arg('judges', 'mobileface,faceres,faceplugin,dlib,mobilefacenet')!.split(',');
for (const l of levers) if (!LEVERS[l]) throw new Error(`unknown lever configuration '${l}' (${Object.keys(LEVERS).join(', ')})`);
for (const j of judges) if (!NETWORKS[j]) throw new Error(`unknown network '${j}' (${Object.keys(NETWORKS).join(', ')})`);

const fixedNetworks = arg('networks')?.split(',');
const optimisable = arg('optimise', 'dlib,mobileface,faceplugin,faceres,mobilefacenet')!.split(',');
for (const n of [...(fixedNetworks ?? []), ...optimisable]) if (!NETWORKS[n]) throw new Error(`unknown network '${n}' (${Object.keys(NETWORKS).join(', ')})`);

/** The networks that may take part when `judge` judges: model first. */
function participants(judge: string, ensemble: boolean): string[] {
  if (fixedNetworks) {
    if (fixedNetworks.some((n) => familyOf(n) === familyOf(judge))) throw new Error(`--networks ${fixedNetworks.join(',')} includes the judge ${judge} (or its family)`);
    return ensemble ? fixedNetworks : fixedNetworks.slice(0, 1);
  }
  const others = optimisable.filter((n) => familyOf(n) !== familyOf(judge));
  const model = others.includes('dlib') ? 'dlib' : others[0];
  return ensemble ? [model, ...others.filter((n) => n !== model)] : [model];
}

const cli = (args: string[], log: string) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  writeFileSync(log, r.stderr);
  if (r.status !== 0) throw new Error(`faceinv ${args.join(' ')} failed (see ${log})`);
  return { json: JSON.parse(r.stdout.trim().split('\n').at(-1)!), seconds: (performance.now() - t0) / 1000 };
};

/** The reconstructions in a run's folder: <dir>/<person>/<photo>.png (the report aside). */
const pngsOf = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'report')
    .flatMap((d) => readdirSync(join(dir, d.name)).filter((f) => f.endsWith('.png')).sort().map((f) => join(dir, d.name, f)))
    .sort();
const sourceOf = (rec: string) => join(gallery, basename(dirname(rec)), basename(rec));
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** dlib's distance of each reconstruction to its source photo (the target it was made for). */
function dlibDistances(recs: string[]): number[] {
  const emb = spawnSync(process.execPath, ['dist/cli.js', 'embed', ...recs, ...recs.map(sourceOf)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (emb.status !== 0) throw new Error(`faceinv embed failed: ${emb.stderr}`);
  const e = emb.stdout.trim().split('\n').map((l) => JSON.parse(l).embedding as number[]);
  return recs.map((_, i) => Math.sqrt(e[i].reduce((s, v, d) => s + (v - e[i + recs.length][d]) ** 2, 0)));
}

type Verdict = { person: string; identified: boolean; score: number; bestOther: number };
type Row = {
  lever: string; judge: string; networks: string[]; identified: number; judged: number; rate: number; meanScore: number; meanBestOther: number;
  dlibMean: number; dlibMax: number; dlibUnder: number; tones: Tones; secondsPerFace: number | null; verdicts: Verdict[]; dir: string;
};
type Tones = ToneStats;
const meanTones = (files: string[]): Tones => meanToneStats(files.map(readPng));
mkdirSync(out, { recursive: true });
const rows: Row[] = [];
for (const lever of levers) {
  const { args, ensemble, members: memberSpecs } = LEVERS[lever];
  const asMember = { ...AS_MEMBER, ...memberSpecs };
  for (const judge of judges) {
    const nets = participants(judge, ensemble);
    const dir = join(out, lever, `${nets.join('+')}`);
    const file = join(out, lever, `${nets.join('+')}.judged-by-${judge}.json`);
    let seconds: number | null = null;
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      const made = existsSync(join(dir, 'made.json'));
      const common = ['--gallery', gallery, '--judge', NETWORKS[judge]];
      const [model, ...members] = nets;
      const cosine = model !== 'dlib';
      const r = made
        ? cli(['judge', ...common, ...pngsOf(dir)], file.replace(/json$/, 'log'))
        : cli(['judge', ...common, '--reconstruct', '--per-person', perPerson, '--batch', batch, '--out', dir, '--report', join(dir, 'report'),
          '--model', NETWORKS[model], ...(cosine ? ['--normalize'] : []), ...members.flatMap((m) => ['--ensemble', NETWORKS[m] + (asMember[m] ?? '')]), ...(iterations ? ['--iterations', iterations] : []), ...args], file.replace(/json$/, 'log'));
      if (!made) {
        seconds = r.seconds;
        writeFileSync(join(dir, 'made.json'), JSON.stringify({ networks: nets, args, seconds, count: r.json.summary.judged }) + '\n');
      }
      writeFileSync(file, JSON.stringify(r.json) + '\n');
    }
    const j = JSON.parse(readFileSync(file, 'utf8'));
    const made = JSON.parse(readFileSync(join(dir, 'made.json'), 'utf8'));
    const recs = pngsOf(dir);
    const d = dlibDistances(recs);
    rows.push({
      lever, judge, networks: nets, identified: j.summary.identified, judged: j.summary.judged, rate: j.summary.rate,
      meanScore: j.summary.meanScore, meanBestOther: j.summary.meanBestOther, dlibMean: mean(d), dlibMax: Math.max(...d), dlibUnder: d.filter((x) => x < 0.6).length,
      tones: meanTones(recs),
      secondsPerFace: made.seconds ? made.seconds / made.count : null,
      verdicts: j.verdicts.map((v: Verdict & { file: string }) => ({ person: v.person, identified: v.identified, score: v.score, bestOther: v.bestOther })),
      dir,
    });
    console.error(`${lever}, ${judge} judging (${nets.join(' + ')} optimised): ${j.summary.identified}/${j.summary.judged}`);
  }
}

// The photos' own tones, for scale.
const photoTones = meanTones([...new Set(rows.flatMap((r) => pngsOf(r.dir).map(sourceOf)))]);
const fmt = (v: number, k = 3) => v.toFixed(k);
console.log('| configuration | judge (held out) | optimised | identified | similarity: own / best other | dlib distance mean / max (< 0.6) | contrast: image / face | detail | colour noise | s per face |');
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.lever} | ${r.judge} | ${r.networks.join(' + ')} | **${r.identified}/${r.judged}** | ${fmt(r.meanScore)} / ${fmt(r.meanBestOther)} | ${fmt(r.dlibMean)} / ${fmt(r.dlibMax)} (${r.dlibUnder}/${r.judged}) | ${fmt(r.tones.contrast)} / ${fmt(r.tones.faceContrast)} | ${fmt(r.tones.detail, 4)} | ${fmt(r.tones.colourNoise, 4)} | ${r.secondsPerFace === null ? '' : r.secondsPerFace.toFixed(0)} |`);
}
console.log(`\nthe photos: contrast ${fmt(photoTones.contrast)} / ${fmt(photoTones.faceContrast)} (face), detail ${fmt(photoTones.detail, 4)}, colour noise ${fmt(photoTones.colourNoise, 4)}; chance 1/${JSON.parse(readFileSync(join(out, levers[0], `${rows[0].networks.join('+')}.judged-by-${rows[0].judge}.json`), 'utf8')).people}`);

// The protocol's ceiling: each judge identifying the source photos themselves, each against the gallery
// without it, as it judges the reconstructions made from them.
const sources = [...new Set(rows.flatMap((r) => pngsOf(r.dir).map(sourceOf)))].sort();
const ceiling = Object.fromEntries(judges.map((judge) => {
  const j = cli(['judge', '--gallery', gallery, '--judge', NETWORKS[judge], ...sources], join(out, `photos.judged-by-${judge}.log`)).json;
  return [judge, { identified: j.summary.identified, judged: j.summary.judged, meanScore: j.summary.meanScore, meanBestOther: j.summary.meanBestOther }];
}));
console.log('\nThe source photos themselves (the ceiling: each photo against the gallery without it):\n\n| judge | identified | similarity: own / best other |\n| --- | ---: | ---: |');
for (const [judge, c] of Object.entries(ceiling)) console.log(`| ${judge} | **${c.identified}/${c.judged}** | ${fmt(c.meanScore)} / ${fmt(c.meanBestOther)} |`);

// Per person: who each held-out judge identified, per configuration.
for (const lever of levers) {
  const mine = rows.filter((r) => r.lever === lever);
  const people = [...new Set(mine.flatMap((r) => r.verdicts.map((v) => v.person)))].sort();
  console.log(`\n${lever}, per person (✓ identified at rank 1):\n\n| person | ${mine.map((r) => r.judge).join(' | ')} |\n| --- |${mine.map(() => ' :---: |').join('')}`);
  for (const p of people) console.log(`| ${p} | ${mine.map((r) => (r.verdicts.find((v) => v.person === p)?.identified ? '✓' : '·')).join(' | ')} |`);
  // Grid: each person's source photo, then the reconstruction made without each judge.
  const dirs = [...new Set(mine.map((r) => r.dir))];
  const cells: RgbImage[] = [];
  for (const rec of pngsOf(dirs[0])) {
    cells.push(toModelInput(readPng(sourceOf(rec)), 112));
    for (const d of dirs) cells.push(toModelInput(readPng(join(d, basename(dirname(rec)), basename(rec))), 112));
  }
  writePng(join(out, `${lever}-grid.png`), imageGrid(cells, dirs.length + 1));
  console.log(`\ngrid: ${join(out, `${lever}-grid.png`)} (source photo, then the reconstructions made without: ${dirs.map((d) => `${basename(d)}`).join('; ')})`);
}
// All configurations side by side, reconstructions only (no gallery photo): a person per row, a column per
// configuration and set of optimised networks, in the order run.
const columns = [...new Set(rows.map((r) => r.dir))];
const people = pngsOf(columns[0]).map((f) => join(basename(dirname(f)), basename(f)));
writePng(join(out, 'reconstructions.png'), imageGrid(people.flatMap((p) => columns.map((d) => toModelInput(readPng(join(d, p)), 112))), columns.length));
console.log(`\nreconstructions only: ${join(out, 'reconstructions.png')} (columns: ${columns.map((d) => `${basename(dirname(d))} ${basename(d)}`).join('; ')})`);
const summary = Object.fromEntries(levers.map((l) => [l, Object.fromEntries(rows.filter((r) => r.lever === l).map((r) => [r.judge, { identified: r.identified, judged: r.judged, rate: r.rate, optimised: r.networks, dlib_under_06: r.dlibUnder, seconds_per_face: r.secondsPerFace, detail: r.tones.detail }]))]));
console.log(JSON.stringify({ gallery, photo_tones: photoTones, photo_ceiling: ceiling, levers: summary }));
