// How photo-like a set of images' tones are (src/io/image.ts toneStats, averaged): contrast over the chip and
// over its face region, local light-dark detail, and colour noise; with --photos <dir> the same for a gallery's
// photos, for scale. One JSON line per set.
//   node --import tsx bench/tones.ts <image.png ...> [--photos ../shared/gallery]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readPng } from '../src/io/png.ts';
import { meanToneStats } from '../src/io/image.ts';
import { arg } from './args.ts';

const mean = (files: string[]) => Object.fromEntries(Object.entries(meanToneStats(files.map(readPng))).map(([k, v]) => [k, Number(v.toFixed(4))]));
const pngsUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? pngsUnder(join(dir, f)) : f.endsWith('.png') ? [join(dir, f)] : []));
const photos = arg('photos');
const files = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--photos');
if (files.length) console.log(JSON.stringify({ name: 'tones', images: files.length, ...mean(files) }));
if (photos) console.log(JSON.stringify({ name: 'tones', photos, images: pngsUnder(photos).length, ...mean(pngsUnder(photos)) }));
