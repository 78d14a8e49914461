import { describe, it, expect, afterAll, type TestContext } from 'vitest';
import * as F from '../src/index.ts';
import { matmulCore } from '../src/autograd/ops.ts';
import { subgroupKernelsSupported } from '../src/kernels/subgroups.ts';
import { setWideMinTiles } from '../src/kernels/matmul.ts';
import { Rand, size, gradCheck, relErr } from './helpers/ref.ts';

/** Float64 batched matmul with NumPy batch broadcasting (rank ≥ 2 operands). */
function refMatmul(a: Float64Array, as: number[], b: Float64Array, bs: number[], ta = false, tb = false) {
  const [ar, ac] = as.slice(-2);
  const [br, bc] = bs.slice(-2);
  const M = ta ? ac : ar;
  const K = ta ? ar : ac;
  const N = tb ? br : bc;
  const ab = as.slice(0, -2);
  const bb = bs.slice(0, -2);
  const n = Math.max(ab.length, bb.length);
  const pa = [...Array(n - ab.length).fill(1), ...ab];
  const pb = [...Array(n - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const B = size(batch);
  const out = new Float64Array(B * M * N);
  for (let bi = 0; bi < B; bi++) {
    let rem = bi;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let d = batch.length - 1; d >= 0; d--) {
      const c = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      ia += (pa[d] === 1 ? 0 : c) * sa;
      ib += (pb[d] === 1 ? 0 : c) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    for (let m = 0; m < M; m++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = ta ? a[ia * ar * ac + k * ac + m] : a[ia * ar * ac + m * ac + k];
          const bv = tb ? b[ib * br * bc + j * bc + k] : b[ib * br * bc + k * bc + j];
          s += av * bv;
        }
        out[bi * M * N + m * N + j] = s;
      }
    }
  }
  return { out, shape: [...batch, M, N] };
}

const f64 = (x: Float64Array) => Float64Array.from(Float32Array.from(x));

// Every variant runs on every adapter (the choice by adapter is a speed matter, not a correctness one), except
// 'subgroup', which needs the device feature: its tests are skipped, and say so, where it is missing.
// 'shared-wide' is the shared variant with its 128×128 tiles forced on at every size.
for (const variant of ['register', 'subgroup', 'shared', 'shared-wide'] as const) {
  describe(`matmul, ${variant} variant`, () => {
    afterAll(() => {
      F.setMatmulVariant(null);
      setWideMinTiles(null);
    });
    const use = (ctx: TestContext) => {
      if (variant === 'subgroup' && !subgroupKernelsSupported()) ctx.skip('device has no 8-wide subgroups');
      F.setMatmulVariant(variant === 'shared-wide' ? 'shared' : variant);
      setWideMinTiles(variant === 'shared-wide' ? 1 : null);
    };
    const run = async (as: number[], bs: number[], tol: number, seed: number) => {
      const r = new Rand(seed);
      const a = r.uniform(size(as));
      const b = r.uniform(size(bs));
      const { out, shape } = refMatmul(f64(a), as, f64(b), bs);
      const y = F.tidy(() => F.matmul(F.tensor(Float32Array.from(a), as), F.tensor(Float32Array.from(b), bs)));
      expect(y.shape).toEqual(shape);
      const err = relErr(await y.data(), out);
      y.dispose();
      expect(err, `${JSON.stringify(as)}·${JSON.stringify(bs)}`).toBeLessThan(tol);
    };

    it('[37,1000]·[1000,29]: K = 1000 within 1e-4', async (ctx) => {
      use(ctx);
      await run([37, 1000], [1000, 29], 1e-4, 1);
    });
    it('[5,7]·[7,3] and [1,1]·[1,1]', async (ctx) => {
      use(ctx);
      await run([5, 7], [7, 3], 1e-5, 2);
      await run([1, 1], [1, 1], 1e-6, 3);
    });
    it('[70,65]·[65,130] and [64,96]·[96,68]: several blocks, ragged and aligned edges', async (ctx) => {
      use(ctx);
      await run([70, 65], [65, 130], 1e-5, 4);
      await run([64, 96], [96, 68], 1e-5, 13);
    });
    it('batched [3,17,19]·[3,19,23]', async (ctx) => {
      use(ctx);
      await run([3, 17, 19], [3, 19, 23], 1e-5, 5);
    });
    it('batch broadcasting [2,1,5,6]·[3,6,4] and [5,6]·[4,6,7]', async (ctx) => {
      use(ctx);
      await run([2, 1, 5, 6], [3, 6, 4], 1e-5, 6);
      await run([5, 6], [4, 6, 7], 1e-5, 7);
    });

    it('1-D operands follow NumPy (vector·matrix, matrix·vector, dot)', async (ctx) => {
      use(ctx);
      const m = F.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      const v3 = F.tensor([1, 0, -1], [3]);
      const v2 = F.tensor([2, -1], [2]);
      const mv = F.matmul(m, v3);
      const vm = F.matmul(v2, m);
      const dot = F.matmul(v3, v3);
      expect(mv.shape).toEqual([2]);
      expect(Array.from(await mv.data())).toEqual([-2, -2]);
      expect(vm.shape).toEqual([3]);
      expect(Array.from(await vm.data())).toEqual([-2, -1, 0]);
      expect(dot.shape).toEqual([]);
      expect(await dot.item()).toBe(2);
      [m, v3, v2, mv, vm, dot].forEach((t) => t.dispose());
    });

    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const name = `A${ta ? 'ᵀ' : ''}·B${tb ? 'ᵀ' : ''}`;
      const operands = (M: number, K: number, N: number, batch: number[]) => ({
        as: [...batch, ...(ta ? [K, M] : [M, K])],
        bs: tb ? [N, K] : [K, N],
      });

      // [M, K, N]: multiples of 4 (vec4 paths, two blocks each way, full k-slices), ragged with a k-tail, and
      // dimensions below 4 (clamped loads).
      it(`transposed operands: ${name} forward on aligned, ragged and tiny shapes`, async (ctx) => {
        use(ctx);
        for (const [M, K, N] of [[36, 20, 44], [37, 23, 41], [3, 7, 2], [2, 4, 1]]) {
          const { as, bs } = operands(M, K, N, [2]);
          const r = new Rand(M * 131 + N);
          const a = r.uniform(size(as));
          const b = r.uniform(size(bs));
          const { out } = refMatmul(f64(a), as, f64(b), bs, ta, tb);
          const y = F.tidy(() => matmulCore(F.tensor(Float32Array.from(a), as), F.tensor(Float32Array.from(b), bs), ta, tb));
          expect(y.shape).toEqual([2, M, N]);
          expect(relErr(await y.data(), out), `${name} M=${M} K=${K} N=${N}`).toBeLessThan(1e-5);
          y.dispose();
        }
      });

      it(`transposed operands: ${name} gradients`, async (ctx) => {
        use(ctx);
        const { as, bs } = operands(6, 9, 5, [2]);
        const r = new Rand(11);
        await gradCheck({
          inputs: [{ data: r.uniform(size(as)), shape: as }, { data: r.uniform(size(bs)), shape: bs }],
          gpuFn: (x, z) => matmulCore(x, z, ta, tb),
          refFn: (x, z) => refMatmul(x, as, z, bs, ta, tb).out,
        });
      });
    }

    it('gradients with batch broadcasting', async (ctx) => {
      use(ctx);
      const as = [2, 1, 4, 3];
      const bs = [3, 3, 5];
      const r = new Rand(12);
      await gradCheck({
        inputs: [{ data: r.uniform(size(as)), shape: as }, { data: r.uniform(size(bs)), shape: bs }],
        gpuFn: F.matmul,
        refFn: (x, z) => refMatmul(x, as, z, bs).out,
      });
    });
  });
}

describe('matmul variant choice', () => {
  afterAll(() => F.setMatmulVariant(null));
  it('CPU adapters get a barrier-free variant, GPUs the shared tiles; an override wins', () => {
    const cpu = F.engine().adapter.isCpu;
    expect(F.matmulVariant()).toBe(cpu ? (subgroupKernelsSupported() ? 'subgroup' : 'register') : 'shared');
    F.setMatmulVariant('register');
    expect(F.matmulVariant()).toBe('register');
  });

  it('the subgroup variant on a device without subgroups is refused with the op named', (ctx) => {
    if (subgroupKernelsSupported()) ctx.skip('device has subgroups');
    F.setMatmulVariant('subgroup');
    const a = F.tensor([1, 2], [1, 2]);
    expect(() => F.tidy(() => F.matmul(a, F.tensor([1, 2], [2, 1])))).toThrow(/matmul\(\[1,2\], \[2,1\]\): the subgroup variant needs/);
    a.dispose();
  });
});
