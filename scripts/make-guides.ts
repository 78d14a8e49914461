// Makes the bundled guide faces (assets/guides/*.png) and the LFW face sheet (assets/lfw/faces-25px.png):
// - cartoon faces from the npm package facesjs (Apache-2.0), rasterised with @resvg/resvg-js and cropped to the
//   framing of dlib's 150×150 face chips (eyes about a third of the way down, 40% of the width apart). facesjs
//   draws with Math.random, so a seeded generator stands in for it: the same files come out each time.
// - lfw-average.png: the mean of the 100 faces (25×25 grey) of scikit-image's lfw_subset.npy (Debian package
//   python3-skimage), enlarged bilinearly: an "average face" like those the paper used as guides (§5.1).
// To regenerate (facesjs is no dependency of faceinv; python3-skimage is only read):
//   apt-get install python3-skimage && npm install --no-save facesjs && node --import tsx scripts/make-guides.ts
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePng, writePng } from '../src/io/png.ts';
import { resize, type RgbImage } from '../src/io/image.ts';

const { generate, faceToSvgString } = (await import('facesjs' as string)) as {
  generate: (o?: object, opts?: object) => unknown;
  faceToSvgString: (f: unknown) => string;
};
const { Resvg } = await import('@resvg/resvg-js');

const guides: [string, object, number][] = [
  ['cartoon-female', { gender: 'female', race: 'white' }, 7],
  ['cartoon-male', { gender: 'male', race: 'white' }, 11],
  ['cartoon-female-asian', { gender: 'female', race: 'asian' }, 5],
  ['cartoon-male-black', { gender: 'male', race: 'black' }, 3],
];
// No glasses, hats or beards: the guide should show a plain face.
const plain = { glasses: { id: 'none' }, accessories: { id: 'none' }, facialHair: { id: 'none' } };

function crop(img: RgbImage, x0: number, y0: number, side: number): RgbImage {
  const data = new Float32Array(side * side * 3);
  for (let y = 0; y < side; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + side) * 3), y * side * 3);
  return { width: side, height: side, data };
}

const out = join(import.meta.dirname, '..', 'assets', 'guides');
for (const [name, opts, seed] of guides) {
  let s = seed;
  Math.random = () => ((s = (s * 1664525 + 1013904223) >>> 0), s / 2 ** 32);
  const svg = faceToSvgString(generate(plain, opts));
  // 400×600 rendering: the eyes sit near (135, 315) and (265, 315).
  const png = new Resvg(svg, { fitTo: { mode: 'width', value: 400 }, background: 'rgb(190,190,190)' }).render().asPng();
  const full = decodePng(png, name);
  writePng(join(out, `${name}.png`), resize(crop(full, 38, 211, 325), 150, 150, 'area'));
  console.log(`wrote assets/guides/${name}.png`);
}

const LFW = process.env.LFW_SUBSET ?? '/usr/lib/python3/dist-packages/skimage/data/lfw_subset.npy';
if (!existsSync(LFW)) throw new Error(`${LFW} is missing: install python3-skimage (or set LFW_SUBSET to the file)`);
const npy = readFileSync(LFW);
const headerLen = npy.readUInt16LE(8);
const header = npy.subarray(10, 10 + headerLen).toString();
if (!header.includes("'<f8'") || !header.includes('(200, 25, 25)')) throw new Error(`${LFW}: expected float64 (200, 25, 25), header ${header}`);
const faces = new Float64Array(npy.buffer.slice(npy.byteOffset + 10 + headerLen, npy.byteOffset + npy.length));
// The first 100 of the 200 images are faces (the rest are background patches); values 0..1.
const mean = new Float32Array(25 * 25 * 3);
for (let k = 0; k < 100; k++) for (let i = 0; i < 625; i++) for (let c = 0; c < 3; c++) mean[i * 3 + c] += (faces[k * 625 + i] * 255) / 100;
writePng(join(out, 'lfw-average.png'), resize({ width: 25, height: 25, data: mean }, 150, 150, 'bilinear'));
console.log('wrote assets/guides/lfw-average.png');
// The 100 faces themselves as one 10×10 sheet of 25×25 tiles: the real faces the decoders' embedding sampler
// is fitted on (src/train/faces.ts reads it back).
const sheet = new Float32Array(250 * 250 * 3);
for (let k = 0; k < 100; k++) {
  const [ty, tx] = [Math.floor(k / 10), k % 10];
  for (let i = 0; i < 625; i++) {
    const at = ((ty * 25 + Math.floor(i / 25)) * 250 + tx * 25 + (i % 25)) * 3;
    for (let c = 0; c < 3; c++) sheet[at + c] = Math.round(faces[k * 625 + i] * 255);
  }
}
writePng(join(out, '..', 'lfw', 'faces-25px.png'), { width: 250, height: 250, data: sheet });
console.log('wrote assets/lfw/faces-25px.png');
