import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { Rand, size, strides, unravel, gradCheck } from './helpers/ref.ts';

function refPermute(x: Float64Array, shape: number[], perm: number[]) {
  const os = perm.map((p) => shape[p]);
  const st = strides(shape);
  const out = new Float64Array(x.length);
  for (let i = 0; i < out.length; i++) {
    const c = unravel(i, os);
    out[i] = x[c.reduce((o, v, d) => o + v * st[perm[d]], 0)];
  }
  return out;
}

function refSlice(x: Float64Array, shape: number[], start: number[], step: number[], os: number[]) {
  const st = strides(shape);
  const out = new Float64Array(size(os));
  for (let i = 0; i < out.length; i++) {
    const c = unravel(i, os);
    out[i] = x[c.reduce((o, v, d) => o + (start[d] + v * step[d]) * st[d], 0)];
  }
  return out;
}

function refPad(x: Float64Array, shape: number[], pads: [number, number][], value: number) {
  const os = shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const ost = strides(os);
  const out = new Float64Array(size(os)).fill(value);
  for (let i = 0; i < x.length; i++) {
    const c = unravel(i, shape);
    out[c.reduce((o, v, d) => o + (v + pads[d][0]) * ost[d], 0)] = x[i];
  }
  return out;
}

function refConcat(xs: Float64Array[], shapes: number[][], axis: number) {
  const os = shapes[0].slice();
  os[axis] = shapes.reduce((n, s) => n + s[axis], 0);
  const ost = strides(os);
  const out = new Float64Array(size(os));
  let at = 0;
  xs.forEach((x, k) => {
    for (let i = 0; i < x.length; i++) {
      const c = unravel(i, shapes[k]);
      c[axis] += at;
      out[c.reduce((o, v, d) => o + v * ost[d], 0)] = x[i];
    }
    at += shapes[k][axis];
  });
  return out;
}

const data = (shape: number[], seed: number) => new Rand(seed).uniform(size(shape));
const f32 = (a: Float64Array) => Float32Array.from(a);

describe('shape ops: forward (exact copies) and backward against finite differences', () => {
  it('reshape shares storage, infers -1, and refuses wrong sizes', async () => {
    const shape = [3, 4, 5];
    const x = data(shape, 1);
    const t = F.tensor(f32(x), shape);
    const r = F.reshape(t, [5, -1]);
    expect(r.shape).toEqual([5, 12]);
    expect(r.buffer).toBe(t.buffer);
    expect(Array.from(await r.data())).toEqual(Array.from(f32(x)));
    expect(() => F.reshape(t, [7, -1])).toThrow(/reshape: cannot reshape \[3,4,5\]/);
    await gradCheck({ inputs: [{ data: x, shape }], gpuFn: (a) => F.reshape(a, [2, 30]), refFn: (a) => a });
    t.dispose();
    r.dispose();
  });

  for (const [shape, perm] of [
    [[3, 5], [1, 0]],
    [[2, 3, 5, 7], [0, 2, 3, 1]],
    [[2, 3, 5, 7], [3, 1, 0, 2]],
    [[1, 4, 1, 3, 2], [4, 3, 2, 1, 0]],
  ] as [number[], number[]][]) {
    it(`transpose ${JSON.stringify(shape)} by ${JSON.stringify(perm)}`, async () => {
      const x = data(shape, shape.length);
      const y = F.tidy(() => F.transpose(F.tensor(f32(x), shape), perm));
      expect(y.shape).toEqual(perm.map((p) => shape[p]));
      expect(Array.from(await y.data())).toEqual(Array.from(refPermute(Float64Array.from(f32(x)), shape, perm), Math.fround));
      y.dispose();
      await gradCheck({ inputs: [{ data: x, shape }], gpuFn: (a) => F.transpose(a, perm), refFn: (a) => refPermute(a, shape, perm) });
    });
  }

  it('expand broadcasts and sums the gradient back', async () => {
    const shape = [3, 1, 5];
    const to = [2, 3, 7, 5];
    const x = data(shape, 3);
    const ref = (a: Float64Array) => {
      const out = new Float64Array(size(to));
      for (let i = 0; i < out.length; i++) {
        const c = unravel(i, to);
        out[i] = a[c[1] * 5 + c[3]];
      }
      return out;
    };
    const y = F.tidy(() => F.expand(F.tensor(f32(x), shape), to));
    expect(Array.from(await y.data())).toEqual(Array.from(ref(Float64Array.from(f32(x))), Math.fround));
    y.dispose();
    await gradCheck({ inputs: [{ data: x, shape }], gpuFn: (a) => F.expand(a, to), refFn: ref });
    expect(() => F.tidy(() => F.expand(F.zeros([3, 2]), [3, 4]))).toThrow(/expand/);
  });

  it('slice with negative indices, steps and reversed ranges', async () => {
    const shape = [4, 9, 7];
    const x = data(shape, 4);
    const spec = { starts: [1, -2, 0], ends: [4, 0, 100], axes: [0, 1, 2], steps: [2, -3, 3] };
    // axis0: 1,3; axis1: 7,4,1; axis2: 0,3,6
    const os = [2, 3, 3];
    const ref = (a: Float64Array) => refSlice(a, shape, [1, 7, 0], [2, -3, 3], os);
    const y = F.tidy(() => F.slice(F.tensor(f32(x), shape), spec));
    expect(y.shape).toEqual(os);
    expect(Array.from(await y.data())).toEqual(Array.from(ref(Float64Array.from(f32(x))), Math.fround));
    y.dispose();
    await gradCheck({ inputs: [{ data: x, shape }], gpuFn: (a) => F.slice(a, spec), refFn: ref });
  });

  it('concat along a middle axis, gradients to each input', async () => {
    const shapes = [[2, 3, 5], [2, 1, 5], [2, 4, 5]];
    const xs = shapes.map((s, i) => data(s, 10 + i));
    const y = F.tidy(() => F.concat(xs.map((x, i) => F.tensor(f32(x), shapes[i])), 1));
    expect(y.shape).toEqual([2, 8, 5]);
    expect(Array.from(await y.data())).toEqual(Array.from(refConcat(xs.map((x) => Float64Array.from(f32(x))), shapes, 1), Math.fround));
    y.dispose();
    await gradCheck({
      inputs: xs.map((d, i) => ({ data: d, shape: shapes[i] })),
      gpuFn: (...ts) => F.concat(ts, -2),
      refFn: (...as) => refConcat(as, shapes, 1),
    });
    expect(() => F.concat([F.zeros([2, 3]), F.zeros([3, 3])], 1)).toThrow(/concat: shapes \[2,3\], \[3,3\] differ outside axis 1/);
  });

  it('pad with a constant on every side, and negative pads crop', async () => {
    const shape = [2, 3, 5, 4];
    const pads: [number, number][] = [[0, 1], [1, 0], [2, 3], [0, 1]];
    const x = data(shape, 20);
    const y = F.tidy(() => F.pad(F.tensor(f32(x), shape), pads, 0.5));
    expect(y.shape).toEqual([3, 4, 10, 5]);
    expect(Array.from(await y.data())).toEqual(Array.from(refPad(Float64Array.from(f32(x)), shape, pads, 0.5), Math.fround));
    y.dispose();
    await gradCheck({ inputs: [{ data: x, shape }], gpuFn: (a) => F.pad(a, pads, 0.5), refFn: (a) => refPad(a, shape, pads, 0.5) });
    const c = F.tidy(() => F.pad(F.tensor(f32(x), shape), [[0, 0], [0, 0], [-1, -2], [1, 0]]));
    expect(c.shape).toEqual([2, 3, 2, 5]);
    c.dispose();
  });
});
