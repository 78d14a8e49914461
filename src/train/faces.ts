// The real faces bundled for decoder training: scikit-image's LFW subset (100 faces, 25×25 grey), stored as one
// 10×10 sheet (assets/lfw/faces-25px.png). Pure: the caller decodes the PNG.
import { resize, type RgbImage } from '../io/image.ts';

/** The sheet's 25×25 tiles, each enlarged (bilinear) to `size`. */
export function facesFromSheet(sheet: RgbImage, size: number, tile = 25): RgbImage[] {
  if (sheet.width % tile || sheet.height % tile) throw new RangeError(`face sheet ${sheet.width}×${sheet.height} is not a grid of ${tile}×${tile} tiles`);
  const cols = sheet.width / tile;
  const rows = sheet.height / tile;
  const out: RgbImage[] = [];
  for (let ty = 0; ty < rows; ty++)
    for (let tx = 0; tx < cols; tx++) {
      const data = new Float32Array(tile * tile * 3);
      for (let y = 0; y < tile; y++) data.set(sheet.data.subarray(((ty * tile + y) * sheet.width + tx * tile) * 3, ((ty * tile + y) * sheet.width + tx * tile + tile) * 3), y * tile * 3);
      out.push(resize({ width: tile, height: tile, data }, size, size, 'bilinear'));
    }
  return out;
}
