// Photos on the command line: a JPEG with two faces gives two embed lines with their boxes, `crop` writes both
// chips, compare finds the face, --no-align keeps the centre crop, and a photo without a face or a broken JPEG
// is a one-line error naming the file.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { encode } from 'jpeg-js';
import { readImage } from '../src/io/png.ts';
import type { RgbImage } from '../src/io/image.ts';
import { SAMPLE_FACE, defaultModelPath } from './helpers/faces.ts';
import { pasteChip } from './helpers/photos.ts';
import { cli } from './helpers/cli.ts';

function jpeg(img: RgbImage): Buffer {
  const rgba = Buffer.alloc(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = Math.max(0, Math.min(255, Math.round(img.data[i * 3 + c])));
    rgba[i * 4 + 3] = 255;
  }
  return encode({ data: rgba, width: img.width, height: img.height }, 95).data;
}

describe('faceinv with photos', () => {
  it('two faces in a JPEG: embed prints one line each with its box, crop writes both chips, compare finds the face', () => {
    defaultModelPath();
    const chip = readImage(SAMPLE_FACE);
    const left = pasteChip(chip, { width: 640, height: 320, angle: 0.15, scale: 1, cx: 160, cy: 160 });
    const right = pasteChip(chip, { width: 640, height: 320, angle: -0.1, scale: 1.2, cx: 470, cy: 170 });
    const photo: RgbImage = { width: 640, height: 320, data: left.data.slice() };
    for (let y = 0; y < 320; y++) photo.data.set(right.data.subarray((y * 640 + 320) * 3, (y + 1) * 640 * 3), (y * 640 + 320) * 3);
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-photo-'));
    const file = join(dir, 'two.jpg');
    writeFileSync(file, jpeg(photo));

    const r = cli('embed', file);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    const centres = lines.map((l) => [l.box[0] + l.box[2] / 2, l.box[1] + l.box[3] / 2]).sort((a, b) => a[0] - b[0]);
    expect(Math.hypot(centres[0][0] - 160, centres[0][1] - 160)).toBeLessThan(40);
    expect(Math.hypot(centres[1][0] - 470, centres[1][1] - 170)).toBeLessThan(40);
    expect(lines.map((l) => l.face).sort()).toEqual([0, 1]);
    const d = Math.hypot(...lines[0].embedding.map((v: number, i: number) => v - lines[1].embedding[i]));
    expect(d).toBeLessThan(0.3);

    const out = join(dir, 'chips');
    const c = cli('crop', file, '--out', out);
    expect(c.code, c.err).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['two-0.png', 'two-1.png']);
    expect(readImage(join(out, 'two-0.png')).width).toBe(150);

    const cmp = cli('compare', file, join(out, 'two-1.png'), '--json');
    expect(cmp.code, cmp.err).toBe(0);
    expect(JSON.parse(cmp.out).same_person).toBe(true);

    // --no-align: the photo centre-cropped, as before: one line, no box.
    const raw = cli('embed', file, '--no-align');
    expect(raw.code, raw.err).toBe(0);
    const rl = raw.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(rl).toHaveLength(1);
    expect(rl[0].box).toBeUndefined();
  });

  it('a photo without a face, a broken JPEG and a 12-bit JPEG are one-line errors naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceinv-photo-'));
    const blank: RgbImage = { width: 300, height: 200, data: new Float32Array(300 * 200 * 3).fill(120) };
    writeFileSync(join(dir, 'blank.jpg'), jpeg(blank));
    const good = jpeg(blank);
    writeFileSync(join(dir, 'cut.jpg'), good.subarray(0, 30));
    const sof = good.findIndex((v, i) => v === 0xff && good[i + 1] === 0xc0);
    const twelve = Buffer.from(good);
    twelve[sof + 4] = 12;
    writeFileSync(join(dir, 'twelve.jpg'), twelve);
    for (const [f, re] of [
      ['blank.jpg', /^faceinv: .*blank\.jpg: no face found \(300×200 pixels; give --no-align if it is a ready face chip\)$/],
      ['cut.jpg', /^faceinv: .*cut\.jpg: not a readable JPEG/],
      ['twelve.jpg', /^faceinv: .*twelve\.jpg: 12-bit JPEG is not supported/],
    ] as const) {
      const r = cli('embed', join(dir, f));
      expect(r.code, f).toBe(1);
      expect(r.err.trim().split('\n'), f).toHaveLength(1);
      expect(r.err.trim(), f).toMatch(re);
    }
    expect(existsSync(join(dir, 'chips'))).toBe(false);
    const c = cli('crop', join(dir, 'blank.jpg'), '--out', join(dir, 'chips'));
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/blank\.jpg: no face found/);
  });
});
