import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { maxPool2d, avgPool2d, globalAvgPool, type AvgPoolOptions } from '../src/autograd/pool.ts';
import { affineAct } from '../src/autograd/affine_act.ts';
import { gradFacts } from '../src/autograd/tape.ts';
import { Rand, size, gradCheck, relErr } from './helpers/ref.ts';

interface Q { k: [number, number]; s: [number, number]; p: [number, number, number, number]; d?: [number, number]; ceil?: boolean; countPad?: boolean }

/** Float64 pooling by definition (ONNX semantics). */
function refPool(kind: 'max' | 'avg', x: Float64Array, [N, C, H, W]: number[], q: Q) {
  const [KH, KW] = q.k;
  const [SH, SW] = q.s;
  const [DH, DW] = q.d ?? [1, 1];
  const [PT, PL, PB, PR] = q.p;
  const osize = (n: number, k: number, d: number, s: number, lo: number, hi: number) => {
    const span = n + lo + hi - ((k - 1) * d + 1);
    let o = (q.ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (q.ceil && (o - 1) * s >= n + lo) o--;
    return o;
  };
  const OH = osize(H, KH, DH, SH, PT, PB);
  const OW = osize(W, KW, DW, SW, PL, PR);
  const out = new Float64Array(N * C * OH * OW);
  for (let pl = 0; pl < N * C; pl++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let best = -Infinity;
        let acc = 0;
        let cnt = 0;
        for (let ky = 0; ky < KH; ky++)
          for (let kx = 0; kx < KW; kx++) {
            const iy = oy * SH - PT + ky * DH;
            const ix = ox * SW - PL + kx * DW;
            const inPadded = iy >= -PT && iy < H + PB && ix >= -PL && ix < W + PR;
            if (q.countPad && inPadded) cnt++;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            if (!q.countPad) cnt++;
            const v = x[(pl * H + iy) * W + ix];
            best = Math.max(best, v);
            acc += v;
          }
        out[(pl * OH + oy) * OW + ox] = kind === 'max' ? best : acc / cnt;
      }
  return { out, shape: [N, C, OH, OW] };
}

const cases: [string, 'max' | 'avg', number[], Q][] = [
  ['max 3×3/2 (face model), 35×35, 5 channels, batch 2', 'max', [2, 5, 35, 35], { k: [3, 3], s: [2, 2], p: [0, 0, 0, 0] }],
  ['max 3×3/2 padded 1, ceil mode, 17×13', 'max', [1, 3, 17, 13], { k: [3, 3], s: [2, 2], p: [1, 1, 1, 1], ceil: true }],
  ['max 2×3 stride 1×2, asymmetric pad, dilation 2', 'max', [2, 3, 11, 9], { k: [2, 3], s: [1, 2], p: [0, 1, 1, 0], d: [2, 2] }],
  ['avg 2×2/2, 17×13 (odd: the last row/column is dropped)', 'avg', [2, 3, 17, 13], { k: [2, 2], s: [2, 2], p: [0, 0, 0, 0] }],
  ['avg 3×3/2 pad 1, padding not counted', 'avg', [1, 6, 9, 11], { k: [3, 3], s: [2, 2], p: [1, 1, 1, 1], countPad: false }],
  ['avg 3×3/2 pad 1, padding counted, ceil mode', 'avg', [1, 6, 9, 11], { k: [3, 3], s: [2, 2], p: [1, 1, 1, 1], countPad: true, ceil: true }],
];

describe('pooling: forward against float64, backward against finite differences', () => {
  for (const [name, kind, xs, q] of cases) {
    it(name, async () => {
      const x = new Rand(size(xs)).uniform(size(xs), -2, 2);
      const opts: AvgPoolOptions = { kernel: q.k, stride: q.s, padding: q.p, dilation: q.d, ceilMode: q.ceil, countIncludePad: q.countPad };
      const fn = (t: F.Tensor) => (kind === 'max' ? maxPool2d(t, opts) : avgPool2d(t, opts));
      const { out, shape } = refPool(kind, Float64Array.from(Float32Array.from(x)), xs, q);
      const y = F.tidy(() => fn(F.tensor(Float32Array.from(x), xs)));
      expect(y.shape).toEqual(shape);
      expect(relErr(await y.data(), out)).toBeLessThan(1e-6);
      y.dispose();
      await gradCheck({ inputs: [{ data: x, shape: xs }], gpuFn: fn, refFn: (a) => refPool(kind, a, xs, q).out, h: 1e-7, samples: 300 });
    });
  }

  it('globalAvgPool: [N,C,H,W] → [N,C,1,1]', async () => {
    const xs = [2, 3, 5, 7];
    const x = new Rand(3).uniform(size(xs));
    const ref = (a: Float64Array) => {
      const o = new Float64Array(6);
      for (let i = 0; i < a.length; i++) o[Math.floor(i / 35)] += a[i] / 35;
      return o;
    };
    const y = F.tidy(() => globalAvgPool(F.tensor(Float32Array.from(x), xs)));
    expect(y.shape).toEqual([2, 3, 1, 1]);
    expect(relErr(await y.data(), ref(Float64Array.from(Float32Array.from(x))))).toBeLessThan(1e-6);
    y.dispose();
    await gradCheck({ inputs: [{ data: x, shape: xs }], gpuFn: globalAvgPool, refFn: ref });
  });

  it('after a ReLU, the max pool\'s backward applies its mask: finite differences, the bits of the separate pass, one launch fewer', async () => {
    const xs = [2, 4, 15, 13];
    const x = new Rand(31).uniform(size(xs), -1, 1);
    const q: Q = { k: [3, 3], s: [2, 2], p: [0, 0, 0, 0] };
    const fn = (t: F.Tensor) => maxPool2d(F.relu(t), { kernel: q.k, stride: q.s });
    await gradCheck({ inputs: [{ data: x, shape: xs }], gpuFn: fn, refFn: (a) => refPool('max', a.map((v) => Math.max(v, 0)), xs, q).out, h: 1e-7, samples: 300 });
    const grads = async (fuse: boolean) => {
      gradFacts.fuse = fuse;
      const t = F.tensor(Float32Array.from(x), xs);
      t.requiresGrad = true;
      const before = F.engine().launches;
      F.tidy(() => F.backward(F.sum(F.mul(fn(t), F.tensor(Float32Array.from(new Rand(32).uniform(2 * 4 * 7 * 6)), [2, 4, 7, 6])))));
      const launched = F.engine().launches - before;
      const g = await t.grad!.data();
      t.dispose();
      return { g, launched };
    };
    try {
      const [fused, passes] = [await grads(true), await grads(false)];
      expect(Array.from(fused.g)).toEqual(Array.from(passes.g));
      expect(passes.launched - fused.launched).toBe(1);
    } finally {
      gradFacts.fuse = true;
    }
  });

  it('many planes of few pixels (2 × 33 000 channels of 3 × 2): forward and backward against float64', async () => {
    const xs = [2, 33000, 3, 2];
    const x = new Rand(5).uniform(size(xs), -1, 1);
    const q: Q = { k: [2, 2], s: [1, 2], p: [0, 0, 0, 0] };
    const dyData = Float32Array.from(new Rand(6).uniform(2 * 33000 * 2));
    for (const kind of ['max', 'avg'] as const) {
      const t = F.tensor(Float32Array.from(x), xs);
      t.requiresGrad = true;
      const fn = (a: F.Tensor) => (kind === 'max' ? maxPool2d(a, { kernel: q.k, stride: q.s }) : avgPool2d(a, { kernel: q.k, stride: q.s }));
      const y = F.keep(F.tidy(() => {
        const y = fn(t);
        F.backward(F.sum(F.mul(y, F.tensor(dyData, y.shape))));
        return y;
      }));
      const ref = refPool(kind, Float64Array.from(Float32Array.from(x)), xs, q).out;
      expect(relErr(await y.data(), ref), kind).toBeLessThan(1e-6);
      // dx: each window (one row pair, one column pair) hands dy to its maximum or a quarter to each pixel.
      const dx = await t.grad!.data();
      const want = new Float64Array(x.length);
      for (let o = 0; o < ref.length; o++) {
        const [pl, oy, ox] = [Math.floor(o / 2), o % 2, 0];
        const at = [0, 1].flatMap((dy) => [0, 1].map((dxo) => (pl * 3 + oy + dy) * 2 + ox * 2 + dxo));
        if (kind === 'avg') at.forEach((i) => (want[i] += dyData[o] / 4));
        else want[at.reduce((b, i) => (Math.fround(x[i]) > Math.fround(x[b]) ? i : b))] += dyData[o];
      }
      expect(relErr(dx, want), `${kind} backward`).toBeLessThan(1e-6);
      [y, t].forEach((u) => u.dispose());
    }
  });

  it('the argmax is released with the output, and bad shapes are refused', () => {
    const before = F.engine().stats().bytesInUse;
    const x = F.zeros([1, 1, 4, 4]);
    maxPool2d(x, { kernel: 2 }).dispose();
    x.dispose();
    expect(F.engine().stats().bytesInUse).toBe(before);
    F.tidy(() => {
      expect(() => maxPool2d(F.zeros([4, 4]), { kernel: 2 })).toThrow(/maxPool2d: input must be NCHW/);
      expect(() => maxPool2d(F.zeros([1, 1, 2, 2]), { kernel: 3 })).toThrow(/maxPool2d: window 3×3 is larger than the padded input 2×2/);
    });
  });
});

describe('fused bias + per-channel scale/shift + ReLU', () => {
  const xs = [2, 5, 7, 3];
  const C = 5;
  const ref = (x: Float64Array, b: Float64Array | null, s: Float64Array | null, t: Float64Array | null, relu: boolean) =>
    x.map((v, i) => {
      const c = Math.floor(i / 21) % C;
      const y = (v + (b ? b[c] : 0)) * (s ? s[c] : 1) + (t ? t[c] : 0);
      return relu ? Math.max(y, 0) : y;
    });
  for (const [name, useB, useS, useT, relu] of [
    ['all parameters, ReLU', true, true, true, true],
    ['scale + shift only, ReLU', false, true, true, true],
    ['bias only, no ReLU', true, false, false, false],
  ] as [string, boolean, boolean, boolean, boolean][]) {
    it(name, async () => {
      const r = new Rand(name.length);
      const x = r.uniform(size(xs), -2, 2);
      const ps = [useB, useS, useT].map((u) => (u ? r.uniform(C, -1, 1) : null));
      const on = ps.map((p, i) => (p ? i : -1)).filter((i) => i >= 0);
      const gpu = (...ts: F.Tensor[]) => {
        const get = (i: number) => (ps[i] ? ts[1 + on.indexOf(i)] : undefined);
        return affineAct(ts[0], { bias: get(0), scale: get(1), shift: get(2), relu });
      };
      const cpu = (...as: Float64Array[]) => {
        const get = (i: number) => (ps[i] ? as[1 + on.indexOf(i)] : null);
        return ref(as[0], get(0), get(1), get(2), relu);
      };
      const inputs = [{ data: x, shape: xs }, ...on.map((i) => ({ data: ps[i]!, shape: [C] }))];
      const want = cpu(...inputs.map((t) => Float64Array.from(Float32Array.from(t.data))));
      const y = F.tidy(() => gpu(...inputs.map((t) => F.tensor(Float32Array.from(t.data), t.shape))));
      expect(relErr(await y.data(), want)).toBeLessThan(1e-6);
      y.dispose();
      await gradCheck({ inputs, gpuFn: gpu, refFn: cpu });
    });
  }

  it('a parameter of the wrong length is refused', () => {
    F.tidy(() => {
      expect(() => affineAct(F.zeros([1, 4, 2, 2]), { scale: F.zeros([3]) })).toThrow(/affineAct: scale \[3\] must be \[4\]/);
    });
  });
});
