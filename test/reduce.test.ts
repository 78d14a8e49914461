import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { Rand, size, strides, unravel, gradCheck, relErr } from './helpers/ref.ts';
import { reduceKernel } from '../src/kernels/reduce.ts';

function refReduce(op: 'sum' | 'mean' | 'max', x: Float64Array, shape: number[], axes: number[], keepdims: boolean) {
  const outShapeKd = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const ost = strides(outShapeKd);
  const n = size(outShapeKd);
  const out = new Float64Array(n).fill(op === 'max' ? -Infinity : 0);
  for (let i = 0; i < x.length; i++) {
    const c = unravel(i, shape);
    let o = 0;
    c.forEach((v, d) => (o += (axes.includes(d) ? 0 : v) * ost[d]));
    out[o] = op === 'max' ? Math.max(out[o], x[i]) : out[o] + x[i];
  }
  if (op === 'mean') {
    const count = axes.reduce((k, a) => k * shape[a], 1);
    for (let i = 0; i < n; i++) out[i] /= count;
  }
  const outShape = keepdims ? outShapeKd : shape.filter((_, i) => !axes.includes(i));
  return { out, outShape };
}

const cases: [number[], number[] | undefined][] = [
  [[1000], undefined],
  [[3, 37, 5], [1]],
  [[3, 37, 5], [0, 2]],
  [[3, 37, 5], [2]],
  [[3, 37, 5], [0]],
  [[2, 5, 7, 3], [0, 2, 3]],
  [[2, 5, 7, 3], [1, 3]],
  [[2, 5, 7, 3], undefined],
  [[4, 1, 6], [1]],
  [[3, 4099], [1]],
  [[300, 3], [0]],
];

describe('reductions over any axes (sum, mean, max), with and without keepdims', () => {
  for (const op of ['sum', 'mean', 'max'] as const) {
    for (const [shape, axes] of cases) {
      for (const keepdims of [false, true]) {
        it(`${op} ${JSON.stringify(shape)} axes=${JSON.stringify(axes)} keepdims=${keepdims}`, async () => {
          const x = new Rand(shape.length * 13 + (axes?.length ?? 9) + op.length).uniform(size(shape), -2, 2);
          const ax = axes ?? shape.map((_, i) => i);
          const { out, outShape } = refReduce(op, Float64Array.from(Float32Array.from(x)), shape, ax, keepdims);
          const fn = (t: F.Tensor) => F[op](t, axes, keepdims);
          const y = F.tidy(() => fn(F.tensor(Float32Array.from(x), shape)));
          expect(y.shape).toEqual(outShape);
          // Relative to the largest output: a sum that cancels to ~0 has no meaningful per-element relative error.
          expect(relErr(await y.data(), out)).toBeLessThan(1e-5);
          y.dispose();
          if (size(shape) <= 2000) {
            await gradCheck({
              inputs: [{ data: x, shape }],
              gpuFn: fn,
              refFn: (a) => refReduce(op, a, shape, ax, keepdims).out,
              samples: 200,
            });
          }
        });
      }
    }
  }

  it('negative axes and the axis out of range error', async () => {
    const x = F.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(Array.from(await F.sum(x, -1).data())).toEqual([6, 15]);
    expect(() => F.sum(x, 2)).toThrow(/sum: axis 2 is out of range for rank 2/);
    x.dispose();
  });

  it('max shares the gradient between tied maxima', async () => {
    const x = F.tensor([1, 3, 3, 2], [4]);
    x.requiresGrad = true;
    F.tidy(() => F.backward(F.max(x)));
    expect(Array.from(await x.grad!.data())).toEqual([0, 0.5, 0.5, 0]);
    x.dispose();
  });

  it('sum of squares in one pass, per item and over all, two runs of axes (squared in the first only), nothing to reduce', async () => {
    const shape = [3, 4, 5, 7];
    const x = Float64Array.from(Float32Array.from(new Rand(6).uniform(size(shape), -2, 2)));
    const t = F.tensor(Float32Array.from(x), shape);
    const sq = (pick: (i: number) => number, n: number) => {
      const out = new Float64Array(n);
      x.forEach((v, i) => (out[pick(i)] += v * v));
      return out;
    };
    const item = 4 * 5 * 7;
    const cases: [number[], number[], Float64Array][] = [
      [[1, 2, 3], [3], sq((i) => Math.floor(i / item), 3)],
      [[0, 1, 2, 3], [1], sq(() => 0, 1)],
      // Axes 1 and 3: two runs, the inner one squared, the outer one summed.
      [[1, 3], [3, 5], sq((i) => Math.floor(i / item) * 5 + (Math.floor(i / 7) % 5), 15)],
    ];
    for (const [axes, out, want] of cases) {
      const got = F.tidy(() => reduceKernel('sumsq', t, axes, out));
      expect(relErr(await got.data(), want), JSON.stringify(axes)).toBeLessThan(1e-6);
      got.dispose();
    }
    const ones = F.tensor([1.5, -2, 3], [3, 1, 1, 1]);
    const squares = F.tidy(() => reduceKernel('sumsq', ones, [1, 2, 3], [3]));
    expect(Array.from(await squares.data())).toEqual([2.25, 4, 9]);
    [t, ones, squares].forEach((v) => v.dispose());
  });

  it('a long reduction of a large tensor (one workgroup per output) stays accurate', async () => {
    const n = 1 << 20;
    const x = new Rand(5).uniform(n, 0, 1);
    const want = x.reduce((a, b) => a + Math.fround(b), 0);
    const got = await F.tidy(() => F.sum(F.tensor(Float32Array.from(x), [n]))).item();
    expect(Math.abs(got - want) / want).toBeLessThan(1e-5);
  });
});
