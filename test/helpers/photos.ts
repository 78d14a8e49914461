// Synthetic photos: a face chip pasted, turned, scaled and shifted into a larger canvas (bilinear, on the host),
// for the detector and alignment tests.
import type { RgbImage } from '../../src/io/image.ts';

export interface Paste {
  width: number;
  height: number;
  /** Radians, anticlockwise on screen. */
  angle: number;
  /** Chip pixels → photo pixels. */
  scale: number;
  /** Where the chip's centre lands. */
  cx: number;
  cy: number;
}

/** The chip pasted into a canvas of smooth grey-blue background with a little deterministic texture. */
export function pasteChip(chip: RgbImage, p: Paste): RgbImage {
  const { width: W, height: H } = p;
  const data = new Float32Array(W * H * 3);
  const cos = Math.cos(p.angle);
  const sin = Math.sin(p.angle);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      // Photo pixel centre → chip coordinates (pixel centres at k + ½).
      const dx = x + 0.5 - p.cx;
      const dy = y + 0.5 - p.cy;
      const u = (cos * dx - sin * dy) / p.scale + chip.width / 2 - 0.5;
      const v = (sin * dx + cos * dy) / p.scale + chip.height / 2 - 0.5;
      const o = (y * W + x) * 3;
      if (u < 0 || v < 0 || u > chip.width - 1 || v > chip.height - 1) {
        const t = 0.5 + 0.5 * Math.sin(x * 0.05) * Math.cos(y * 0.04);
        data[o] = 90 + 40 * t;
        data[o + 1] = 100 + 30 * t;
        data[o + 2] = 120 + 20 * t;
        continue;
      }
      const u0 = Math.floor(u), v0 = Math.floor(v);
      const u1 = Math.min(u0 + 1, chip.width - 1), v1 = Math.min(v0 + 1, chip.height - 1);
      const tu = u - u0, tv = v - v0;
      for (let c = 0; c < 3; c++) {
        const q = (yy: number, xx: number) => chip.data[(yy * chip.width + xx) * 3 + c];
        data[o + c] = (1 - tv) * ((1 - tu) * q(v0, u0) + tu * q(v0, u1)) + tv * ((1 - tu) * q(v1, u0) + tu * q(v1, u1));
      }
    }
  return { width: W, height: H, data };
}
