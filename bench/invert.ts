// Milliseconds per reconstruction iteration (forward, backward, update) on the default model at batch 1 and
// 8: ours against the same loss and optimiser written with tfjs + tfjs-backend-webgpu over face-api's network
// on the same adapter, in one run, and against PyTorch on the CPU (Debian's python3-torch; the same network
// rebuilt from the same weights by bench/invert_torch.py) when it is installed.
// Loss: l2 embedding distance + guide terms on two layers + global TV (α = 2) on the image in 0..1 units;
// the gradient normalised per Laplacian-pyramid level (4 levels, per item); Adam, pixels kept in 0..255.
// On a GPU machine `--torch-device cuda` makes the peer PyTorch CUDA (timed in strict float32 and with its TF32
// defaults) and `--python` names the interpreter that has it (bench/gpu/run.sh).
// Run: node --import tsx bench/invert.ts [--batches 1,8] [--iterations 30] [--torch-device cuda] [--python python3]      (last line: JSON result)
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as F from '../src/index.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { DEFAULT_MODEL } from '../src/cli/paths.ts';
import { readPng } from '../src/io/png.ts';
import { reconstruct } from '../src/invert/reconstruct.ts';
import { tf, useTfjsOnEngineDevice, gpuIdle, printResult } from './common.ts';
import { faceApiForwardTaps, loadFaceApiWeights, registerTfjsGradients } from './faceapi_peer.ts';
import { arg } from './args.ts';

const batches = arg('batches', '1,8').split(',').map(Number);
const timed = Number(arg('iterations', '30'));
const WARMUP = 10;
const torchDevice = arg('torch-device', 'cpu');
const TORCH = `PyTorch ${torchDevice === 'cpu' ? 'CPU' : torchDevice.toUpperCase()}`;
const settings = { guide_layers: ['conv64_3', 'conv128_2'], guide_weight: 3e-3, tv_weight: 3e-2, lap_levels: 4, lr: 2 };

const e = await F.init();
const backend = await useTfjsOnEngineDevice();
await registerTfjsGradients();
const model = FaceModel.fromBytes(new Uint8Array(readFileSync(DEFAULT_MODEL)), 'dlib');
const weights = loadFaceApiWeights();
const targetImg = readPng('assets/faces/astronaut.png');
const guideImg = readPng('assets/guides/cartoon-female.png');
console.log(`adapter: ${e.adapter.description || e.adapter.device}; ${timed} timed iterations after ${WARMUP} warm-up ones`);

const targetEmb = await F.tidy(() => F.noGrad(() => model.embed(model.pixels([targetImg])).embedding)).data();
const guidePixels1 = model.pixels([guideImg]);
const guideData = await guidePixels1.data();
const guideEmb = await F.tidy(() => F.noGrad(() => model.embed(guidePixels1).embedding)).data();
guidePixels1.dispose();

/** Ours: reconstruct() itself, timed between two progress reports (so one readback per 10 iterations is in). */
async function ours(n: number): Promise<number> {
  const target = F.tensor(Float32Array.from({ length: n * targetEmb.length }, (_, i) => targetEmb[i % targetEmb.length]), [n, targetEmb.length]);
  const guide = model.pixels(Array(n).fill(guideImg));
  const stamps: Record<number, number> = {};
  const r = await reconstruct({
    model, target, guide, iterations: WARMUP + timed, progressEvery: 10, lr: settings.lr, optimizer: 'adam',
    guideLayers: settings.guide_layers.map((layer) => ({ layer, weight: settings.guide_weight })),
    tv: { weight: settings.tv_weight, form: 'global', alpha: 2 }, lapNormLevels: settings.lap_levels,
    onProgress: (p) => void (stamps[p.iteration] = performance.now()),
  });
  r.image.dispose();
  [target, guide].forEach((t) => t.dispose());
  return (stamps[WARMUP + timed] - stamps[WARMUP]) / timed;
}

// ---- tfjs-webgpu: the same step written with tfjs ops over face-api's network (NHWC).
const binomial = [1, 4, 6, 4, 1];
const kernel = tf.tensor4d(
  Array.from({ length: 25 * 3 * 3 }, (_, i) => {
    const [ky, kx, ci, co] = [Math.floor(i / 45), Math.floor(i / 9) % 5, Math.floor(i / 3) % 3, i % 3];
    return ci === co ? (binomial[ky] * binomial[kx]) / 256 : 0;
  }),
  [5, 5, 3, 3],
);
const pad2: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [2, 2], [2, 2], [0, 0]];
const down = (x: tf.Tensor4D) => tf.conv2d(x, kernel, 2, pad2);
const up = (x: tf.Tensor4D, shape: [number, number, number, number]) => tf.conv2dTranspose(x, tf.mul(kernel, 4) as tf.Tensor4D, shape, 2, 2);
function lapNormalizeTf(g: tf.Tensor4D, levels: number): tf.Tensor4D {
  const bands: tf.Tensor4D[] = [];
  let cur = g;
  for (let i = 0; i < levels; i++) {
    const lo = down(cur);
    bands.push(tf.sub(cur, up(lo, cur.shape)));
    cur = lo;
  }
  bands.push(cur);
  const norm = bands.map((b) => tf.div(b, tf.maximum(tf.sqrt(tf.mean(tf.square(b), [1, 2, 3], true)), 1e-10)) as tf.Tensor4D);
  let out = norm[norm.length - 1];
  for (let i = norm.length - 2; i >= 0; i--) out = tf.add(norm[i], up(out, norm[i].shape)) as tf.Tensor4D;
  return out;
}

async function tfjs(n: number): Promise<number> {
  const mean = tf.tensor1d([122.782, 117.001, 104.298]);
  const nhwc = (data: Float32Array) => tf.transpose(tf.tensor4d(data, [1, 3, 150, 150]), [0, 2, 3, 1]) as tf.Tensor4D;
  const guide = tf.tidy(() => tf.tile(nhwc(guideData), [n, 1, 1, 1])) as tf.Tensor4D;
  const target = tf.tidy(() => tf.tile(tf.tensor2d(targetEmb, [1, targetEmb.length]), [n, 1]));
  const guideActs = tf.tidy(() => faceApiForwardTaps(weights, tf.div(tf.sub(guide, mean), 255) as tf.Tensor4D, settings.guide_layers).taps);
  const check = tf.tidy(() => faceApiForwardTaps(weights, tf.div(tf.sub(guide, mean), 255) as tf.Tensor4D, []).embedding);
  const diff = ((await check.data()) as Float32Array).slice(0, guideEmb.length).reduce((m, v, i) => Math.max(m, Math.abs(v - guideEmb[i])), 0);
  check.dispose();
  if (diff > 1e-3) throw new Error(`face-api on tfjs-webgpu disagrees with faceinv by ${diff} on the guide's embedding`);
  const p = tf.variable(guide.clone(), true, `p${n}`);
  const opt = tf.train.adam(settings.lr);
  const step = () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const { embedding, taps } = faceApiForwardTaps(weights, tf.div(tf.sub(p, mean), 255) as tf.Tensor4D, settings.guide_layers);
        let loss = tf.sum(tf.square(tf.sub(embedding, target)));
        for (const l of settings.guide_layers) loss = tf.add(loss, tf.mul(tf.sum(tf.mean(tf.square(tf.sub(taps[l], guideActs[l])), [1, 2, 3])), settings.guide_weight));
        const u = tf.div(p, 255) as tf.Tensor4D;
        const dx = tf.sub(tf.slice(u, [0, 0, 1, 0], [-1, -1, -1, -1]), tf.slice(u, [0, 0, 0, 0], [-1, -1, 149, -1]));
        const dy = tf.sub(tf.slice(u, [0, 1, 0, 0], [-1, -1, -1, -1]), tf.slice(u, [0, 0, 0, 0], [-1, 149, -1, -1]));
        return tf.add(loss, tf.mul(tf.add(tf.sum(tf.square(dx)), tf.sum(tf.square(dy))), settings.tv_weight)) as tf.Scalar;
      }, [p]);
      opt.applyGradients([{ name: p.name, tensor: lapNormalizeTf(grads[p.name] as tf.Tensor4D, settings.lap_levels) }]);
      p.assign(tf.clipByValue(p, 0, 255));
    });
  for (let i = 0; i < WARMUP; i++) step();
  await gpuIdle(backend);
  const t0 = performance.now();
  for (let i = 0; i < timed; i++) {
    step();
    // As ours does: wait for the GPU every 10 iterations (its progress readback), keeping the queue short.
    if ((i + 1) % 10 === 0) await gpuIdle(backend);
  }
  await gpuIdle(backend);
  const ms = (performance.now() - t0) / timed;
  opt.dispose();
  [p, guide, target, mean, ...Object.values(guideActs)].forEach((t) => t.dispose());
  return ms;
}

// ---- PyTorch (CPU or CUDA): the weights and inputs go to bench/invert_torch.py through files.
function torch(): Record<number, { ms_per_iteration: number; ms_per_iteration_tf32?: number }> | string {
  const out = join('out', 'bench-invert');
  mkdirSync(out, { recursive: true });
  const entries: { name: string; shape: number[]; offset: number }[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(weights)) {
    const v = t.dataSync() as Float32Array;
    entries.push({ name, shape: t.shape, offset });
    chunks.push(Float32Array.from(v));
    offset += v.length;
  }
  const all = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  writeFileSync(join(out, 'weights.bin'), all);
  writeFileSync(join(out, 'guide.bin'), guideData);
  writeFileSync(join(out, 'target.bin'), targetEmb);
  writeFileSync(join(out, 'guide_embedding.bin'), guideEmb);
  const arrays = { guide: [1, 3, 150, 150], target: [1, targetEmb.length], guide_embedding: [1, guideEmb.length] };
  writeFileSync(join(out, 'manifest.json'), JSON.stringify({ weights: entries, arrays, settings: { ...settings, warmup: WARMUP, timed } }));
  // Debian's python3-torch lives in the system Python, which a pyenv or venv python3 on PATH may hide.
  const python = arg('python') ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const r = spawnSync(python, ['bench/invert_torch.py', out, '--device', torchDevice, ...batches.map(String)], { encoding: 'utf8' });
  if (r.status !== 0) return (r.stderr || r.error?.message || 'python3 failed').trim().split('\n').at(-1)!;
  const res: ReturnType<typeof torch> = {};
  for (const line of r.stdout.trim().split('\n')) {
    const j = JSON.parse(line);
    res[j.batch] = j;
  }
  return res;
}

const rows: Record<string, number | string | null>[] = [];
const torchMs = torch();
if (typeof torchMs === 'string') console.log(`${TORCH} peer skipped: ${torchMs} (apt-get install python3-torch)`);
for (const n of batches) {
  const mine = await ours(n);
  const theirs = await tfjs(n);
  const pt = typeof torchMs === 'string' ? null : torchMs[n].ms_per_iteration;
  const tf32 = typeof torchMs === 'string' ? undefined : torchMs[n].ms_per_iteration_tf32;
  const row = {
    batch: n,
    ours_ms: +mine.toFixed(2),
    tfjs_webgpu_ms: +theirs.toFixed(2),
    [`pytorch_${torchDevice}_ms`]: pt === null ? null : +pt.toFixed(2),
    ...(tf32 === undefined ? {} : { [`pytorch_${torchDevice}_tf32_ms`]: +tf32.toFixed(2) }),
    speedup_vs_tfjs: +(theirs / mine).toFixed(3),
    ratio_vs_pytorch: pt === null ? null : +(pt / mine).toFixed(3),
  };
  rows.push(row);
  console.log(
    `batch ${String(n).padStart(2)}: ours ${row.ours_ms} ms/it   tfjs-webgpu ${row.tfjs_webgpu_ms} ms/it (${row.speedup_vs_tfjs}x)   ` +
      (pt === null ? `${TORCH}: not run` : `${TORCH} ${pt.toFixed(2)} ms/it (ours/PyTorch time ratio ${(mine / pt).toFixed(2)})`) +
      (tf32 === undefined ? '' : `, with TF32 ${tf32.toFixed(2)} ms/it`),
  );
}
const worst = rows.reduce((a, b) => ((a.speedup_vs_tfjs as number) <= (b.speedup_vs_tfjs as number) ? a : b));
printResult({
  name: 'invert',
  unit: 'ms/iteration',
  ours: worst.ours_ms as number,
  peer: worst.tfjs_webgpu_ms as number,
  peer_name: `tfjs-webgpu (batch ${worst.batch}, the smaller speedup of batches ${batches.join(', ')})`,
  speedup: worst.speedup_vs_tfjs as number,
  rows,
});
model.dispose();
F.shutdown();
process.exit(0);
