// Matmul GFLOP/s, ours against tfjs-webgpu on the same adapter and device, in one process. Every kernel variant
// the device can run is timed; "ours" in the result line is the variant the engine picks for this adapter.
// Run: node --import tsx bench/matmul.ts      (last line: JSON result)
import * as F from '../src/index.ts';
import { init, shutdown, matmulVariant, type MatmulVariant } from '../src/index.ts';
import { subgroupKernelsSupported } from '../src/kernels/subgroups.ts';
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
    // Entries are sums of K products of values in [-1, 1]: f32 rounding stays far below 1e-4·√K·4.
    if (!(Math.abs(got - ref) <= 1e-4 * Math.sqrt(K) * 4)) throw new Error(`${what} ${c.name}: C[${bi},${i},${j}] = ${got}, expected ${ref}`);
  }
}

const e = await init();
// The GPU figure (fp32 share of peak) is read at 4096³; on a CPU adapter that size takes minutes.
if (!e.adapter.isCpu) cases.push({ name: '4096x4096x4096', batch: 1, M: 4096, K: 4096, N: 4096 });
const chosen = matmulVariant();
const variants: MatmulVariant[] = [...(subgroupKernelsSupported() ? (['subgroup'] as const) : []), 'register', 'shared'];
const backend = await useTfjsOnEngineDevice();
console.log(`adapter: ${e.adapter.description || e.adapter.device}; variants timed: ${variants.join(', ')}; engine's choice: ${chosen}`);

interface Row {
  name: string;
  ours_variant: MatmulVariant;
  ours_gflops: number;
  peer_gflops: number;
  speedup: number;
  variants: Partial<Record<MatmulVariant, number>>;
}
const rows: Row[] = [];
for (const c of cases) {
  const rng = new F.Rng(42);
  const shapeA = c.batch === 1 ? [c.M, c.K] : [c.batch, c.M, c.K];
  const shapeB = c.batch === 1 ? [c.K, c.N] : [c.batch, c.K, c.N];
  const a = rng.fill(c.batch * c.M * c.K, () => rng.uniform(-1, 1));
  const b = rng.fill(c.batch * c.K * c.N, () => rng.uniform(-1, 1));
  const flops = 2 * c.batch * c.M * c.N * c.K;

  const A = F.tensor(a, shapeA);
  const B = F.tensor(b, shapeB);
  const seconds: Partial<Record<MatmulVariant, number>> = {};
  for (const v of variants) {
    F.setMatmulVariant(v);
    const check = F.matmul(A, B);
    try {
      checkSample(await check.data(), a, b, c, `ours (${v})`);
    } catch (err) {
      // A variant the engine does not pick on this adapter may be wrong here: say so and time the others.
      if (v === chosen) throw err;
      console.log(`WRONG: ${(err as Error).message}`);
      seconds[v] = Infinity;
      continue;
    } finally {
      check.dispose();
    }
    seconds[v] = await timeGpu(() => F.matmul(A, B).dispose());
  }
  F.setMatmulVariant(null);

  const tA = tf.tensor(a, shapeA);
  const tB = tf.tensor(b, shapeB);
  const tcheck = tf.matMul(tA, tB);
  checkSample((await tcheck.data()) as Float32Array, a, b, c, 'tfjs');
  tcheck.dispose();
  const tPeer = await timeGpu(() => tf.matMul(tA, tB).dispose(), { backend });

  const gflops = (s: number) => +(flops / s / 1e9).toFixed(3);
  const tOurs = seconds[chosen]!;
  const row: Row = {
    name: c.name,
    ours_variant: chosen,
    ours_gflops: gflops(tOurs),
    peer_gflops: gflops(tPeer),
    speedup: +(tPeer / tOurs).toFixed(3),
    variants: Object.fromEntries(variants.map((v) => [v, gflops(seconds[v]!)])),
  };
  rows.push(row);
  const each = variants.map((v) => `${v} ${row.variants[v]!.toFixed(2).padStart(6)}`).join('   ');
  console.log(`${c.name.padEnd(16)} ours: ${each} GFLOP/s   tfjs-webgpu ${row.peer_gflops.toFixed(2).padStart(6)} GFLOP/s   speedup (${chosen}) ${row.speedup.toFixed(2)}x`);
  A.dispose();
  B.dispose();
  tA.dispose();
  tB.dispose();
}
printResult({
  name: 'matmul',
  unit: 'GFLOP/s',
  ours: rows[0].ours_gflops,
  peer: rows[0].peer_gflops,
  peer_name: 'tfjs-webgpu',
  speedup: +geomean(rows.map((r) => r.speedup)).toFixed(3),
  cases: rows,
});
shutdown();
process.exit(0);
