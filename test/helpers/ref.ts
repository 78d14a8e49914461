// Float64 CPU references and checking helpers. References live in test/, never in src/.
import { expect } from 'vitest';
import { Tensor, tensor, tidy, sum, mul, backward, engine } from '../../src/index.ts';

export type Arr = Float64Array;

export class Rand {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(n: number, lo = -1, hi = 1): Float64Array {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * this.next();
    return a;
  }
}

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function strides(shape: readonly number[]): number[] {
  const s = new Array(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Coordinates of flat index i in shape. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const c = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return c;
}

/** ‖a − b‖∞ / max(‖b‖∞, floor): the relative error used by every kernel test. */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>, floor = 1e-6): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let num = 0;
  let den = floor;
  for (let i = 0; i < got.length; i++) {
    if (!Number.isFinite(got[i]) && got[i] !== want[i]) return Infinity;
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return num / den;
}

/** Element-wise relative error: max_i |a_i − b_i| / (|b_i| + atol). */
export function elemErr(got: ArrayLike<number>, want: ArrayLike<number>, atol = 1e-6): number {
  let e = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + atol);
    if (!(d <= e)) e = Number.isNaN(d) ? Infinity : Math.max(e, d);
  }
  return e;
}

export async function expectClose(t: Tensor, want: ArrayLike<number>, tol: number, what = ''): Promise<void> {
  const got = await t.data();
  const err = relErr(got, want);
  expect(err, `${what} relative error ${err}`).toBeLessThan(tol);
}

/**
 * Checks the engine's backward pass of `gpuFn` against central finite differences of the float64
 * reference `refFn` (same maths, on the host). The scalar checked is L = Σ f(x)·r for a random r.
 */
export async function gradCheck(opts: {
  inputs: { data: Float64Array; shape: number[] }[];
  gpuFn: (...xs: Tensor[]) => Tensor;
  refFn: (...xs: Float64Array[]) => Float64Array;
  seed?: number;
  tol?: number;
  h?: number;
  /** Only these input indices are checked (default: all). */
  check?: number[];
  /** Check at most this many entries per input (sampled). */
  samples?: number;
}): Promise<void> {
  const { gpuFn, refFn } = opts;
  // The engine sees f32 values: give the reference exactly the same ones.
  const inputs = opts.inputs.map((x) => ({ data: Float64Array.from(Float32Array.from(x.data)), shape: x.shape }));
  const tol = opts.tol ?? 1e-4;
  const h = opts.h ?? 1e-6;
  const rnd = new Rand(opts.seed ?? 7);
  const outRef = refFn(...inputs.map((x) => x.data));
  const r = rnd.uniform(outRef.length);
  const L = (xs: Float64Array[]) => {
    const y = refFn(...xs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * r[i];
    return s;
  };
  const check = opts.check ?? inputs.map((_, i) => i);
  const grads = await (async () => {
    const xs = inputs.map((x, i) => {
      const t = tensor(Float32Array.from(x.data), x.shape);
      t.requiresGrad = check.includes(i);
      return t;
    });
    tidy(() => {
      const y = gpuFn(...xs);
      const loss = sum(mul(y, tensor(Float32Array.from(r), y.shape)));
      backward(loss);
    });
    const out = await Promise.all(xs.map((t) => (t.grad ? t.grad.data() : Promise.resolve(null))));
    xs.forEach((t) => t.dispose());
    return out;
  })();
  for (const k of check) {
    const g = grads[k];
    expect(g, `input ${k} got no gradient`).not.toBeNull();
    const n = inputs[k].data.length;
    const idx = opts.samples && opts.samples < n ? Array.from({ length: opts.samples }, () => Math.floor(rnd.next() * n)) : [...Array(n).keys()];
    const num = new Float64Array(idx.length);
    const ana = new Float64Array(idx.length);
    idx.forEach((i, j) => {
      const xs = inputs.map((x) => Float64Array.from(x.data));
      xs[k][i] += h;
      const lp = L(xs);
      xs[k][i] -= 2 * h;
      const lm = L(xs);
      num[j] = (lp - lm) / (2 * h);
      ana[j] = g![i];
    });
    const err = relErr(ana, num, 1e-3);
    expect(err, `gradient of input ${k}: relative error ${err}`).toBeLessThan(tol);
  }
}

/** Bytes of pooled GPU memory in use (for leak tests). */
export const bytesInUse = () => engine().stats().bytesInUse;
