// Face detection and landmarks on the engine (face-api's tiny face detector and 68-point net converted to ONNX)
// against face-api's own forward pass (its layer code re-run with tfjs-core on the CPU backend, weights decoded
// by tfjs), on the sample face pasted into photos, shifted, turned and scaled.
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { convertDetectorModels } from '../src/models/faceapi-node.ts';
import { FaceDetector } from '../src/models/face_detect.ts';
import { readImage } from '../src/io/png.ts';
import { SAMPLE_FACE } from './helpers/faces.ts';
import { pasteChip, type Paste } from './helpers/photos.ts';
import { faceApiDetect, loadWeights } from '../bench/faceapi_detect_peer.ts';

const CASES: Paste[] = [
  { width: 400, height: 320, angle: 0, scale: 1, cx: 200, cy: 160 },
  { width: 400, height: 320, angle: 0, scale: 1, cx: 130, cy: 190 },
  { width: 480, height: 360, angle: 0.2, scale: 1.3, cx: 300, cy: 170 },
  { width: 360, height: 480, angle: -0.25, scale: 0.8, cx: 150, cy: 260 },
  { width: 640, height: 480, angle: 0.1, scale: 2, cx: 330, cy: 230 },
];

describe('face detection and landmarks on the engine', () => {
  let det: FaceDetector;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    const m = convertDetectorModels();
    det = FaceDetector.fromBytes(m.detector, m.landmarks);
  });

  it('boxes within 2 px and landmarks within 1 px of face-api’s forward, on shifted, turned and scaled photos', async () => {
    const chip = readImage(SAMPLE_FACE);
    const dw = loadWeights('tiny_face_detector_model');
    const lw = loadWeights('face_landmark_68_model');
    for (const p of CASES) {
      const photo = pasteChip(chip, p);
      const got = await det.detect(photo);
      const want = await faceApiDetect(dw, lw, photo);
      const what = JSON.stringify(p);
      expect(want.length, what).toBeGreaterThanOrEqual(1);
      expect(got.length, what).toBe(want.length);
      let box = 0, lm = 0;
      got.forEach((g, k) => {
        const w = want[k];
        box = Math.max(box, Math.abs(g.box.x - w.box.x), Math.abs(g.box.y - w.box.y), Math.abs(g.box.width - w.box.width), Math.abs(g.box.height - w.box.height));
        g.landmarks.forEach(([x, y], i) => (lm = Math.max(lm, Math.hypot(x - w.landmarks[i][0], y - w.landmarks[i][1]))));
      });
      // The face is where it was pasted: the box centre within a fifth of the face's size.
      const b = got[0].box;
      expect(Math.hypot(b.x + b.width / 2 - p.cx, b.y + b.height / 2 - p.cy), what).toBeLessThan(30 * p.scale);
      console.log(`${what}: ${got.length} face(s), score ${b.score.toFixed(3)}, box Δ ${box.toExponential(2)} px, landmarks Δ ${lm.toExponential(2)} px`);
      expect(box, what).toBeLessThan(2);
      expect(lm, what).toBeLessThan(1);
    }
    Object.values(dw).forEach((t) => t.dispose());
    Object.values(lw).forEach((t) => t.dispose());
  });
});
