// Writes a stand-in gallery for `faceinv judge` from the bundled faces: the sample face and the first K faces
// of the LFW-subset sheet, each as <out>/p<i>/a.png with its mirror image as <out>/p<i>/b.png, the person's
// "other photo". It exercises the identity measurement with no labelled photos at hand; a mirror image is far
// easier to match than another photo of the same person, so its figures are no substitute for a real gallery.
//   node --import tsx scripts/make-proxy-gallery.ts <out dir> [K = 15]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readPng, writePng } from '../src/io/png.ts';
import { facesFromSheet } from '../src/train/faces.ts';
import { mirrorImage } from '../src/io/image.ts';

const [out, k = '15'] = process.argv.slice(2);
if (!out) throw new Error('usage: make-proxy-gallery.ts <out dir> [K]');
const faces = [readPng('assets/faces/astronaut.png'), ...facesFromSheet(readPng('assets/lfw/faces-25px.png'), 150).slice(0, Number(k))];
faces.forEach((f, i) => {
  mkdirSync(join(out, `p${i}`), { recursive: true });
  writePng(join(out, `p${i}`, 'a.png'), f);
  writePng(join(out, `p${i}`, 'b.png'), mirrorImage(f));
});
console.log(`wrote ${faces.length} people, 2 photos each, to ${out}`);
