// Where the model's chip lies in a sheet of face tiles (src/train/faces.ts LFW_FRAME): the face detector's
// 68-point alignment of every enlarged tile it finds a face in (on a flat surround, as readFaces pads a photo
// that fills its frame), each as the affine from the chip's unit square to the tile's, averaged. Then the
// same on the tiles as the frame resamples them: a frame that brings them to the chip leaves about the
// identity, [1, 0, 0, 0, 1, 0]. --chips DIR measures the same for a folder of ready 150-px chips (their
// framing against the model's chip: ../shared/gallery's, say).
//   node --import tsx bench/sheet-frame.ts [--sheet assets/lfw/faces-25px.png] [--chips DIR]
import { readPng } from '../src/io/png.ts';
import { init } from '../src/tensor/engine.ts';
import { alignFaces } from '../src/models/align.ts';
import { padImage, loadDetector, imageFiles } from '../src/cli/common.ts';
import { facesFromSheet, LFW_FRAME } from '../src/train/faces.ts';
import type { RgbImage, UnitAffine } from '../src/io/image.ts';
import { arg } from './args.ts';

await init();
const detector = loadDetector();
const S = 150;

/** The mean chip → image affine (unit squares) over the images a face is found in, and how many. */
async function meanFrame(images: RgbImage[]): Promise<{ found: number; frame: UnitAffine }> {
  const sum = [0, 0, 0, 0, 0, 0];
  let found = 0;
  for (const image of images) {
    const m = S / 2;
    const padded = padImage(image, m);
    let faces = await alignFaces(detector, padded, S);
    if (!faces.length) faces = (await alignFaces(detector, padded, S, { scoreThreshold: 0.2 })).slice(0, 1);
    if (!faces.length) continue;
    const t = faces[0].transform;
    [t[0], t[1], (t[2] - m) / image.width, t[3], t[4], (t[5] - m) / image.height].forEach((v, i) => (sum[i] += v));
    found++;
  }
  return { found, frame: sum.map((v) => Number((v / found).toFixed(5))) as UnitAffine };
}

const sheet = readPng(arg('sheet', 'assets/lfw/faces-25px.png'));
const asCut = facesFromSheet(sheet, S);
const measured = await meanFrame(asCut);
console.log(`tiles as cut: a face in ${measured.found} of ${asCut.length}; the chip in the tile: [${measured.frame.join(', ')}]`);
const reframed = await meanFrame(facesFromSheet(sheet, S, 25, LFW_FRAME));
console.log(`tiles through LFW_FRAME [${LFW_FRAME.join(', ')}]: a face in ${reframed.found}; the chip in them: [${reframed.frame.join(', ')}]`);
const dir = arg('chips');
const chips = dir ? await meanFrame(imageFiles(dir).map(readPng)) : null;
if (chips) console.log(`chips in ${dir}: a face in ${chips.found}; the model's chip in them: [${chips.frame.join(', ')}]`);
console.log(JSON.stringify({ tiles: asCut.length, measured, lfw_frame: LFW_FRAME, after: reframed, chips }));
process.exit(0);
