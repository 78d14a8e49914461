// Face detection + landmarks (+ alignment) per photo: ours on the engine against face-api's tiny face detector
// and 68-point net on tfjs-webgpu, on the same adapter, in one run. The photo: the sample face pasted turned and
// scaled into a 640×480 canvas. Wall-clock per photo, readbacks included (both pipelines read the boxes back
// before cutting faces out). Ours is timed with and without the two landmark refinements and the chip cut.
// Run: node --import tsx bench/detect.ts      (last line: JSON result)
import * as F from '../src/index.ts';
import { readImage } from '../src/io/png.ts';
import { convertDetectorModels } from '../src/models/faceapi-node.ts';
import { FaceDetector } from '../src/models/face_detect.ts';
import { alignFaces } from '../src/models/align.ts';
import { useTfjsOnEngineDevice, printResult } from './common.ts';
import { faceApiDetect, loadWeights } from './faceapi_detect_peer.ts';
import { pasteChip } from '../test/helpers/photos.ts';

const e = await F.init();
await useTfjsOnEngineDevice();
console.log(`adapter: ${e.adapter.description || e.adapter.device}`);
const m = convertDetectorModels();
const det = FaceDetector.fromBytes(m.detector, m.landmarks);
const dw = loadWeights('tiny_face_detector_model');
const lw = loadWeights('face_landmark_68_model');
const photo = pasteChip(readImage('assets/faces/astronaut.png'), { width: 640, height: 480, angle: 0.2, scale: 1.5, cx: 300, cy: 220 });

async function median(fn: () => Promise<unknown>, reps = 5, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push((performance.now() - t0) / 1000);
  }
  return t.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

const ours = await median(() => det.detect(photo));
const oursAligned = await median(() => alignFaces(det, photo, 150));
const theirs = await median(() => faceApiDetect(dw, lw, photo));
const rows = [{ ours_detect_landmarks_s: +ours.toFixed(4), ours_detect_landmarks_align_s: +oursAligned.toFixed(4), faceapi_tfjs_webgpu_detect_landmarks_s: +theirs.toFixed(4) }];
console.log(`per 640×480 photo: ours detect+landmarks ${ours.toFixed(3)} s, + 2 refinements + chip ${oursAligned.toFixed(3)} s; face-api on tfjs-webgpu detect+landmarks ${theirs.toFixed(3)} s`);
printResult({ name: 'detect', unit: 'photos/s', ours: +(1 / ours).toFixed(3), peer: +(1 / theirs).toFixed(3), peer_name: 'face-api tiny detector + 68 landmarks on tfjs-webgpu', speedup: +(theirs / ours).toFixed(3), rows });
det.dispose();
F.shutdown();
process.exit(0);
