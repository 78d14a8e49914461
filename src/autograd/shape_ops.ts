// Differentiable shape ops — reshape, expand, transpose, slice, concat, pad — forward through the copy
// kernels, each with its backward rule; re-exported by ops.ts, where every other op lives.
import { Tensor } from '../tensor/tensor.ts';
import { broadcastShapes, broadcastStrides, fmt, sameShape, sizeOf, sliceGeometry, stridesOf, type Shape, type SliceSpec } from '../tensor/shape.ts';
import { gather, scatterInto, filled } from '../kernels/copy.ts';
import { record } from './tape.ts';
import { clone, live, sumTo } from './ops.ts';

// ------------------------------------------------------------------ shape ops

/** Reshape without copying; one dimension may be -1. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  live('reshape', x);
  const s = [...shape];
  const inferred = s.indexOf(-1);
  if (inferred >= 0) {
    const rest = s.reduce((n, d, i) => (i === inferred ? n : n * d), 1);
    if (rest === 0 || x.size % rest !== 0) throw new RangeError(`reshape: cannot reshape ${fmt(x.shape)} into ${fmt(shape)}`);
    s[inferred] = x.size / rest;
  }
  if (sizeOf(s) !== x.size || s.some((d) => d < 0 || !Number.isInteger(d))) {
    throw new RangeError(`reshape: cannot reshape ${fmt(x.shape)} (${x.size} values) into ${fmt(shape)}`);
  }
  const out = x.view(s);
  return record('reshape', [x], out, (g) => [reshape(g, x.shape)]);
}

/** Broadcasts `x` to `shape` (a copy). */
export function expand(x: Tensor, shape: Shape): Tensor {
  live('expand', x);
  const full = broadcastShapes('expand', x.shape, shape);
  if (!sameShape(full, shape)) throw new RangeError(`expand: cannot expand ${fmt(x.shape)} to ${fmt(shape)}`);
  if (sameShape(x.shape, shape)) return clone(x);
  const out = gather(x, shape, broadcastStrides(x.shape, shape), 0, 'expand');
  return record('expand', [x], out, (g) => [sumTo(g, x.shape)]);
}

/** Permutes axes (default: reverse them). */
export function transpose(x: Tensor, perm?: number[]): Tensor {
  live('transpose', x);
  const p = perm ?? [...Array(x.rank).keys()].reverse();
  if (p.length !== x.rank || new Set(p).size !== p.length || p.some((a) => a < 0 || a >= x.rank || !Number.isInteger(a))) {
    throw new RangeError(`transpose: [${p.join(',')}] is not a permutation of the axes of ${fmt(x.shape)}`);
  }
  const st = stridesOf(x.shape);
  const out = gather(x, p.map((a) => x.shape[a]), p.map((a) => st[a]), 0, 'transpose');
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return record('transpose', [x], out, (g) => [transpose(g, inv)]);
}

export const permute = transpose;


/** ONNX-style slice: out[c] = x[start + c·step] along each listed axis. */
export function slice(x: Tensor, spec: SliceSpec | number[], ends?: number[]): Tensor {
  live('slice', x);
  const { begin: start, step, shape } = sliceGeometry('slice', x.shape, Array.isArray(spec) ? { starts: spec, ends: ends ?? x.shape.slice() } : spec);
  const st = stridesOf(x.shape);
  const offset = start.reduce((o, b, i) => o + (shape[i] > 0 ? b * st[i] : 0), 0);
  const strides = st.map((v, i) => v * step[i]);
  const out = gather(x, shape, strides, offset, 'slice');
  return record('slice', [x], out, (g) => {
    const dx = filled(x.shape, 0);
    scatterInto(dx, g, strides, offset, 'slice.backward');
    return [dx];
  });
}

/** Concatenates along `axis`. */
export function concat(xs: Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError('concat: no tensors');
  live('concat', ...xs);
  const rank = xs[0].rank;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank) throw new RangeError(`concat: axis ${axis} out of range for rank ${rank}`);
  for (const x of xs) {
    if (x.rank !== rank || x.shape.some((d, i) => i !== ax && d !== xs[0].shape[i])) {
      throw new RangeError(`concat: shapes ${xs.map((t) => fmt(t.shape)).join(', ')} differ outside axis ${ax}`);
    }
  }
  const shape = xs[0].shape.slice();
  shape[ax] = xs.reduce((n, x) => n + x.shape[ax], 0);
  const out = Tensor.empty(shape);
  const ost = stridesOf(shape);
  const offsets: number[] = [];
  let at = 0;
  for (const x of xs) {
    offsets.push(at);
    scatterInto(out, x, ost, at * ost[ax], 'concat');
    at += x.shape[ax];
  }
  return record('concat', xs, out, (g) =>
    xs.map((x, i) => {
      if (!x.requiresGrad) return null;
      const starts = shape.map(() => 0);
      const ends = shape.slice();
      starts[ax] = offsets[i];
      ends[ax] = offsets[i] + x.shape[ax];
      return slice(g, starts, ends);
    }),
  );
}

/** Constant padding: pads[d] = [before, after] for each axis d (negative values crop). */
export function pad(x: Tensor, pads: [number, number][], value = 0): Tensor {
  live('pad', x);
  if (pads.length !== x.rank) throw new RangeError(`pad: ${pads.length} pad pairs for a tensor of rank ${x.rank} ${fmt(x.shape)}`);
  if (pads.some(([b, a]) => b < 0 || a < 0)) {
    const cropped = slice(x, pads.map(([b]) => Math.max(0, -b)), pads.map(([, a], i) => x.shape[i] - Math.max(0, -a)));
    return pad(cropped, pads.map(([b, a]) => [Math.max(0, b), Math.max(0, a)]), value);
  }
  const shape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const out = filled(shape, value);
  const ost = stridesOf(shape);
  const offset = pads.reduce((o, [b], i) => o + b * ost[i], 0);
  scatterInto(out, x, ost, offset, 'pad');
  return record('pad', [x], out, (g) => [gather(g, x.shape, ost, offset, 'pad.backward')]);
}

