// JPEG input: baseline, progressive, grey and Adobe CMYK decode to the picture they were written from; EXIF
// orientation turns the pixels upright; what cannot be decoded (corrupt, truncated, 12-bit, lossless, too
// large) is one line naming the file. Fixtures: test/fixtures/jpeg/, written by Pillow from reference.png
// (a 40×30 resize of the bundled sample face); the orientN.jpg files hold it turned so that tag N puts it back.
import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { decodeJpeg, readJpegHeader, applyOrientation, JpegError } from '../src/io/jpeg.ts';
import { readImage, readPng, setPixelLimit, DEFAULT_PIXEL_LIMIT, ImageError } from '../src/io/png.ts';
import type { RgbImage } from '../src/io/image.ts';

const DIR = 'test/fixtures/jpeg';
const ref = readPng(join(DIR, 'reference.png'));
const bytes = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));

function diff(a: RgbImage, b: RgbImage): { mean: number; max: number } {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let s = 0, m = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    s += d;
    m = Math.max(m, d);
  }
  return { mean: s / a.data.length, max: m };
}

describe('JPEG decoding', () => {
  it('baseline, progressive, grey and CMYK JPEGs decode to the picture they were written from', () => {
    for (const [f, mean] of [['baseline.jpg', 2], ['progressive.jpg', 5], ['cmyk.jpg', 3]] as const) {
      const d = diff(decodeJpeg(bytes(f), f), ref);
      expect(d.mean, f).toBeLessThan(mean);
    }
    expect(readJpegHeader(bytes('progressive.jpg'))!.frame).toBe(0xc2);
    expect(readJpegHeader(bytes('cmyk.jpg'))!.components).toBe(4);
    // Grey: every channel the same, close to the reference's luminance.
    const g = decodeJpeg(bytes('grey.jpg'));
    let s = 0;
    for (let i = 0; i < 40 * 30; i++) {
      expect(g.data[i * 3]).toBe(g.data[i * 3 + 2]);
      s += Math.abs(g.data[i * 3] - (0.299 * ref.data[i * 3] + 0.587 * ref.data[i * 3 + 1] + 0.114 * ref.data[i * 3 + 2]));
    }
    expect(s / (40 * 30)).toBeLessThan(2);
  });

  it('EXIF orientation turns the stored pixels upright (tags 3, 5, 6, 7, 8)', () => {
    for (const n of [3, 5, 6, 7, 8]) {
      const b = bytes(`orient${n}.jpg`);
      expect(readJpegHeader(b)!.orientation, `orient${n}`).toBe(n);
      const d = diff(decodeJpeg(b), ref);
      expect(d.mean, `orient${n}`).toBeLessThan(2);
    }
    expect(readJpegHeader(bytes('baseline.jpg'))!.orientation).toBe(1);
    // Each orientation and its inverse (2, 4, 5, 7 are their own; 6 and 8 undo each other) give the image back.
    const img: RgbImage = { width: 3, height: 2, data: Float32Array.from({ length: 18 }, (_, i) => i) };
    for (const [a, b] of [[2, 2], [3, 3], [4, 4], [5, 5], [7, 7], [6, 8], [8, 6]]) expect(applyOrientation(applyOrientation(img, a), b)).toEqual(img);
  });

  it('readImage (and readPng, every command\'s reader) takes JPEG by its bytes, whatever the name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-jpeg-'));
    const f = join(dir, 'photo.png');
    writeFileSync(f, bytes('orient6.jpg'));
    expect(diff(readImage(f), ref).mean).toBeLessThan(2);
    expect(readPng(f).width).toBe(40);
  });

  it('corrupt, truncated, 12-bit, lossless and over-large JPEGs are one-line errors naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-jpeg-'));
    const good = bytes('baseline.jpg');
    const sof = good.findIndex((v, i) => v === 0xff && good[i + 1] === 0xc0);
    const write = (name: string, b: Uint8Array) => (writeFileSync(join(dir, name), b), join(dir, name));
    const twelve = good.slice();
    twelve[sof + 4] = 12;
    const lossless = good.slice();
    lossless[sof + 1] = 0xc3;
    const cases: [string, Uint8Array, RegExp][] = [
      ['header-only.jpg', good.slice(0, 20), /header-only\.jpg: not a readable JPEG \(truncated or corrupt/],
      ['twelve.jpg', twelve, /twelve\.jpg: 12-bit JPEG is not supported, only 8-bit/],
      ['lossless.jpg', lossless, /lossless\.jpg: lossless JPEG is not supported/],
      ['garbage.jpg', Uint8Array.from([0xff, 0xd8, 0xff, ...Array.from({ length: 200 }, (_, i) => (i * 37) & 0xff)]), /garbage\.jpg: not a readable JPEG/],
    ];
    for (const [name, b, re] of cases) {
      const path = write(name, b);
      let err: unknown = null;
      try {
        readImage(path);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(ImageError);
      expect((err as Error).message, name).toMatch(re);
      expect((err as Error).message, name).not.toContain('\n');
    }
    // A scan cut short or scrambled: an error, or (jpeg-js decodes tolerantly) an image of the right size; never a crash.
    for (const cut of [0.5, 0.8]) {
      const b = good.slice(0, Math.floor(good.length * cut));
      try {
        expect(decodeJpeg(b, 'cut').width).toBe(40);
      } catch (e) {
        expect(e).toBeInstanceOf(JpegError);
      }
    }
    setPixelLimit(1000);
    try {
      expect(() => readImage(write('big.jpg', good))).toThrow(/big\.jpg: 40×30 is 1200 pixels, over the limit of 1000 \(raise it with --max-pixels\)/);
    } finally {
      setPixelLimit(DEFAULT_PIXEL_LIMIT);
    }
  });
});
