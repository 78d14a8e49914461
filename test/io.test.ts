import { describe, it, expect } from 'vitest';
import { PNG } from 'pngjs';
import { resize, centerCropSquare, toneStats, type RgbImage } from '../src/io/image.ts';
import { decodePng, readPng, ImageError } from '../src/io/png.ts';
import { readFileSync } from 'node:fs';
import { Rand } from './helpers/ref.ts';

const img = (w: number, h: number, seed = 1): RgbImage => ({ width: w, height: h, data: Float32Array.from(new Rand(seed).uniform(w * h * 3, 0, 255)) });

describe('image resize and crop', () => {
  it('area resize by an integer factor is the block mean', () => {
    const a = img(6, 4);
    const r = resize(a, 3, 2, 'area');
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 3; x++)
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) s += a.data[((2 * y + dy) * 6 + 2 * x + dx) * 3 + c];
          expect(r.data[(y * 3 + x) * 3 + c]).toBeCloseTo(s / 4, 3);
        }
  });

  it('area resize by a fractional factor preserves the mean; bilinear keeps a linear ramp linear', () => {
    const a = img(7, 5, 2);
    const r = resize(a, 3, 2, 'area');
    const mean = (d: Float32Array) => d.reduce((s, v) => s + v, 0) / d.length;
    expect(mean(r.data)).toBeCloseTo(mean(a.data), 2);
    const ramp: RgbImage = { width: 4, height: 1, data: Float32Array.from([0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30]) };
    const up = resize(ramp, 8, 1, 'bilinear');
    // Half-pixel centres: interior outputs lie on the same line, clamped at the ends.
    expect(Array.from(up.data.filter((_, i) => i % 3 === 0))).toEqual([0, 2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 30]);
  });

  it('centre crop takes the middle square', () => {
    const a = img(5, 3, 3);
    const c = centerCropSquare(a);
    expect([c.width, c.height]).toEqual([3, 3]);
    expect(c.data[0]).toBe(a.data[3]);
  });
});

describe('PNG decoding', () => {
  const encode = (colorType: number, bitDepth: 8 | 16, pixels: number[][]) => {
    const png = new PNG({ width: 2, height: 1, colorType: colorType as 0 | 2 | 4 | 6, inputColorType: 6, bitDepth, inputHasAlpha: true });
    pixels.forEach((p, i) => p.forEach((v, c) => (png.data[i * 4 + c] = v)));
    return new Uint8Array(PNG.sync.write(png, { colorType: colorType as 0 | 2 | 4 | 6, inputColorType: 6, bitDepth }));
  };

  it('RGB, RGBA and grey 8-bit become RGB 0..255', () => {
    // (Writing RGB from RGBA input makes pngjs composite onto white, so the RGB file gets opaque pixels.)
    expect(Array.from(decodePng(encode(2, 8, [[10, 20, 30, 255], [200, 100, 50, 255]])).data)).toEqual([10, 20, 30, 200, 100, 50]);
    // Decoding drops alpha rather than compositing it.
    expect(Array.from(decodePng(encode(6, 8, [[10, 20, 30, 255], [200, 100, 50, 128]])).data)).toEqual([10, 20, 30, 200, 100, 50]);
    const grey = decodePng(encode(0, 8, [[90, 90, 90, 255], [7, 7, 7, 255]]));
    expect(Array.from(grey.data)).toEqual([90, 90, 90, 7, 7, 7]);
  });

  it('16-bit images are scaled to the 0..255 range', () => {
    const png = new PNG({ width: 1, height: 1, bitDepth: 16, colorType: 2, inputColorType: 2, inputHasAlpha: false });
    const data = new Uint16Array([65535, 32768, 0]);
    const bytes = PNG.sync.write({ ...png, data: Buffer.from(data.buffer) } as unknown as PNG, { colorType: 2, inputColorType: 2, bitDepth: 16, inputHasAlpha: false });
    const d = decodePng(new Uint8Array(bytes)).data;
    expect(d[0]).toBeCloseTo(255, 3);
    expect(d[1]).toBeCloseTo(127.5, 0);
    expect(d[2]).toBe(0);
  });

  it('non-PNG bytes give a one-line ImageError', () => {
    expect(() => decodePng(new TextEncoder().encode('{"not": "an image"}'), 'x.json')).toThrow(ImageError);
    expect(() => decodePng(new TextEncoder().encode('{"not": "an image"}'), 'x.json')).toThrow(/x.json: not a readable PNG/);
  });
});

describe('PNG codec without Node (web streams: the browser demo and Deno)', () => {
  it('decodes every bundled PNG exactly as pngjs does, and its encoding reads back through pngjs', async () => {
    const { decodePngBytes, encodePngBytes } = await import('../src/io/png-codec.ts');
    const { readdirSync } = await import('node:fs');
    const files = ['assets/faces/astronaut.png', 'assets/lfw/faces-25px.png', ...readdirSync('assets/guides').filter((f) => f.endsWith('.png')).map((f) => `assets/guides/${f}`)];
    for (const f of files) {
      const want = readPng(f);
      const got = await decodePngBytes(new Uint8Array(readFileSync(f)), f);
      expect([got.width, got.height], f).toEqual([want.width, want.height]);
      expect(got.data, f).toEqual(want.data);
      const again = decodePng(await encodePngBytes(got), f);
      expect(again.data.map(Math.round), f).toEqual(got.data.map(Math.round));
    }
    // Grey and grey + alpha, 8 and 16 bit, written by pngjs from one RGBA picture.
    const src = new PNG({ width: 5, height: 3 });
    for (let i = 0; i < 15; i++) src.data.set([i * 17, i * 17, i * 17, 255], i * 4);
    for (const [colorType, bitDepth] of [[0, 8], [0, 16], [4, 8], [2, 16]] as const) {
      const bytes = PNG.sync.write(src, { colorType, bitDepth, inputColorType: 6 });
      const got = await decodePngBytes(new Uint8Array(bytes), `type ${colorType}/${bitDepth}`);
      expect(Array.from(got.data).map(Math.round), `type ${colorType}/${bitDepth}`).toEqual(Array.from(decodePng(bytes).data).map(Math.round));
    }
    await expect(decodePngBytes(new Uint8Array([1, 2, 3]), 'x.png')).rejects.toThrow(/x.png: not a PNG file/);
  });
});

describe('tone statistics (how photo-like: contrast and colour noise)', () => {
  const W = 40;
  const image = (f: (x: number, y: number) => [number, number, number]): RgbImage => {
    const data = new Float32Array(W * W * 3);
    for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) data.set(f(x, y), (y * W + x) * 3);
    return { width: W, height: W, data };
  };

  it('contrast is the standard deviation of the luminance in 0..1 units', () => {
    // Half black, half white: σ = 0.5.
    expect(toneStats(image((x) => (x < W / 2 ? [0, 0, 0] : [255, 255, 255]))).contrast).toBeCloseTo(0.5, 9);
    expect(toneStats(image(() => [90, 120, 200])).contrast).toBeCloseTo(0, 9);
    // Face contrast: the central 60 % only (x and y in [8, 32) of 40): a flat face on a striped ground has none.
    const ground = toneStats(image((x, y) => (x >= 8 && x < 32 && y >= 8 && y < 32 ? [128, 128, 128] : x % 2 ? [0, 0, 0] : [255, 255, 255])));
    expect(ground.faceContrast).toBeCloseTo(0, 9);
    expect(ground.contrast).toBeGreaterThan(0.3);
    expect(toneStats(image((x) => (x < W / 2 ? [0, 0, 0] : [255, 255, 255]))).faceContrast).toBeCloseTo(0.5, 9);
  });

  it('detail: the local light-dark detail, little in a smooth ramp however wide its range, 0.5 in a fine checkerboard', () => {
    const ramp = toneStats(image((x) => { const v = (255 * x) / (W - 1); return [v, v, v]; }));
    expect(ramp.contrast).toBeGreaterThan(0.25);
    expect(ramp.detail).toBeLessThan(0.1 * ramp.contrast);
    // Black and white pixels alternating: the broad blur is mid-grey nearly everywhere, the detail ±0.5.
    const checks = toneStats(image((x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0])));
    expect(checks.detail).toBeCloseTo(0.5, 2);
  });

  it('colour noise: none for grey detail, colour that follows brightness is low, colour speckle is high', () => {
    const r = new Rand(3);
    const noise = Array.from({ length: W * W }, () => r.uniform(3, 0, 1));
    const grey = toneStats(image((x, y) => { const v = 255 * noise[y * W + x][0]; return [v, v, v]; }));
    expect(grey.colourNoise).toBeLessThan(1e-6);
    // Skin-like colour scaled with the brightness: chroma follows luminance.
    const tinted = toneStats(image((x, y) => { const v = noise[y * W + x][0]; return [230 * v, 170 * v, 140 * v]; }));
    const speckled = toneStats(image((x, y) => Array.from(noise[y * W + x], (v) => 110 + 40 * v) as [number, number, number]));
    expect(tinted.colourNoise).toBeLessThan(0.4);
    expect(speckled.colourNoise).toBeGreaterThan(1);
  });
});
