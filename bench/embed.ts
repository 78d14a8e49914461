// Embeddings per second of the default model (forward only) at batch 1 and 16: ours against
// onnxruntime-node (CPU) and against face-api's network on tfjs-webgpu on the same adapter, in one run.
// Run: node --import tsx bench/embed.ts      (last line: JSON result)
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import * as F from '../src/index.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { DEFAULT_MODEL } from '../src/cli/paths.ts';
import { readPng } from '../src/io/png.ts';
import { tf, useTfjsOnEngineDevice, timeGpu, printResult } from './common.ts';
import { faceApiForward, loadFaceApiWeights } from './faceapi_peer.ts';

const e = await F.init();
const backend = await useTfjsOnEngineDevice();
const model = FaceModel.fromBytes(new Uint8Array(readFileSync(DEFAULT_MODEL)), 'dlib');
const session = await ort.InferenceSession.create(DEFAULT_MODEL);
const weights = loadFaceApiWeights();
const face = readPng('assets/faces/astronaut.png');
console.log(`adapter: ${e.adapter.description || e.adapter.device}`);

const rows: Record<string, number | string>[] = [];
for (const batch of [1, 16]) {
  const pixels = model.pixels(Array(batch).fill(face));
  const normalized = await F.tidy(() => model.normalize(pixels)).data();
  // Ours: pixels → normalisation → network, recorded without the tape.
  const ours = () => F.noGrad(() => F.tidy(() => void model.embed(pixels)));
  const check = F.noGrad(() => F.tidy(() => model.embed(pixels).embedding));
  const mine = await check.data();
  check.dispose();
  const tOurs = await timeGpu(ours, { reps: 5, inner: 2, warmup: 2 });

  const feeds = { input: new ort.Tensor('float32', normalized, [batch, 3, 150, 150]) };
  const ref = (await session.run(feeds)).embedding.data as Float32Array;
  const maxDiff = mine.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i])), 0);
  if (maxDiff > 1e-4) throw new Error(`batch ${batch}: ours and onnxruntime disagree by ${maxDiff}`);
  const ortTimes: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    ortTimes.push((performance.now() - t0) / 1000);
  }
  ortTimes.sort((a, b) => a - b);
  const tOrt = ortTimes[3];

  const nhwc = tf.tidy(() => tf.transpose(tf.tensor4d(normalized, [batch, 3, 150, 150]), [0, 2, 3, 1]) as tf.Tensor4D);
  const tfjsOut = tf.tidy(() => faceApiForward(weights, nhwc));
  const theirs = (await tfjsOut.data()) as Float32Array;
  tfjsOut.dispose();
  const tfDiff = theirs.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i])), 0);
  if (tfDiff > 1e-3) throw new Error(`batch ${batch}: face-api on tfjs-webgpu disagrees with onnxruntime by ${tfDiff}`);
  const tTfjs = await timeGpu(() => tf.tidy(() => void faceApiForward(weights, nhwc)), { reps: 5, inner: 2, warmup: 2, backend });
  nhwc.dispose();
  pixels.dispose();

  const row = {
    batch,
    ours: +(batch / tOurs).toFixed(2),
    onnxruntime_cpu: +(batch / tOrt).toFixed(2),
    faceapi_tfjs_webgpu: +(batch / tTfjs).toFixed(2),
  };
  rows.push(row);
  console.log(`batch ${String(batch).padStart(2)}: ours ${row.ours} /s   onnxruntime-node (CPU) ${row.onnxruntime_cpu} /s   face-api on tfjs-webgpu ${row.faceapi_tfjs_webgpu} /s`);
}
const last = rows[rows.length - 1];
printResult({
  name: 'embed',
  unit: 'embeddings/s',
  ours: last.ours as number,
  peer: last.faceapi_tfjs_webgpu as number,
  peer_name: 'face-api on tfjs-webgpu (batch 16)',
  speedup: +((last.ours as number) / (last.faceapi_tfjs_webgpu as number)).toFixed(3),
  rows,
});
model.dispose();
await session.release();
F.shutdown();
process.exit(0);
