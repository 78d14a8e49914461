// The real faces bundled for decoder training: scikit-image's LFW subset (100 faces, 25×25 grey), stored as one
// 10×10 sheet (assets/lfw/faces-25px.png). Pure: the caller decodes the PNG.
import { resample, UNIT_IDENTITY, type RgbImage, type UnitAffine } from '../io/image.ts';

/**
 * Where the model's chip (dlib's 150-px template, as `faceinv crop` and assets/faces/astronaut.png frame a face)
 * lies in the bundled sheet's tiles: the mean of the 68-point alignments that the face detector finds in the
 * enlarged tiles (47 of 100; `node --import tsx bench/sheet-frame.ts`). The LFW crops hold their faces about
 * 7 % of their width further left than the chip does, 2 % lower and 2 % smaller, turned by 2°: trained on as
 * cut, a decoder learns the sheet's framing for most of its faces and the chip's for the photos.
 */
export const LFW_FRAME: UnitAffine = [0.9804, 0.03996, -0.07975, -0.03996, 0.9804, 0.05187];

/**
 * The sheet's 25×25 tiles, each enlarged (bilinear) to `size`; with `frame`, each resampled through it
 * (bilinear, edge pixels repeated past the tile) so that its face lies where the frame says.
 */
export function facesFromSheet(sheet: RgbImage, size: number, tile = 25, frame?: UnitAffine): RgbImage[] {
  if (sheet.width % tile || sheet.height % tile) throw new RangeError(`face sheet ${sheet.width}×${sheet.height} is not a grid of ${tile}×${tile} tiles`);
  const cols = sheet.width / tile;
  const rows = sheet.height / tile;
  const out: RgbImage[] = [];
  for (let ty = 0; ty < rows; ty++)
    for (let tx = 0; tx < cols; tx++) {
      const data = new Float32Array(tile * tile * 3);
      for (let y = 0; y < tile; y++) data.set(sheet.data.subarray(((ty * tile + y) * sheet.width + tx * tile) * 3, ((ty * tile + y) * sheet.width + tx * tile + tile) * 3), y * tile * 3);
      const t = { width: tile, height: tile, data };
      out.push(resample(t, size, size, frame ?? UNIT_IDENTITY));
    }
  return out;
}
