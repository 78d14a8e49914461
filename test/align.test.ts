// Alignment round trip: the sample chip pasted turned (±15°), scaled (0.5–2×) and shifted into a larger photo,
// found, aligned back to a chip through the warp, embeds within 0.05 of the chip itself under the default model.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { convertDetectorModels } from '../src/models/faceapi-node.ts';
import { FaceDetector } from '../src/models/face_detect.ts';
import { alignFaces, similarity, chipTemplate, cutChip, templateBox, chipFivePoints, INSIGHTFACE_TEMPLATE } from '../src/models/align.ts';
import type { Affine } from '../src/autograd/warp.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { readImage } from '../src/io/png.ts';
import { tidy } from '../src/tensor/tensor.ts';
import { noGrad } from '../src/autograd/tape.ts';
import { SAMPLE_FACE, defaultModelPath } from './helpers/faces.ts';
import { pasteChip, type Paste } from './helpers/photos.ts';

const CASES: Paste[] = [
  { width: 400, height: 320, angle: 0, scale: 1, cx: 200, cy: 160 },
  { width: 500, height: 400, angle: (15 * Math.PI) / 180, scale: 1, cx: 260, cy: 180 },
  { width: 500, height: 400, angle: (-15 * Math.PI) / 180, scale: 1.4, cx: 220, cy: 210 },
  { width: 320, height: 260, angle: (10 * Math.PI) / 180, scale: 0.5, cx: 100, cy: 170 },
  { width: 640, height: 560, angle: (-8 * Math.PI) / 180, scale: 2, cx: 330, cy: 260 },
];

describe('alignment to the chip template', () => {
  let det: FaceDetector;
  let model: FaceModel;
  beforeAll(() => {
    const m = convertDetectorModels();
    det = FaceDetector.fromBytes(m.detector, m.landmarks);
    model = FaceModel.fromBytes(new Uint8Array(readFileSync(defaultModelPath())));
  });

  it('the similarity fit recovers a known turn, scale and shift exactly', () => {
    const from = chipTemplate(150);
    const [a, b, c, d] = [1.3 * Math.cos(0.3), 1.3 * Math.sin(0.3), 40, -12];
    const to = from.map(([x, y]): [number, number] => [a * x - b * y + c, b * x + a * y + d]);
    const m = similarity(from, to);
    [a, -b, c, b, a, d].forEach((v, i) => expect(m[i]).toBeCloseTo(v, 9));
  });

  it("a template's box in the chip: dlib's own five points give the whole chip; InsightFace's put its points on dlib's within 4 px (of 150)", () => {
    const own = templateBox(chipFivePoints(150), 150);
    own.forEach((v, i) => expect(v).toBeCloseTo([0, 0, 1][i], 9));
    const [x0, y0, side] = templateBox(INSIGHTFACE_TEMPLATE, 112);
    // Through the box, each InsightFace point lands near the same point of dlib's mean face (the two mean faces differ a little: 3.3 px at the mouth corners).
    const k = (side * 150) / 112;
    const dlib = chipFivePoints(150);
    INSIGHTFACE_TEMPLATE.forEach(([u, v], i) => {
      expect(Math.hypot(x0 * 150 + k * u - dlib[i][0], y0 * 150 + k * v - dlib[i][1]), `point ${i}`).toBeLessThan(4);
    });
  });

  // The sample chip is framed by a Haar box, not by dlib's template, so its own embedding differs from any
  // aligned chip's by the framing (about 0.24); the round trip's reference is the chip aligned from the photo
  // it was pasted into as it is (no turn, scale 1, whole-pixel shift), and every turned, scaled, shifted paste
  // must come back to it. The paste itself resamples the chip: the chip cut with the exact transform shows
  // what that alone costs.
  it('a chip pasted turned, scaled and shifted re-aligns to the same embedding', async () => {
    const chip = readImage(SAMPLE_FACE);
    const embed = async (imgs: typeof chip[]) => {
      const e = tidy(() => noGrad(() => model.embed(model.pixels(imgs)).embedding));
      const d = await e.data();
      e.dispose();
      return d;
    };
    const raw = await embed([chip]);
    let ref: Float32Array | null = null;
    let rel: Affine | null = null;
    for (const p of CASES) {
      const faces = await alignFaces(det, pasteChip(chip, p), 150, { scoreThreshold: 0.2 });
      expect(faces.length, JSON.stringify(p)).toBe(1);
      const e = await embed([faces[0].chip]);
      ref ??= e;
      const t0 = faces[0].transform;
      rel ??= [t0[0], t0[1], t0[2] - (p.cx - 75), t0[3], t0[4], t0[5] - (p.cy - 75)];
      // The chip cut with the exact transform (the paste's, after the unturned case's alignment).
      const c = Math.cos(p.angle) * p.scale, sn = Math.sin(p.angle) * p.scale;
      const P: Affine = [c, sn, p.cx - 75 * (c + sn), -sn, c, p.cy - 75 * (c - sn)];
      const R = rel!;
      const M: Affine = [P[0] * R[0] + P[1] * R[3], P[0] * R[1] + P[1] * R[4], P[0] * R[2] + P[1] * R[5] + P[2], P[3] * R[0] + P[4] * R[3], P[3] * R[1] + P[4] * R[4], P[3] * R[2] + P[4] * R[5] + P[5]];
      const eo = await embed([await cutChip(pasteChip(chip, p), M, 150)]);
      const exact = Math.hypot(...eo.map((v, i) => v - ref![i]));
      const dist = Math.hypot(...e.map((v, i) => v - ref![i]));
      const fromRaw = Math.hypot(...e.map((v, i) => v - raw[i]));
      console.log(`${JSON.stringify(p)}: distance ${dist.toFixed(4)}, with the exact transform ${exact.toFixed(4)} (from the unaligned chip ${fromRaw.toFixed(4)})`);
      // Alignment adds little to what resampling the photo twice costs (the exact transform's distance); at half
      // size the face has lost half its pixels, and no alignment brings them back.
      expect(dist, JSON.stringify(p)).toBeLessThan(exact + 0.015);
      expect(dist, JSON.stringify(p)).toBeLessThan(p.scale >= 1 ? 0.05 : 0.15);
    }
  });
});
