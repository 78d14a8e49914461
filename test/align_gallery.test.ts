// The labelled gallery (../shared/gallery, not shipped; skipped where absent) re-derived from uncropped photos:
// each chip pasted turned (±15°), scaled (0.5–2×) and shifted into a larger canvas, then found and aligned
// again. Every same-person pair the chips put below the model's threshold (0.6) must stay below it.
import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertDetectorModels } from '../src/models/faceapi-node.ts';
import { FaceDetector } from '../src/models/face_detect.ts';
import { alignFaces } from '../src/models/align.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { readImage } from '../src/io/png.ts';
import { tidy } from '../src/tensor/tensor.ts';
import { noGrad } from '../src/autograd/tape.ts';
import type { RgbImage } from '../src/io/image.ts';
import { defaultModelPath } from './helpers/faces.ts';
import { pasteChip } from './helpers/photos.ts';
import { Rand } from './helpers/ref.ts';

const GALLERY = join(__dirname, '..', '..', 'shared', 'gallery');

describe.skipIf(!existsSync(GALLERY))('gallery re-derived from uncropped photos', () => {
  it('same-person pairs below 0.6 as chips stay below 0.6 when re-derived from turned, scaled, shifted photos', async () => {
    const m = convertDetectorModels();
    const det = FaceDetector.fromBytes(m.detector, m.landmarks);
    const model = FaceModel.fromBytes(new Uint8Array(readFileSync(defaultModelPath())));
    const files = readdirSync(GALLERY).filter((d) => d.startsWith('person')).sort().flatMap((d) => readdirSync(join(GALLERY, d)).filter((f) => f.endsWith('.png')).sort().map((f) => ({ person: d, file: join(GALLERY, d, f) })));
    const rand = new Rand(19);
    const embed = async (imgs: RgbImage[]) => {
      const e = tidy(() => noGrad(() => model.embed(model.pixels(imgs)).embedding));
      const d = await e.data();
      e.dispose();
      return imgs.map((_, i) => d.slice(i * 128, (i + 1) * 128));
    };
    const chips = files.map((f) => readImage(f.file));
    const chipEmb = await embed(chips);
    const derived: RgbImage[] = [];
    let missed = 0;
    for (const chip of chips) {
      const r = Array.from(rand.uniform(4, 0, 1));
      const scale = 0.5 * 4 ** r[0];
      const angle = ((r[1] * 30 - 15) * Math.PI) / 180;
      const W = Math.round(150 * scale * 1.6 + 120);
      const H = Math.round(150 * scale * 1.4 + 100);
      const cx = W / 2 + (r[2] - 0.5) * 100;
      const cy = H / 2 + (r[3] - 0.5) * 80;
      const photo = pasteChip(chip, { width: W, height: H, angle, scale, cx, cy });
      let faces = await alignFaces(det, photo, 150);
      if (!faces.length) faces = await alignFaces(det, photo, 150, { scoreThreshold: 0.2 });
      if (!faces.length) missed++;
      derived.push(faces[0]?.chip ?? chip);
    }
    const derivedEmb = await embed(derived);
    const dist = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((v, i) => v - b[i]));
    let pairs = 0, kept = 0, chipSame = 0, derivedSame = 0, maxDerived = 0;
    const rows: string[] = [];
    for (let i = 0; i < files.length; i++)
      for (let j = i + 1; j < files.length; j++) {
        if (files[i].person !== files[j].person) continue;
        pairs++;
        const dc = dist(chipEmb[i], chipEmb[j]);
        const dd = dist(derivedEmb[i], derivedEmb[j]);
        if (dc < 0.6) {
          chipSame++;
          if (dd < 0.6) kept++;
          else rows.push(`${files[i].file} ~ ${files[j].file}: chips ${dc.toFixed(3)}, re-derived ${dd.toFixed(3)}`);
        }
        if (dd < 0.6) derivedSame++;
        maxDerived = Math.max(maxDerived, dd);
      }
    // Rank-1 identification of each re-derived face among the other chips.
    let rank1 = 0;
    for (let i = 0; i < files.length; i++) {
      let best = -1, bd = Infinity;
      for (let j = 0; j < files.length; j++) if (j !== i && dist(derivedEmb[i], chipEmb[j]) < bd) (bd = dist(derivedEmb[i], chipEmb[j])), (best = j);
      if (files[best].person === files[i].person) rank1++;
    }
    console.log(`${files.length} photos (${missed} without a face found), ${pairs} same-person pairs: ${chipSame} below 0.6 as chips, ${kept} of those still below 0.6 re-derived (${derivedSame} re-derived pairs below 0.6 in all); rank-1 of re-derived among chips ${rank1}/${files.length}\n${rows.join('\n')}`);
    expect(missed).toBe(0);
    expect(kept).toBe(chipSame);
  });
});
