// Decoder speed: images per second at batch 1 and 64 (forward only, the paper's smallest decoder: 50 filters)
// and training steps per second (the cpu preset's decoder, 16 filters, batch 8, with the full loss through the
// face model), ours against the same decoder — same weights, checked to give the same images — and the same
// loss written with tfjs + tfjs-backend-webgpu on the same adapter, in one run.
// Run: node --import tsx bench/decode.ts [--quick]      (last line: JSON result)
import { readFileSync } from 'node:fs';
import * as F from '../src/index.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { DEFAULT_MODEL } from '../src/cli/paths.ts';
import { readPng } from '../src/io/png.ts';
import { Decoder, defaultDecoderConfig, fullSize, parameterShapes, initialParameters, type DecoderConfig } from '../src/models/decoder.ts';
import { GaussianSampler } from '../src/train/sampler.ts';
import { facesFromSheet } from '../src/train/faces.ts';
import { trainDecoder } from '../src/train/train.ts';
import { tf, useTfjsOnEngineDevice, gpuIdle, timeGpu, printResult } from './common.ts';
import { faceApiForwardTaps, loadFaceApiWeights, registerTfjsGradients } from './faceapi_peer.ts';

const quick = process.argv.includes('--quick');
const e = await F.init();
const backend = await useTfjsOnEngineDevice();
await registerTfjsGradients();
const model = FaceModel.fromBytes(new Uint8Array(readFileSync(DEFAULT_MODEL)), 'dlib');
const weights = loadFaceApiWeights();
console.log(`adapter: ${e.adapter.description || e.adapter.device}`);

// Embeddings: a Gaussian fitted to the bundled real faces, as training draws them.
const faces = facesFromSheet(readPng('assets/lfw/faces-25px.png'), 150);
const embT = F.tidy(() => F.noGrad(() => model.embed(model.pixels(faces)).embedding));
const embAll = await embT.data();
embT.dispose();
const sampler = GaussianSampler.fit(Array.from({ length: 100 }, (_, i) => embAll.slice(i * 128, (i + 1) * 128)));

/** The §4.1 decoder in tfjs (NHWC) with our decoder's weights. */
function tfjsDecoder(c: DecoderConfig, values: Map<string, Float32Array>) {
  const v = (name: string, shape: number[]) => tf.variable(tf.tensor(values.get(name)!, shape), true, `${name}-${c.filters}-${Math.random()}`);
  const fcW = v('fc.weight', [c.embeddingSize, c.baseChannels * c.baseSize ** 2]);
  const fcB = v('fc.bias', [c.baseChannels * c.baseSize ** 2]);
  const shapes = new Map(parameterShapes(c));
  const deconvs = Array.from({ length: c.upsamplings }, (_, i) => {
    const w = values.get(`deconv${i}.weight`)!;
    const [cin, cout] = shapes.get(`deconv${i}.weight`)!;
    // ONNX ConvTranspose [Cin, Cout, kh, kw] → tfjs conv2dTranspose filter [kh, kw, Cout, Cin].
    const filt = tf.variable(tf.transpose(tf.tensor4d(w, [cin, cout, 5, 5]), [2, 3, 1, 0]) as tf.Tensor4D, true, `d${i}-${Math.random()}`);
    return { filt, bias: v(`deconv${i}.bias`, [cout]), cout };
  });
  const vars = [fcW, fcB, ...deconvs.flatMap((d) => [d.filt, d.bias])];
  const full = fullSize(c);
  const lo = Math.floor((full - c.outputSize) / 2);
  const forward = (emb: tf.Tensor2D): tf.Tensor4D => {
    const N = emb.shape[0];
    let h = tf.relu(tf.add(tf.matMul(emb, fcW), fcB));
    let x = tf.transpose(tf.reshape(h, [N, c.baseChannels, c.baseSize, c.baseSize]), [0, 2, 3, 1]) as tf.Tensor4D;
    deconvs.forEach((d, i) => {
      const s = x.shape[1] * 2;
      x = tf.add(tf.conv2dTranspose(x, d.filt as unknown as tf.Tensor4D, [N, s, s, d.cout], 2, 2), d.bias) as tf.Tensor4D;
      if (i < deconvs.length - 1) x = tf.relu(x);
    });
    h = tf.slice(x, [0, lo, lo, 0], [N, c.outputSize, c.outputSize, 3]);
    return tf.add(tf.mul(tf.tanh(h), 127.5), 127.5) as tf.Tensor4D;
  };
  return { forward, vars, dispose: () => vars.forEach((t) => t.dispose()) };
}

const rows: Record<string, number | string>[] = [];

// ---- images per second, forward only.
{
  const c = defaultDecoderConfig({ filters: 50 });
  // The initial image layer draws near-uniform grey; made 30× stronger the images vary, so that comparing ours
  // with tfjs's tests something.
  const values = initialParameters(c, 1);
  values.get(`deconv${c.upsamplings - 1}.weight`)!.forEach((v, i, a) => (a[i] = 30 * v));
  const ours = Decoder.fromValues(c, values);
  const theirs = tfjsDecoder(c, values);
  for (const n of quick ? [1] : [1, 64]) {
    const emb = sampler.sample(new F.Rng(7), n);
    const E = F.tensor(emb, [n, 128]);
    const tE = tf.tensor2d(emb, [n, 128]);
    const mine = await ours.decode(E).data();
    const t = tf.tidy(() => tf.transpose(theirs.forward(tE), [0, 3, 1, 2]));
    const their = (await t.data()) as Float32Array;
    t.dispose();
    const diff = mine.reduce((m, x, i) => Math.max(m, Math.abs(x - their[i])), 0);
    const avg = mine.reduce((a, x) => a + x, 0) / mine.length;
    const spread = Math.sqrt(mine.reduce((a, x) => a + (x - avg) ** 2, 0) / mine.length);
    if (diff > 0.05 || spread < 1) throw new Error(`batch ${n}: the tfjs decoder differs from ours by ${diff} (pixels 0..255; spread of ours ${spread})`);
    const reps = n === 1 ? { reps: 5, inner: 3 } : { reps: 3, inner: 1, warmup: 1 };
    const tOurs = await timeGpu(() => ours.decode(E).dispose(), reps);
    const tTheirs = await timeGpu(() => tf.tidy(() => void theirs.forward(tE)), { ...reps, backend });
    const row = { what: `decode, 50 filters, batch ${n}`, unit: 'images/s', ours: +(n / tOurs).toFixed(2), tfjs_webgpu: +(n / tTheirs).toFixed(2), speedup: +(tTheirs / tOurs).toFixed(3) };
    rows.push(row);
    console.log(`${row.what}: ours ${row.ours} images/s   tfjs-webgpu ${row.tfjs_webgpu} images/s   ${row.speedup}x   (pixels: max difference ${diff.toFixed(4)}, spread ${spread.toFixed(1)})`);
    E.dispose();
    tE.dispose();
  }
  ours.dispose();
  theirs.dispose();
}

// ---- training steps per second: the cpu preset (16 filters, batch 8, guide layers at 0.1, TV 3e-2, Adam 2e-3).
{
  const c = defaultDecoderConfig({ filters: 16 });
  const B = 8;
  const layers = ['conv32_3', 'conv64_3', 'conv128_2', 'conv256_2'];
  const settings = { steps: quick ? 6 : 13, batch: B, lr: 2e-3, guideLayers: layers.map((layer) => ({ layer, weight: 0.1 })), tvWeight: 3e-2, checkpointEvery: 1e9, logEvery: 1 };
  const guide = model.pixels([readPng('assets/guides/lfw-average.png')]);
  const ours = Decoder.create(c, 1);
  const stamps: number[] = [];
  // Three warm-up steps, then the time between the log of step 3 and the last.
  await trainDecoder({ model, decoder: ours, sampler, guides: guide, settings, seed: 1, onLog: () => void stamps.push(performance.now()) });
  const oursSps = (settings.steps - 3) / ((stamps[settings.steps - 1] - stamps[2]) / 1000);
  const theirs = tfjsDecoder(c, initialParameters(c, 1));
  const mean = tf.tensor1d([122.782, 117.001, 104.298]);
  const g = tf.transpose(tf.tensor4d(await guide.data(), [1, 3, 150, 150]), [0, 2, 3, 1]) as tf.Tensor4D;
  const gActs = tf.tidy(() => faceApiForwardTaps(weights, tf.div(tf.sub(g, mean), 255) as tf.Tensor4D, layers).taps);
  const opt = tf.train.adam(settings.lr);
  const rng = new F.Rng(1);
  const step = () =>
    tf.tidy(() => {
      const E = tf.tensor2d(sampler.sample(rng, B), [B, 128]);
      const { grads } = tf.variableGrads(() => {
        const img = theirs.forward(E);
        const { embedding, taps } = faceApiForwardTaps(weights, tf.div(tf.sub(img, mean), 255) as tf.Tensor4D, layers);
        let per = tf.sum(tf.square(tf.sub(embedding, E)), 1);
        for (const l of layers) per = tf.add(per, tf.mul(tf.mean(tf.square(tf.sub(taps[l], gActs[l])), [1, 2, 3]), 0.1));
        const u = tf.div(img, 255) as tf.Tensor4D;
        const dx = tf.sub(tf.slice(u, [0, 0, 1, 0], [-1, -1, -1, -1]), tf.slice(u, [0, 0, 0, 0], [-1, -1, 149, -1]));
        const dy = tf.sub(tf.slice(u, [0, 1, 0, 0], [-1, -1, -1, -1]), tf.slice(u, [0, 0, 0, 0], [-1, 149, -1, -1]));
        const tv = tf.add(tf.sum(tf.square(dx), [1, 2, 3]), tf.sum(tf.square(dy), [1, 2, 3]));
        return tf.mean(tf.add(per, tf.mul(tv, settings.tvWeight))) as tf.Scalar;
      }, theirs.vars as tf.Variable[]);
      opt.applyGradients(theirs.vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
    });
  const tfSteps = quick ? 2 : 4;
  step();
  await gpuIdle(backend);
  const t0 = performance.now();
  for (let i = 0; i < tfSteps; i++) {
    step();
    await gpuIdle(backend);
  }
  const tfSps = tfSteps / ((performance.now() - t0) / 1000);
  const row = { what: `training, 16 filters, batch ${B}, loss through the face model`, unit: 'steps/s', ours: +oursSps.toFixed(3), tfjs_webgpu: +tfSps.toFixed(3), speedup: +(oursSps / tfSps).toFixed(3) };
  rows.push(row);
  console.log(`${row.what}: ours ${row.ours} steps/s   tfjs-webgpu ${row.tfjs_webgpu} steps/s   ${row.speedup}x`);
  ours.dispose();
  theirs.dispose();
  opt.dispose();
  [mean, g, ...Object.values(gActs)].forEach((t) => t.dispose());
  guide.dispose();
}

const geo = Math.exp(rows.reduce((s, r) => s + Math.log(r.speedup as number), 0) / rows.length);
printResult({ name: 'decode', unit: 'x', ours: rows[0].ours as number, peer: rows[0].tfjs_webgpu as number, peer_name: 'tfjs-webgpu', speedup: +geo.toFixed(3), rows });
model.dispose();
F.shutdown();
process.exit(0);
