// Issue 8's measurement: the identification rate of reconstructions, judged by a network that took no part in
// making them, for the plain paper method and each identity lever. For every configuration it runs
// `faceinv judge --reconstruct` on the gallery (one reconstruction per person by default), then judges the same
// reconstructions with a second network too, and prints a Markdown table and, last, one JSON line.
//   npm run build && node --import tsx bench/identity.ts --gallery <dir> --out <dir> [--only a,b] [--per-person K]
//        [--judge mobileface] [--second-judge faceres] [--iterations N]
// Configurations already measured in --out (their judge JSON exists) are read, not run again.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';
import { readPng, writePng } from '../src/io/png.ts';
import { facesFromSheet } from '../src/train/faces.ts';

const arg = (name: string, def?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const gallery = arg('gallery');
const out = arg('out');
if (!gallery || !out) throw new Error('usage: identity.ts --gallery <dir> --out <dir> [--only a,b] [--per-person K] [--judge J] [--second-judge J] [--iterations N]');
const judge = arg('judge', 'mobileface')!;
const second = arg('second-judge', 'faceres')!;
const perPerson = arg('per-person', '1')!;
const iterations = arg('iterations');
const ensembleMember = judge === 'faceres' ? 'mobileface' : 'faceres';

/** Each lever alone, then combinations. Options of `faceinv judge --reconstruct` on top of the paper preset. */
export const CONFIGS: Record<string, string[]> = {
  paper: [],
  jitter: ['--jitter', '4,0.05,3'],
  gauss: ['--gauss-fit', join(out, 'prior-faces')],
  'gauss-0.1': ['--gauss-fit', join(out, 'prior-faces'), '--gauss-weight', '0.1'],
  'jitter-gauss': ['--jitter', '4,0.05,3', '--gauss-fit', join(out, 'prior-faces')],
  lapparam: ['--lap-param', '4'],
  decoder: ['--start-decoder', arg('decoder', 'out/cpu-run')!],
  ensemble: ['--ensemble', `assets/judges/${ensembleMember}.onnx:1`],
  lowguide: ['--guide-weight', '0.01'],
  noguide: ['--guide-weight', '0'],
  'noguide-jitter': ['--guide-weight', '0', '--jitter', '4,0.05,3'],
  'noguide-jitter-ensemble': ['--guide-weight', '0', '--jitter', '4,0.05,3', '--ensemble', `assets/judges/${ensembleMember}.onnx:1`],
  'jitter-lapparam': ['--jitter', '4,0.05,3', '--lap-param', '4'],
  // --preset identity is the jitter row; this re-runs it by name on a new gallery.
  identity: ['--preset', 'identity'],
};
const only = arg('only')?.split(',');
const names = only ?? Object.keys(CONFIGS);
for (const n of names) if (!CONFIGS[n]) throw new Error(`unknown configuration '${n}' (${Object.keys(CONFIGS).join(', ')})`);

mkdirSync(out, { recursive: true });
// Faces for the Gaussian prior: the LFW-subset faces the proxy gallery does not use (20 … 99).
if (names.some((n) => CONFIGS[n].includes(join(out, 'prior-faces'))) && !existsSync(join(out, 'prior-faces'))) {
  mkdirSync(join(out, 'prior-faces'), { recursive: true });
  facesFromSheet(readPng('assets/lfw/faces-25px.png'), 150).slice(20).forEach((f, i) => writePng(join(out, 'prior-faces', `f${i}.png`), f));
}

/** The reconstructions of a configuration: <dir>/<person>/<photo>.png (the report folder aside). */
const pngsOf = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'report')
    .flatMap((d) => readdirSync(join(dir, d.name)).filter((f) => f.endsWith('.png')).sort().map((f) => join(dir, d.name, f)))
    .sort();

const cli = (args: string[], log: string) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  writeFileSync(log, r.stderr);
  if (r.status !== 0) throw new Error(`faceinv ${args.join(' ')} failed (see ${log})`);
  return { json: JSON.parse(r.stdout.trim().split('\n').at(-1)!), seconds: (performance.now() - t0) / 1000 };
};

type Row = { name: string; rate: number; identified: number; judged: number; mean: number; rate2: number; mean2: number; whiteMean: number; whiteMax: number; seconds: number | null };
const rows: Row[] = [];
for (const name of names) {
  const dir = join(out, name);
  const first = join(out, `${name}.json`);
  let seconds: number | null = null;
  if (!existsSync(first)) {
    const args = ['judge', '--gallery', gallery, '--judge', judge, '--reconstruct', '--per-person', perPerson, '--out', dir, '--report', join(dir, 'report'), ...(iterations ? ['--iterations', iterations] : []), ...CONFIGS[name]];
    const r = cli(args, join(out, `${name}.log`));
    writeFileSync(first, JSON.stringify(r.json) + '\n');
    seconds = r.seconds;
  }
  const j = JSON.parse(readFileSync(first, 'utf8'));
  const secondFile = join(out, `${name}.${second}.json`);
  if (!existsSync(secondFile)) {
    const files = pngsOf(dir);
    writeFileSync(secondFile, JSON.stringify(cli(['judge', '--gallery', gallery, '--judge', second, ...files], join(out, `${name}.${second}.log`)).json) + '\n');
  }
  const k = JSON.parse(readFileSync(secondFile, 'utf8'));
  // The white-box side, recomputed from the written PNGs: the default model's distance of each reconstruction
  // to its source photo (the target it was made for).
  const recs = pngsOf(dir);
  const sources = recs.map((f) => join(gallery, basename(dirname(f)), basename(f)));
  const emb = spawnSync(process.execPath, ['dist/cli.js', 'embed', ...recs, ...sources], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (emb.status !== 0) throw new Error(`faceinv embed failed: ${emb.stderr}`);
  const e = emb.stdout.trim().split('\n').map((l) => JSON.parse(l).embedding as number[]);
  const white = recs.map((_, i) => Math.sqrt(e[i].reduce((s, v, d) => s + (v - e[i + recs.length][d]) ** 2, 0)));
  rows.push({
    name,
    rate: j.summary.rate,
    identified: j.summary.identified,
    judged: j.summary.judged,
    mean: j.summary.meanScore,
    rate2: k.summary.rate,
    mean2: k.summary.meanScore,
    whiteMean: white.reduce((a, b) => a + b, 0) / white.length,
    whiteMax: Math.max(...white),
    seconds,
  });
  console.error(`${name}: ${j.summary.identified}/${j.summary.judged} by ${judge}, ${k.summary.identified}/${k.summary.judged} by ${second}`);
}
const chance = rows.length ? 1 / JSON.parse(readFileSync(join(out, `${names[0]}.json`), 'utf8')).people : 0;
console.log(`| configuration | identified (${judge}) | mean similarity (${judge}) | identified (${second}) | mean similarity (${second}) | white-box distance mean / max |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  // A network that took part in the optimisation is no judge of it.
  const tookPart = CONFIGS[r.name].some((a) => a.includes(`judges/${second}.onnx`));
  const col2 = tookPart ? `(${second} took part) | |` : `${(100 * r.rate2).toFixed(0)} % | ${r.mean2.toFixed(3)} |`;
  console.log(`| ${r.name} | ${r.identified}/${r.judged} (${(100 * r.rate).toFixed(0)} %) | ${r.mean.toFixed(3)} | ${col2} ${r.whiteMean.toFixed(3)} / ${r.whiteMax.toFixed(3)} |`);
}
console.log(`chance: ${(100 * chance).toFixed(1)} %`);
console.log(JSON.stringify({ gallery, judge, second, rows }));
