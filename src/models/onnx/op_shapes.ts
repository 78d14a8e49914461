// The ONNX ops' shape arithmetic (Squeeze, Reshape, Flatten, Slice, Expand, Split axes and sizes) and the
// host evaluations of the data-movement ops (Transpose, Slice, Gather, Concat, Constant) on host values:
// what op_table.ts's entries compute when a node's inputs are known at load time.
import { sliceGeometry } from '../../tensor/shape.ts';
import type { HostTensor } from './load.ts';
import { sizeOf, strides, make, broadcast, normAxes, remap } from './host_ops.ts';
import { fail, axesOf } from './op_layers.ts';
import type { OpContext } from './op_table.ts';

export function squeezeShape(c: OpContext, op: 'Squeeze' | 'Unsqueeze', shape: number[]): number[] {
  const axes = axesOf(c, 13);
  if (op === 'Unsqueeze') {
    if (!axes) fail(c, 'Unsqueeze needs axes');
    const ax = normAxes(c.where, axes!, shape.length + axes!.length).sort((m, n) => m - n);
    const out = [...shape];
    for (const d of ax) out.splice(d, 0, 1);
    return out;
  }
  const ax = axes && axes.length ? normAxes(c.where, axes, shape.length) : shape.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const d of ax) if (shape[d] !== 1) fail(c, `cannot squeeze axis ${d} of size ${shape[d]}`);
  return shape.filter((_, i) => !ax.includes(i));
}

export function reshapeTarget(c: OpContext, from: number[]): number[] {
  const spec = c.ints(1);
  if (!spec) return fail(c, 'Reshape needs a shape');
  const allowZero = c.int('allowzero', 0) === 1;
  const shape = spec.map((d, i) => (d === 0 && !allowZero ? from[i] : d));
  const inferred = shape.indexOf(-1);
  if (inferred >= 0) shape[inferred] = sizeOf(from) / Math.max(shape.reduce((p, d, i) => (i === inferred ? p : p * d), 1), 1);
  if (sizeOf(shape) !== sizeOf(from) || shape.some((d) => !Number.isInteger(d) || d < 0)) fail(c, `cannot reshape [${from}] to [${spec}]`);
  return shape;
}

export function flattenShape(c: OpContext, shape: number[]): number[] {
  const axis = c.int('axis', 1) < 0 ? c.int('axis', 1) + shape.length : c.int('axis', 1);
  if (axis < 0 || axis > shape.length) fail(c, `axis ${c.int('axis', 1)} is out of range for rank ${shape.length}`);
  return [sizeOf(shape.slice(0, axis)), sizeOf(shape.slice(axis))];
}

export function sliceSpec(c: OpContext) {
  if (c.opset < 10) return { starts: c.intList('starts') ?? [], ends: c.intList('ends') ?? [], axes: c.intList('axes') };
  const clip = (v: number) => Math.max(Math.min(v, 2 ** 31 - 1), -(2 ** 31));
  return { starts: (c.ints(1) ?? []).map(clip), ends: (c.ints(2) ?? []).map(clip), axes: c.ints(3), steps: c.ints(4) };
}

/** Expand's target: the input shape broadcast with the requested one (ONNX Expand broadcasts both ways). */
export const expandShape = (c: OpContext, shape: number[]) => broadcast(c.where, shape, c.ints(1) ?? fail(c, 'Expand needs a shape'));

/** Split sizes along the axis: an input (opset 13+), an attribute (before), or equal parts. */
export function splitSizes(c: OpContext, dim: number): number[] {
  const given = c.opset >= 13 ? c.ints(1) : c.intList('split');
  const n = c.outputs.length;
  if (given) {
    if (given.length !== n || given.reduce((a, b) => a + b, 0) !== dim) fail(c, `split sizes [${given}] do not cover an axis of ${dim} in ${n} parts`);
    return given;
  }
  const part = Math.ceil(dim / n);
  return Array.from({ length: n }, (_, i) => Math.max(Math.min(part, dim - i * part), 0));
}

export function splitAxis(c: OpContext, rank: number) {
  return normAxes(c.where, [c.int('axis', 0)], rank)[0];
}


export function transposeHost(c: OpContext): HostTensor[] {
  const t = c.host(0);
  const perm = c.intList('perm') ?? t.shape.map((_, i) => t.shape.length - 1 - i);
  const st = strides(t.shape);
  return [remap(t, perm.map((p) => t.shape[p]), (co) => co.reduce((j, v, d) => j + v * st[perm[d]], 0))];
}

export function sliceHost(c: OpContext): HostTensor[] {
  const t = c.host(0);
  const { begin, step, shape } = sliceGeometry(c.where, t.shape, sliceSpec(c));
  const st = strides(t.shape);
  return [remap(t, shape, (co) => co.reduce((j, v, d) => j + (begin[d] + v * step[d]) * st[d], 0))];
}

export function gatherHost(c: OpContext): HostTensor[] {
  const [data, idx] = [c.host(0), c.host(1)];
  const axis = normAxes(c.where, [c.int('axis', 0)], data.shape.length)[0];
  const outer = sizeOf(data.shape.slice(0, axis));
  const inner = sizeOf(data.shape.slice(axis + 1));
  const dim = data.shape[axis];
  const out: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const i0 of Array.from(idx.data, Number)) {
      const i = i0 < 0 ? i0 + dim : i0;
      if (!(i >= 0 && i < dim)) fail(c, `index ${i0} out of range for axis of size ${dim}`);
      for (let k = 0; k < inner; k++) out.push(Number(data.data[(o * dim + i) * inner + k]));
    }
  return [make([...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)], out, data.kind)];
}

export function concatHost(c: OpContext): HostTensor[] {
  const ts = Array.from({ length: c.arity }, (_, i) => c.host(i));
  if (!ts.length) fail(c, 'Concat of nothing');
  const axis = normAxes(c.where, [c.int('axis', 0)], ts[0].shape.length)[0];
  const outer = sizeOf(ts[0].shape.slice(0, axis));
  const out: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const t of ts) {
      const chunk = sizeOf(t.shape.slice(axis));
      for (let k = 0; k < chunk; k++) out.push(Number(t.data[o * chunk + k]));
    }
  const shape = [...ts[0].shape];
  shape[axis] = ts.reduce((s, t) => s + t.shape[axis], 0);
  return [make(shape, out, ts.every((t) => t.kind === 'int') ? 'int' : 'float')];
}

export function constantHost(c: OpContext): HostTensor[] {
  const v = c.attr('value');
  if (v && typeof v === 'object' && !Array.isArray(v)) return [v];
  const f = c.attr('value_float');
  if (typeof f === 'number') return [make([], [f], 'float')];
  const i = c.attr('value_int');
  if (typeof i === 'number') return [make([], [i], 'int')];
  const fs = c.attr('value_floats');
  if (Array.isArray(fs)) return [make([fs.length], fs, 'float')];
  const is = c.attr('value_ints');
  if (Array.isArray(is)) return [make([is.length], is, 'int')];
  return fail(c, 'Constant without a supported value attribute');
}
