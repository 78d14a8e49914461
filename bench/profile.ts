// GPU time per op of one forward + backward (to the pixels) of the default model, from the engine profiler
// (timestamp queries around every dispatch): where a reconstruction iteration's time goes.
// Also the host's side of a step: the milliseconds spent recording and submitting it (no waiting), the wall
// time of a step waited for, and its dispatches — on a GPU the step can be bound by these rather than by
// kernel time.
// Run: node --import tsx bench/profile.ts [--batch 8] [--by-label] [--model F[@S]] [--step]      (last line: JSON)
// --step: the GPU time of one whole reconstruction iteration as bench/invert runs it (guide layers, TV, the
// Laplacian normalisation, Adam) instead of the model's forward + backward.
import { readFileSync } from 'node:fs';
import * as F from '../src/index.ts';
import { FaceModel } from '../src/models/face_model.ts';
import { DEFAULT_MODEL } from '../src/cli/paths.ts';
import { reconstruct } from '../src/invert/reconstruct.ts';
import type { ProfileRow } from '../src/tensor/profiler.ts';
import { arg } from './args.ts';

const N = Number(arg('batch', '8'));
const e = await F.init();
// --model F[@S]: another network (an ensemble member: it reads the 150-px chip through its chip box, at S px).
const [file, size] = (arg('model') ?? DEFAULT_MODEL).split('@');
const model = FaceModel.fromBytes(new Uint8Array(readFileSync(file)), file, size ? { inputSize: Number(size) } : {});
const p = F.keep(F.mul(F.rand([N, 3, 150, 150], 1), 255));
p.requiresGrad = true;
const target = F.keep(F.randn([N, Number(model.module.outputs[0].dims.at(-1))], 2));
const step = () => {
  F.tidy(() => F.backward(F.sum(F.square(F.sub(model.embed(p).embedding, target)))));
  p.grad?.dispose();
  p.grad = null;
  e.flush();
};
const byLabel = process.argv.includes('--by-label');
/** --step: the GPU time of one whole iteration of bench/invert's reconstruction (iteration 6 of 8), not the model's alone. */
async function iterationProfile(): Promise<ProfileRow[]> {
  let rows: Promise<ProfileRow[]> | null = null;
  const r = await reconstruct({
    model, target: F.tidy(() => F.noGrad(() => model.embed(p).embedding)), guide: p, iterations: 8, progressEvery: 1, lr: 2, optimizer: 'adam',
    guideLayers: ['conv64_3', 'conv128_2'].map((layer) => ({ layer, weight: 3e-3 })), tv: { weight: 3e-2, form: 'global', alpha: 2 }, lapNormLevels: 4,
    onProgress: ({ iteration }) => {
      if (iteration === 5) e.startProfile();
      if (iteration === 6) rows = e.stopProfile({ byLabel });
    },
  });
  r.image.dispose();
  return rows!;
}
const whole = process.argv.includes('--step');
step();
await e.sync();
let rows: ProfileRow[];
if (whole) rows = await iterationProfile();
else {
  e.startProfile();
  step();
  rows = await e.stopProfile({ byLabel });
}
const total = rows.reduce((s, r) => s + (Number.isFinite(r.ms) ? r.ms : 0), 0);
const REPS = 10;
let record = 0;
let wall = 0;
const launches = e.launches;
for (let i = 0; i < REPS; i++) {
  const t0 = performance.now();
  step();
  const t1 = performance.now();
  await e.sync();
  record += t1 - t0;
  wall += performance.now() - t0;
}
const host = { record_ms: +(record / REPS).toFixed(3), wall_ms: +(wall / REPS).toFixed(3), dispatches: (e.launches - launches) / REPS };
console.log(`adapter: ${e.adapter.description || e.adapter.device}; batch ${N}; GPU time of ${whole ? 'one reconstruction iteration' : 'one forward + backward'}: ${total.toFixed(1)} ms`);
console.log(`host: ${host.record_ms} ms to record and submit it, ${host.wall_ms} ms waited for, ${host.dispatches} dispatches`);
for (const r of rows.slice(0, 25)) console.log(`${r.op.slice(0, 110).padEnd(110)} ${String(r.calls).padStart(4)} ${r.ms.toFixed(2).padStart(9)} ms`);
console.log(JSON.stringify({ name: 'profile', batch: N, step: whole, total_ms: +total.toFixed(2), host, rows: rows.map((r) => ({ ...r, ms: +r.ms.toFixed(3) })) }));
model.dispose();
F.shutdown();
process.exit(0);
