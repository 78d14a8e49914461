// Matmul GFLOP/s, ours against tfjs-webgpu on the same adapter and device, in one process.
// Run: node --import tsx bench/matmul.ts [--variant shared|register]     (last line: JSON result)
import * as F from '../src/index.ts';
import { init, shutdown, matmulVariant } from '../src/index.ts';
import { tf, useTfjsOnEngineDevice, timeGpu, geomean, printResult } from './common.ts';

interface Case {
  name: string;
  batch: number;
  M: number;
  K: number;
  N: number;
}

const cases: Case[] = [
  { name: '1024x1024x1024', batch: 1, M: 1024, K: 1024, N: 1024 },
  { name: '16x256x256x256', batch: 16, M: 256, K: 256, N: 256 },
];

/** Checks a sample of output entries against a float64 dot product: a fast wrong kernel must not win. */
function checkSample(out: Float32Array, a: Float32Array, b: Float32Array, c: Case, what: string): void {
  const { batch, M, K, N } = c;
  for (let s = 0; s < 64; s++) {
    const bi = (s * 7) % batch;
    const i = (s * 131) % M;
    const j = (s * 257 + 3) % N;
    let ref = 0;
    for (let k = 0; k < K; k++) ref += a[bi * M * K + i * K + k] * b[bi * K * N + k * N + j];
    const got = out[bi * M * N + i * N + j];
    if (!(Math.abs(got - ref) <= 1e-4 * Math.sqrt(K) * 4)) throw new Error(`${what} ${c.name}: C[${bi},${i},${j}] = ${got}, expected ${ref}`);
  }
}

const e = await init();
const forced = process.argv.indexOf('--variant');
if (forced > 0) F.setMatmulVariant(process.argv[forced + 1] as F.MatmulVariant);
const backend = await useTfjsOnEngineDevice();
console.log(`adapter: ${e.adapter.description || e.adapter.device}; our matmul variant: ${matmulVariant()}`);
const rows: { name: string; ours_gflops: number; peer_gflops: number; speedup: number }[] = [];
for (const c of cases) {
  const rng = new F.Rng(42);
  const shapeA = c.batch === 1 ? [c.M, c.K] : [c.batch, c.M, c.K];
  const shapeB = c.batch === 1 ? [c.K, c.N] : [c.batch, c.K, c.N];
  const a = rng.fill(c.batch * c.M * c.K, () => rng.uniform(-1, 1));
  const b = rng.fill(c.batch * c.K * c.N, () => rng.uniform(-1, 1));
  const flops = 2 * c.batch * c.M * c.N * c.K;

  const A = F.tensor(a, shapeA);
  const B = F.tensor(b, shapeB);
  const ours = () => F.matmul(A, B).dispose();
  const check = F.matmul(A, B);
  checkSample(await check.data(), a, b, c, 'ours');
  check.dispose();
  const tOurs = await timeGpu(ours);

  const tA = tf.tensor(a, shapeA);
  const tB = tf.tensor(b, shapeB);
  const peer = () => tf.matMul(tA, tB).dispose();
  const tcheck = tf.matMul(tA, tB);
  checkSample((await tcheck.data()) as Float32Array, a, b, c, 'tfjs');
  tcheck.dispose();
  const tPeer = await timeGpu(peer, { backend });

  const row = { name: c.name, ours_gflops: flops / tOurs / 1e9, peer_gflops: flops / tPeer / 1e9, speedup: tPeer / tOurs };
  rows.push(row);
  console.log(`${c.name.padEnd(16)} ours ${row.ours_gflops.toFixed(2).padStart(7)} GFLOP/s   tfjs-webgpu ${row.peer_gflops.toFixed(2).padStart(7)} GFLOP/s   speedup ${row.speedup.toFixed(2)}x`);
  A.dispose();
  B.dispose();
  tA.dispose();
  tB.dispose();
}
printResult({
  name: 'matmul',
  unit: 'GFLOP/s',
  ours: +rows[0].ours_gflops.toFixed(3),
  peer: +rows[0].peer_gflops.toFixed(3),
  peer_name: 'tfjs-webgpu',
  speedup: +geomean(rows.map((r) => r.speedup)).toFixed(3),
  cases: rows,
});
shutdown();
process.exit(0);
