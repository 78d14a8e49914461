// Images on the host: RGB float32, HWC, values 0..255. PNG decoding (pngjs) lives in png.ts; this file is
// pure so the browser can use it too.

export interface RgbImage {
  width: number;
  height: number;
  /** HWC, RGB, 0..255. */
  data: Float32Array;
}

/** Centre crop to the largest square. */
export function centerCropSquare(img: RgbImage): RgbImage {
  const s = Math.min(img.width, img.height);
  const x0 = Math.floor((img.width - s) / 2);
  const y0 = Math.floor((img.height - s) / 2);
  const data = new Float32Array(s * s * 3);
  for (let y = 0; y < s; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + s) * 3), y * s * 3);
  return { width: s, height: s, data };
}

/**
 * Resizes with area averaging when shrinking (each output pixel averages the input area it covers, with
 * fractional weights at the edges) and bilinear interpolation (half-pixel centres) when enlarging.
 */
export function resize(img: RgbImage, width: number, height: number, method: 'auto' | 'area' | 'bilinear' = 'auto'): RgbImage {
  if (width === img.width && height === img.height) return img;
  const shrink = width <= img.width && height <= img.height;
  return (method === 'area' || (method === 'auto' && shrink) ? resizeArea : resizeBilinear)(img, width, height);
}

function resizeArea(img: RgbImage, W: number, H: number): RgbImage {
  const out = new Float32Array(W * H * 3);
  const sx = img.width / W;
  const sy = img.height / H;
  for (let oy = 0; oy < H; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < W; ox++) {
      const x0 = ox * sx;
      const x1 = x0 + sx;
      let r = 0, g = 0, b = 0, wsum = 0;
      for (let y = Math.floor(y0); y < Math.min(Math.ceil(y1), img.height); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(Math.ceil(x1), img.width); x++) {
          const w = wy * (Math.min(x + 1, x1) - Math.max(x, x0));
          const i = (y * img.width + x) * 3;
          r += w * img.data[i];
          g += w * img.data[i + 1];
          b += w * img.data[i + 2];
          wsum += w;
        }
      }
      const o = (oy * W + ox) * 3;
      out[o] = r / wsum;
      out[o + 1] = g / wsum;
      out[o + 2] = b / wsum;
    }
  }
  return { width: W, height: H, data: out };
}

function resizeBilinear(img: RgbImage, W: number, H: number): RgbImage {
  return resample(img, W, H, UNIT_IDENTITY);
}

/** An affine map between unit squares: (x, y) → (a·x + b·y + c, d·x + e·y + f). */
export type UnitAffine = [number, number, number, number, number, number];
/** The identity map: resample through it is the plain bilinear resize. */
export const UNIT_IDENTITY: Readonly<UnitAffine> = Object.freeze([1, 0, 0, 0, 1, 0]);

/**
 * A W × H image of `img` seen through `m`, which maps the output's unit square to the input's: each output
 * pixel centre mapped, bilinear, the sample point clamped to the image (edge pixels repeat past it) — the CPU
 * form of shaders/warp.wgsl's forward pass. The identity map is the plain bilinear resize.
 */
export function resample(img: RgbImage, W: number, H: number, [a, b, c, d, e, f]: Readonly<UnitAffine>): RgbImage {
  const out = new Float32Array(W * H * 3);
  const clampTo = (v: number, n: number) => Math.min(Math.max(v, 0), n - 1);
  for (let oy = 0; oy < H; oy++) {
    const v = (oy + 0.5) / H;
    for (let ox = 0; ox < W; ox++) {
      const u = (ox + 0.5) / W;
      const fx = clampTo((a * u + b * v + c) * img.width - 0.5, img.width);
      const fy = clampTo((d * u + e * v + f) * img.height - 0.5, img.height);
      const [x0, y0] = [Math.floor(fx), Math.floor(fy)];
      const [x1, y1] = [Math.min(x0 + 1, img.width - 1), Math.min(y0 + 1, img.height - 1)];
      const [tx, ty] = [fx - x0, fy - y0];
      for (let ch = 0; ch < 3; ch++) {
        const p = (y: number, x: number) => img.data[(y * img.width + x) * 3 + ch];
        out[(oy * W + ox) * 3 + ch] = (1 - ty) * ((1 - tx) * p(y0, x0) + tx * p(y0, x1)) + ty * ((1 - tx) * p(y1, x0) + tx * p(y1, x1));
      }
    }
  }
  return { width: W, height: H, data: out };
}

/** The image mirrored left to right. */
export function mirrorImage(img: RgbImage): RgbImage {
  const data = new Float32Array(img.data.length);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) data.set(img.data.subarray((y * img.width + img.width - 1 - x) * 3, (y * img.width + img.width - x) * 3), (y * img.width + x) * 3);
  return { width: img.width, height: img.height, data };
}

/** The square input a face model wants: centre crop, then resize to size × size. */
export function toModelInput(img: RgbImage, size: number): RgbImage {
  return resize(centerCropSquare(img), size, size);
}

/** Images from NCHW planes (a [N, 3, H, W] tensor's values, 0..255) to HWC RGB images. */
export function fromPlanes(data: Float32Array, n: number, height: number, width: number): RgbImage[] {
  const plane = height * width;
  return Array.from({ length: n }, (_, k) => {
    const out = new Float32Array(plane * 3);
    for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = data[(k * 3 + c) * plane + i];
    return { width, height, data: out };
  });
}

/** A box blur of a W×H plane with radius r (edges clamped), horizontally then vertically. */
function boxBlur(plane: Float64Array, W: number, H: number, r: number): Float64Array {
  const pass = (src: Float64Array, horizontal: boolean) => {
    const out = new Float64Array(src.length);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let k = -r; k <= r; k++) {
          const xx = horizontal ? Math.min(W - 1, Math.max(0, x + k)) : x;
          const yy = horizontal ? y : Math.min(H - 1, Math.max(0, y + k));
          s += src[yy * W + xx];
        }
        out[y * W + x] = s / (2 * r + 1);
      }
    }
    return out;
  };
  return pass(pass(plane, true), false);
}

/**
 * How photo-like an image's tones are, in 0..1 units: `contrast`, the standard deviation of its luminance
 * (Rec. 601; face photos about 0.18–0.29), `faceContrast`, the same over the central 60 % of each side (a
 * face chip's face: the gallery's photos about 0.18, a pale face on a dark ground far less), and
 * `colourNoise`, how much of its local detail is colour rather than light and dark: the RMS of the chroma (each channel minus the luminance) over the RMS of the
 * luminance, both after taking away a broad blur (two box passes of radius 6). In a photo colour changes
 * mostly where brightness does (the gallery's face photos: about 0.23); speckle and blotches of colour on a washed-out
 * face raise it. `detail` is that local light-dark detail itself, the RMS of the luminance after taking away
 * the broad blur: edges, eyes, hair — what a soft, hazy face lacks however wide its overall range.
 */
export function toneStats(img: RgbImage): { contrast: number; faceContrast: number; colourNoise: number; detail: number } {
  const { width: W, height: H, data } = img;
  const n = W * H;
  const lum = new Float64Array(n);
  for (let i = 0; i < n; i++) lum[i] = (0.299 * data[i * 3] + 0.587 * data[i * 3 + 1] + 0.114 * data[i * 3 + 2]) / 255;
  const sd = (v: Float64Array) => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / v.length);
  };
  const inFace = (i: number) => [i % W, Math.floor(i / W)].every((c, k) => c >= Math.round(0.2 * (k ? H : W)) && c < Math.round(0.8 * (k ? H : W)));
  const [contrast, faceContrast] = [sd(lum), sd(lum.filter((_, i) => inFace(i)))];
  const detail = (plane: Float64Array) => {
    const broad = boxBlur(boxBlur(plane, W, H, 6), W, H, 6);
    return plane.reduce((a, v, i) => a + (v - broad[i]) ** 2, 0) / n;
  };
  let colour = 0;
  for (let c = 0; c < 3; c++) colour += detail(Float64Array.from(lum, (l, i) => data[i * 3 + c] / 255 - l)) / 3;
  const lumDetail = detail(lum);
  return { contrast, faceContrast, colourNoise: Math.sqrt(colour / Math.max(lumDetail, 1e-12)), detail: Math.sqrt(lumDetail) };
}

export type ToneStats = ReturnType<typeof toneStats>;

/** toneStats averaged over a set of images, measure by measure. */
export function meanToneStats(images: RgbImage[]): ToneStats {
  const t = images.map(toneStats);
  const avg = (k: keyof ToneStats) => t.reduce((a, x) => a + x[k], 0) / t.length;
  return { contrast: avg('contrast'), faceContrast: avg('faceContrast'), colourNoise: avg('colourNoise'), detail: avg('detail') };
}
