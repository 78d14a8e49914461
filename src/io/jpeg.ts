// JPEG decoding for every runtime (Node, Deno, browsers): the markers are read here (frame size and precision
// before any decoding, EXIF orientation, Adobe colour transform), the entropy-coded data by jpeg-js (pure JS;
// baseline and progressive Huffman, grey, YCbCr, RGB and Adobe CMYK/YCCK). What jpeg-js cannot decode
// (12-bit, lossless and arithmetic-coded JPEGs) is refused from the header with a one-line error.
import { decode } from 'jpeg-js';
import type { RgbImage } from './image.ts';

/** JPEG bytes that cannot be decoded. */
export class JpegError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JpegError';
  }
}

/** True when the bytes start like a JPEG (SOI marker followed by another marker). */
export const isJpeg = (bytes: Uint8Array): boolean => bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;

export interface JpegHeader {
  width: number;
  height: number;
  /** Bits per sample (8 for ordinary JPEGs; 12 and 16 exist). */
  precision: number;
  components: number;
  /** The start-of-frame marker's low byte: 0xc0 baseline, 0xc1 extended, 0xc2 progressive, others unsupported. */
  frame: number;
  /** EXIF orientation (1..8; 1 when absent): how the stored pixels must be turned to be shown upright. */
  orientation: number;
}

/** The frame header and EXIF orientation, from the markers before the first scan; null when there is no frame header. */
export function readJpegHeader(bytes: Uint8Array): JpegHeader | null {
  let orientation = 1;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null;
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (length < 2 || at + 2 + length > bytes.length) return null;
    const body = at + 4;
    if (marker === 0xe1 && length >= 16) orientation = exifOrientation(bytes.subarray(body, at + 2 + length)) ?? orientation;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc && length >= 8) {
      return {
        precision: bytes[body],
        height: (bytes[body + 1] << 8) | bytes[body + 2],
        width: (bytes[body + 3] << 8) | bytes[body + 4],
        components: bytes[body + 5],
        frame: marker,
        orientation: orientationAfter(bytes, at + 2 + length, orientation),
      };
    }
    at += 2 + length;
  }
  return null;
}

// An APP1 segment after the frame header (rare, but allowed) may still carry the orientation.
function orientationAfter(bytes: Uint8Array, at: number, orientation: number): number {
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    if (marker === 0xda || marker === 0xd9) break;
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (length < 2 || at + 2 + length > bytes.length) break;
    if (marker === 0xe1 && length >= 16) orientation = exifOrientation(bytes.subarray(at + 4, at + 2 + length)) ?? orientation;
    at += 2 + length;
  }
  return orientation;
}

/** The Orientation tag (0x0112) of IFD0 in an APP1 "Exif" segment's body, or null. */
export function exifOrientation(app1: Uint8Array): number | null {
  if (app1.length < 14 || String.fromCharCode(...app1.subarray(0, 4)) !== 'Exif') return null;
  const tiff = app1.subarray(6);
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return null;
  const dv = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const u16 = (o: number) => dv.getUint16(o, little);
  const u32 = (o: number) => dv.getUint32(o, little);
  if (tiff.length < 8 || u16(2) !== 42) return null;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return null;
  const n = u16(ifd);
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + k * 12;
    if (e + 12 > tiff.length) return null;
    if (u16(e) === 0x0112) {
      const v = u16(e + 8);
      return v >= 1 && v <= 8 ? v : null;
    }
  }
  return null;
}

/**
 * The image turned upright from its EXIF orientation: 2 mirrored, 3 turned 180°, 4 flipped, 5 transposed,
 * 6 turned 90° clockwise, 7 transversed, 8 turned 90° anticlockwise.
 */
export function applyOrientation(img: RgbImage, orientation: number): RgbImage {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: W, height: H, data } = img;
  const swap = orientation >= 5;
  const ow = swap ? H : W;
  const oh = swap ? W : H;
  const out = new Float32Array(data.length);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let ix: number, iy: number;
      switch (orientation) {
        case 2: ix = W - 1 - ox; iy = oy; break;
        case 3: ix = W - 1 - ox; iy = H - 1 - oy; break;
        case 4: ix = ox; iy = H - 1 - oy; break;
        case 5: ix = oy; iy = ox; break;
        case 6: ix = oy; iy = H - 1 - ox; break;
        case 7: ix = W - 1 - oy; iy = H - 1 - ox; break;
        default: ix = W - 1 - oy; iy = ox; break; // 8
      }
      const i = (iy * W + ix) * 3;
      const o = (oy * ow + ox) * 3;
      out[o] = data[i];
      out[o + 1] = data[i + 1];
      out[o + 2] = data[i + 2];
    }
  }
  return { width: ow, height: oh, data: out };
}

/**
 * RGB 0..255 from JPEG bytes, turned upright by its EXIF orientation. `maxPixels` refuses a larger frame from
 * its header, before decoding. Every failure is a JpegError with one line naming `what`.
 */
export function decodeJpeg(bytes: Uint8Array, what = 'image', maxPixels = Infinity): RgbImage {
  const fail = (why: string): never => {
    throw new JpegError(`${what}: ${why}`);
  };
  if (!isJpeg(bytes)) fail('not a JPEG file');
  const h = readJpegHeader(bytes) ?? fail('not a readable JPEG (truncated or corrupt: no frame header before the image data)');
  if (h.frame === 0xc3 || h.frame === 0xc7 || h.frame === 0xcb || h.frame === 0xcf) fail('lossless JPEG is not supported (convert it to an ordinary 8-bit JPEG or a PNG)');
  if (h.frame >= 0xc9) fail('arithmetic-coded JPEG is not supported (convert it to an ordinary 8-bit JPEG or a PNG)');
  if (h.precision !== 8) fail(`${h.precision}-bit JPEG is not supported, only 8-bit (convert it to an 8-bit JPEG or a PNG)`);
  if (h.width === 0 || h.height === 0) fail(`not a readable JPEG (frame of ${h.width}×${h.height} pixels)`);
  if (h.components !== 1 && h.components !== 3 && h.components !== 4) fail(`not a readable JPEG (${h.components} colour components)`);
  const pixels = h.width * h.height;
  if (pixels > maxPixels) fail(`${h.width}×${h.height} is ${pixels} pixels, over the limit of ${maxPixels} (raise it with --max-pixels)`);
  let raw: { width: number; height: number; data: Uint8Array };
  try {
    raw = decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      tolerantDecoding: true,
      maxResolutionInMP: Math.ceil(pixels / 1e6) + 1,
      maxMemoryUsageInMB: Math.max(512, Math.ceil((pixels * 16) / 2 ** 20)),
    });
  } catch (e) {
    const why = String((e as Error)?.message ?? e).split('\n')[0];
    return fail(h.components === 4 && /color mode/i.test(why) ? 'CMYK JPEG without an Adobe marker is not supported (convert it to RGB)' : `not a readable JPEG (${why})`);
  }
  if (raw.width !== h.width || raw.height !== h.height) fail('not a readable JPEG (decoded size differs from its header)');
  const data = new Float32Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    data[i * 3] = raw.data[i * 4];
    data[i * 3 + 1] = raw.data[i * 4 + 1];
    data[i * 3 + 2] = raw.data[i * 4 + 2];
  }
  return applyOrientation({ width: raw.width, height: raw.height, data }, h.orientation);
}
