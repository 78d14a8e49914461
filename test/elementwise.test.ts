import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { Rand, size, strides, unravel, expectClose, gradCheck, elemErr } from './helpers/ref.ts';

/** Float64 NumPy-broadcast binary op. */
function refBinary(f: (a: number, b: number) => number, a: Float64Array, as: number[], b: Float64Array, bs: number[]) {
  const n = Math.max(as.length, bs.length);
  const pa = [...Array(n - as.length).fill(1), ...as];
  const pb = [...Array(n - bs.length).fill(1), ...bs];
  const os = pa.map((d, i) => Math.max(d, pb[i]));
  const sa = strides(pa).map((s, i) => (pa[i] === 1 ? 0 : s));
  const sb = strides(pb).map((s, i) => (pb[i] === 1 ? 0 : s));
  const out = new Float64Array(size(os));
  for (let i = 0; i < out.length; i++) {
    const c = unravel(i, os);
    let ia = 0;
    let ib = 0;
    c.forEach((v, d) => {
      ia += v * sa[d];
      ib += v * sb[d];
    });
    out[i] = f(a[ia], b[ib]);
  }
  return { out, shape: os };
}

const unaryCases: [string, (x: F.Tensor) => F.Tensor, (x: number) => number, [number, number]][] = [
  ['neg', F.neg, (x) => -x, [-2, 2]],
  ['relu', F.relu, (x) => Math.max(x, 0), [-2, 2]],
  ['exp', F.exp, Math.exp, [-3, 3]],
  ['log', F.log, Math.log, [0.1, 5]],
  ['sqrt', F.sqrt, Math.sqrt, [0.1, 5]],
  ['abs', F.abs, Math.abs, [-2, 2]],
  ['sigmoid', F.sigmoid, (x) => 1 / (1 + Math.exp(-x)), [-4, 4]],
  ['tanh', F.tanh, Math.tanh, [-3, 3]],
  ['square', F.square, (x) => x * x, [-2, 2]],
  ['clamp', (x) => F.clamp(x, -0.5, 0.7), (x) => Math.min(Math.max(x, -0.5), 0.7), [-2, 2]],
  ['leakyRelu', (x) => F.leakyRelu(x, 0.1), (x) => (x > 0 ? x : 0.1 * x), [-2, 2]],
  ['add scalar', (x) => F.add(x, 1.5), (x) => x + 1.5, [-2, 2]],
  ['sub scalar', (x) => F.sub(x, 1.5), (x) => x - 1.5, [-2, 2]],
  ['scalar sub', (x) => F.sub(1.5, x), (x) => 1.5 - x, [-2, 2]],
  ['mul scalar', (x) => F.mul(x, -2.5), (x) => x * -2.5, [-2, 2]],
  ['div scalar', (x) => F.div(x, 3), (x) => x / 3, [-2, 2]],
  ['scalar div', (x) => F.div(2, x), (x) => 2 / x, [0.5, 3]],
  ['pow scalar', (x) => F.pow(x, 2.5), (x) => x ** 2.5, [0.2, 3]],
  ['pow integer, negative base', (x) => F.pow(x, 3), (x) => x ** 3, [-2, 2]],
];

describe('element-wise unary ops: forward against float64, backward against finite differences', () => {
  // 555 elements run one per invocation; 444 (a multiple of 4) as vec4s.
  for (const shape of [[3, 37, 5], [3, 37, 4]])
  for (const [name, gpu, ref, [lo, hi]] of unaryCases) {
    it(`${name} ${JSON.stringify(shape)}`, async () => {
      const x = new Rand(name.length * 31 + 1).uniform(size(shape), lo, hi);
      // Keep inputs off the kinks of relu/abs/clamp so finite differences are meaningful.
      for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) < 1e-3 || Math.abs(x[i] + 0.5) < 1e-3 || Math.abs(x[i] - 0.7) < 1e-3) x[i] += 0.01;
      const xf = Float32Array.from(x);
      const want = Array.from(xf, ref);
      const got = await F.tidy(() => gpu(F.tensor(xf, shape))).data();
      expect(elemErr(got, want, 1e-6), name).toBeLessThan(1e-5);
      await gradCheck({ inputs: [{ data: x, shape }], gpuFn: gpu, refFn: (a) => a.map(ref) });
    });
  }
});

const binaryCases: [string, (a: F.Tensor, b: F.Tensor) => F.Tensor, (a: number, b: number) => number, [number, number], [number, number]][] = [
  ['add', F.add, (a, b) => a + b, [-2, 2], [-2, 2]],
  ['sub', F.sub, (a, b) => a - b, [-2, 2], [-2, 2]],
  ['mul', F.mul, (a, b) => a * b, [-2, 2], [-2, 2]],
  ['div', F.div, (a, b) => a / b, [-2, 2], [0.5, 2]],
  ['pow', F.pow, (a, b) => a ** b, [0.3, 2], [-1.5, 1.5]],
  ['maximum', F.maximum, Math.max, [-2, 2], [-2, 2]],
  ['minimum', F.minimum, Math.min, [-2, 2], [-2, 2]],
  ['prelu', F.prelu, (a, b) => (a > 0 ? a : b * a), [-2, 2], [0.05, 0.5]],
  ['addRelu', F.addRelu, (a, b) => Math.max(a + b, 0), [-2, 2], [-2, 2]],
];

// Broadcasting on each axis, rank promotion, and a plain same-shape case; sizes avoid tile multiples.
const shapePairs: [number[], number[]][] = [
  [[3, 7, 5], [3, 7, 5]],
  [[3, 7, 5], [1, 7, 5]],
  [[3, 7, 5], [3, 1, 5]],
  [[3, 7, 5], [3, 7, 1]],
  [[3, 1, 5], [1, 7, 1]],
  [[7, 5], [2, 3, 7, 5]],
  [[5], [3, 7, 5]],
  [[], [3, 7]],
  // Four axes that cannot merge (a and b alternate being broadcast): the general index path.
  [[2, 1, 3, 1], [1, 4, 1, 5]],
  // Multiples of 4 along the last axis: vec4s, flat, with an operand splatted, or both walking it.
  [[3, 4, 8], [3, 4, 8]],
  [[3, 4, 8], [1, 4, 1]],
  [[3, 1, 8], [1, 5, 8]],
  [[12], [3, 1, 12]],
];

describe('element-wise binary ops with NumPy broadcasting', () => {
  for (const [name, gpu, ref, ra, rb] of binaryCases) {
    for (const [as, bs] of shapePairs) {
      it(`${name} ${JSON.stringify(as)} ∘ ${JSON.stringify(bs)}`, async () => {
        const rnd = new Rand(as.length * 7 + bs.length + name.length);
        const a = rnd.uniform(size(as), ...ra);
        const b = rnd.uniform(size(bs), ...rb);
        const { out, shape } = refBinary(ref, Float64Array.from(Float32Array.from(a)), as, Float64Array.from(Float32Array.from(b)), bs);
        const y = F.tidy(() => gpu(F.tensor(Float32Array.from(a), as), F.tensor(Float32Array.from(b), bs)));
        expect(y.shape).toEqual(shape);
        expect(elemErr(await y.data(), out, 1e-6)).toBeLessThan(1e-5);
        y.dispose();
        await gradCheck({
          inputs: [{ data: a, shape: as }, { data: b, shape: bs }],
          gpuFn: gpu,
          refFn: (x, z) => refBinary(ref, x, as, z, bs).out,
        });
      });
    }
  }

  it('comparisons give 0/1 and refuse backward with the op named', async () => {
    const a = F.tensor([1, 2, 3], [3]);
    const b = F.tensor([2, 2, 2], [3]);
    await expectClose(F.equal(a, b), [0, 1, 0], 1e-7);
    await expectClose(F.greater(a, b), [0, 0, 1], 1e-7);
    await expectClose(F.greaterEqual(a, b), [0, 1, 1], 1e-7);
    a.requiresGrad = true;
    expect(() => F.tidy(() => F.backward(F.sum(F.greater(a, b))))).toThrow(/'gt'.*not differentiable/);
    a.dispose();
    b.dispose();
  });

  it('incompatible shapes name the op and both shapes', () => {
    const a = F.zeros([2, 3]);
    const b = F.zeros([4]);
    expect(() => F.add(a, b)).toThrow(/add: shapes \[2,3\] and \[4\] cannot be broadcast/);
    a.dispose();
    b.dispose();
  });
});
