// The real faces bundled for decoder training: scikit-image's LFW subset (100 faces, 25×25 grey), stored as one
// 10×10 sheet (assets/lfw/faces-25px.png). Pure: the caller decodes the PNG.
import { resize, type RgbImage } from '../io/image.ts';

/** An affine map from the output's unit square to a tile's: (x, y) → (a·x + b·y + c, d·x + e·y + f). */
export type Frame = [number, number, number, number, number, number];

/**
 * Where the model's chip (dlib's 150-px template, as `faceinv crop` and assets/faces/astronaut.png frame a face)
 * lies in the bundled sheet's tiles: the mean of the 68-point alignments that the face detector finds in the
 * enlarged tiles (47 of 100; `node --import tsx bench/sheet-frame.ts`). The LFW crops hold their faces about
 * 7 % of their width further left than the chip does, 2 % lower and 2 % smaller, turned by 2°: trained on as
 * cut, a decoder learns the sheet's framing for most of its faces and the chip's for the photos.
 */
export const LFW_FRAME: Frame = [0.9804, 0.03996, -0.07975, -0.03996, 0.9804, 0.05187];

/**
 * The sheet's 25×25 tiles, each enlarged (bilinear) to `size`; with `frame`, each resampled through it
 * (bilinear, edge pixels repeated past the tile) so that its face lies where the frame says.
 */
export function facesFromSheet(sheet: RgbImage, size: number, tile = 25, frame?: Frame): RgbImage[] {
  if (sheet.width % tile || sheet.height % tile) throw new RangeError(`face sheet ${sheet.width}×${sheet.height} is not a grid of ${tile}×${tile} tiles`);
  const cols = sheet.width / tile;
  const rows = sheet.height / tile;
  const out: RgbImage[] = [];
  for (let ty = 0; ty < rows; ty++)
    for (let tx = 0; tx < cols; tx++) {
      const data = new Float32Array(tile * tile * 3);
      for (let y = 0; y < tile; y++) data.set(sheet.data.subarray(((ty * tile + y) * sheet.width + tx * tile) * 3, ((ty * tile + y) * sheet.width + tx * tile + tile) * 3), y * tile * 3);
      const t = { width: tile, height: tile, data };
      out.push(frame ? reframe(t, size, frame) : resize(t, size, size, 'bilinear'));
    }
  return out;
}

/** A `size`-pixel image of the square `img` seen through `frame` (pixel centres mapped, bilinear, edges clamped). */
function reframe(img: RgbImage, size: number, [a, b, c, d, e, f]: Frame): RgbImage {
  const n = img.width;
  const data = new Float32Array(size * size * 3);
  const at = (x: number, y: number, ch: number) => img.data[(Math.min(Math.max(y, 0), n - 1) * n + Math.min(Math.max(x, 0), n - 1)) * 3 + ch];
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const [u, v] = [(x + 0.5) / size, (y + 0.5) / size];
      const px = (a * u + b * v + c) * n - 0.5;
      const py = (d * u + e * v + f) * n - 0.5;
      const [x0, y0] = [Math.floor(px), Math.floor(py)];
      const [fx, fy] = [px - x0, py - y0];
      for (let ch = 0; ch < 3; ch++) {
        const top = at(x0, y0, ch) * (1 - fx) + at(x0 + 1, y0, ch) * fx;
        const bottom = at(x0, y0 + 1, ch) * (1 - fx) + at(x0 + 1, y0 + 1, ch) * fx;
        data[(y * size + x) * 3 + ch] = top * (1 - fy) + bottom * fy;
      }
    }
  return { width: size, height: size, data };
}
