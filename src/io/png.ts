// Image files in Node: PNG read/write through pngjs (RGB, RGBA, grey, grey+alpha, 8 and 16 bit), and JPEG
// read (baseline and progressive, EXIF orientation applied) through jpeg.ts. Node only.
import { writeFileAtomic } from './atomic.ts';
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import type { RgbImage } from './image.ts';
import { decodeJpeg, isJpeg, JpegError } from './jpeg.ts';

export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

/** Decodes PNG bytes to RGB 0..255 (alpha dropped; 16-bit scaled to 8-bit range). */
export function decodePng(bytes: Uint8Array, what = 'image'): RgbImage {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (e) {
    throw new ImageError(`${what}: not a readable PNG (${(e as Error).message.split('\n')[0]})`);
  }
  const { width, height } = png;
  const depth16 = (png as unknown as { depth?: number }).depth === 16;
  const src = png.data as unknown as ArrayLike<number>;
  const scale = depth16 ? 255 / 65535 : 1;
  const data = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = src[i * 4 + c] * scale;
  return { width, height, data };
}

/**
 * The most pixels readImage decodes (an image takes 12 bytes a pixel as floats, more while decoding): a larger
 * file is refused from its header, before any decoding. 4096×4096 unless raised.
 */
export const DEFAULT_PIXEL_LIMIT = 4096 * 4096;
let pixelLimit = DEFAULT_PIXEL_LIMIT;
export function setPixelLimit(pixels: number): void {
  pixelLimit = pixels;
}

/** True when the bytes start like an image file readImage reads (PNG or JPEG). */
export function isImageFile(bytes: Uint8Array): boolean {
  return (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) || isJpeg(bytes);
}

/**
 * Reads a PNG or JPEG file (told apart by their first bytes, not the name) as RGB 0..255; a JPEG is turned
 * upright by its EXIF orientation. Files over the pixel limit are refused from their header; every failure is
 * one line naming the file (an ImageError).
 */
export function readImage(path: string): RgbImage {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageError(code === 'EISDIR' ? `${path}: is a directory, not an image file` : `${path}: cannot read (${code ?? (e as Error).message})`);
  }
  if (isJpeg(bytes)) {
    try {
      return decodeJpeg(bytes, path, pixelLimit);
    } catch (e) {
      throw e instanceof JpegError ? new ImageError(e.message) : e;
    }
  }
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== 0x89504e47) throw new ImageError(`${path}: not a PNG or JPEG file`);
  // IHDR follows the signature: length, 'IHDR', width, height.
  if (bytes.length >= 24 && bytes.toString('latin1', 12, 16) === 'IHDR') {
    const width = bytes.readUInt32BE(16);
    const height = bytes.readUInt32BE(20);
    if (width * height > pixelLimit) {
      throw new ImageError(`${path}: ${width}×${height} is ${width * height} pixels, over the limit of ${pixelLimit} (raise it with --max-pixels)`);
    }
  }
  return decodePng(bytes, path);
}

/** readImage under its first name (PNG was the only format): every caller reads JPEG too. */
export const readPng = readImage;

/** Writes RGB 0..255 as an 8-bit PNG, atomically (temp file + rename). */
export function writePng(path: string, img: RgbImage): void {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = Math.max(0, Math.min(255, Math.round(img.data[i * 3 + c])));
    png.data[i * 4 + 3] = 255;
  }
  writeFileAtomic(path, PNG.sync.write(png));
}
