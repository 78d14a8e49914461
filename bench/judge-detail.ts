// How much detail does each judge need? The gallery's photos that bench/decoder-identity.ts decodes (the first
// of each person by name) are shrunk to S px and enlarged back to the 150-px chip (bilinear both ways), and
// each judge identifies them at rank 1 against the gallery without that photo, as it does the decoded faces:
// a decoder whose faces hold detail down to S px can expect at most about what the photos score at S.
// --align first brings each photo to the model's chip by its landmarks (as decoders trained with aligned faces
// draw them, and the iterative method's faces lie); the gallery it is judged against stays as it is.
// Prints a Markdown table, then one JSON line.
//   npm run build && node --import tsx bench/judge-detail.ts --gallery <dir> --out <dir> [--sizes 12,24,38,150] [--judges mobileface,faceres,faceplugin,mobilefacenet] [--align]
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPng, writePng } from '../src/io/png.ts';
import { resize, toModelInput } from '../src/io/image.ts';
import { arg } from './args.ts';
import { init } from '../src/tensor/engine.ts';
import { firstPhotos, alignedPhoto } from './gallery.ts';

const gallery = arg('gallery');
const out = arg('out');
if (!gallery || !out) throw new Error('usage: judge-detail.ts --gallery <dir> --out <dir> [--sizes a,b] [--judges a,b]');
const sizes = arg('sizes', '12,24,38,150').split(',').map(Number);
const judges = arg('judges', 'mobileface,faceres,faceplugin,mobilefacenet').split(',');
const sources = firstPhotos(gallery);
const align = process.argv.includes('--align');
if (align) await init();
const photos = await Promise.all(
  sources.map(async (s) => {
    const file = join(gallery, s.person, s.photo);
    return align ? await alignedPhoto(file) : toModelInput(readPng(file), 150);
  }),
);

const rows = sizes.map((S) => {
  const files = sources.map((s, i) => {
    const chip = photos[i];
    const dir = join(out, `${S}px`, s.person);
    mkdirSync(dir, { recursive: true });
    const f = join(dir, s.photo);
    writePng(f, S >= 150 ? chip : resize(resize(chip, S, S, 'bilinear'), 150, 150, 'bilinear'));
    return f;
  });
  const identified = Object.fromEntries(
    judges.map((j) => {
      const r = spawnSync(process.execPath, ['dist/cli.js', 'judge', '--gallery', gallery, '--judge', j, ...files], { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status !== 0) throw new Error(`judge ${j} failed: ${r.stderr.split('\n').slice(-3).join(' ')}`);
      return [j, JSON.parse(r.stdout.trim().split('\n').at(-1)!).summary.identified as number];
    }),
  );
  return { size: S, identified };
});

console.log(`| photos' detail | ${judges.join(' | ')} |\n| --- |${judges.map(() => ' ---: |').join('')}`);
for (const r of rows) console.log(`| ${r.size >= 150 ? 'as taken (150-px chip)' : `${r.size} px`} | ${judges.map((j) => `${r.identified[j]}/${sources.length}`).join(' | ')} |`);
const result = { gallery, judged: sources.length, aligned: align, rows };
writeFileSync(join(out, 'result.json'), JSON.stringify(result) + '\n');
console.log(JSON.stringify(result));
process.exit(0);
