// The ONNX ops faceinv imports, one entry each: how its attributes are read, its engine call on run-time
// tensors (differentiable) and, where it has one, its evaluation on the host. A node runs on the host when all
// its inputs are host values (initializers, constants, anything computed from shapes), so shape arithmetic
// never reaches the GPU; `shapeOnly` ops (Shape, Size) run on the host even on run-time tensors. Adding an op
// is one entry here (and one test).
import type { Tensor } from '../../tensor/tensor.ts';
import { fmt, sliceGeometry } from '../../tensor/shape.ts';
import * as O from '../../autograd/ops.ts';
import { conv2d, convTranspose2d, type Padding } from '../../autograd/conv.ts';
import { maxPool2d, avgPool2d, globalAvgPool } from '../../autograd/pool.ts';
import { affineAct } from '../../autograd/affine_act.ts';
import { warp, packAffines, type Affine } from '../../autograd/warp.ts';
import { OnnxError, type HostTensor, type Attr } from './load.ts';
import { sizeOf, strides, make, broadcast, expandTo, normAxes, elementwise, remap } from './host_ops.ts';

/** What an entry sees of its node: inputs (host or run-time), attributes, and where it is for errors. */
export interface OpContext {
  readonly where: string;
  readonly opset: number;
  /** Names of the node's outputs ('' for an omitted optional output). */
  readonly outputs: string[];
  /** Number of inputs, omitted optional ones included. */
  readonly arity: number;
  has(i: number): boolean;
  isHost(i: number): boolean;
  /** Input i as an engine tensor (host values are uploaded). */
  gpu(i: number): Tensor;
  /** Input i as a host value; an error if it is missing or only known at run time. */
  host(i: number): HostTensor;
  /** Input i as host integers, undefined when the optional input is omitted. */
  ints(i: number): number[] | undefined;
  int(name: string, dflt: number): number;
  float(name: string, dflt: number): number;
  intList(name: string): number[] | undefined;
  str(name: string, dflt: string): string;
  attr(name: string): Attr;
  /** A GPU constant made once per node and kept with the module (e.g. folded BatchNorm parameters). */
  constant(key: string, data: Float32Array, shape: number[]): Tensor;
}

export interface OpEntry {
  /** Engine call on run-time tensors. */
  gpu?: (c: OpContext) => Tensor | Tensor[];
  /**
   * The op and a ReLU after it in one engine call: module.run uses it where the ReLU is the only reader of the
   * op's output and nothing taps that output (a Conv's or a residual Add's ReLU then costs no pass of its own).
   */
  gpuRelu?: (c: OpContext) => Tensor;
  /** Host evaluation when every input is a host value. */
  host?: (c: OpContext) => HostTensor[];
  /** Host evaluation even for run-time inputs: the op reads only their shapes. */
  shapeOnly?: boolean;
}

const fail = (c: OpContext, msg: string): never => {
  throw new OnnxError(`${c.where}: ${msg}`);
};

const pair = (v: number[] | undefined, d = 1): [number, number] => (v && v.length >= 2 ? [v[0], v[1]] : [d, d]);

/** A host value read as a scalar number when it holds exactly one element. */
const scalarOf = (c: OpContext, i: number): number | null => {
  if (!c.has(i) || !c.isHost(i)) return null;
  const h = c.host(i);
  return h.data.length === 1 && h.shape.length === 0 ? Number(h.data[0]) : null;
};

function binaryGpu(f: (a: Tensor | number, b: Tensor | number) => Tensor, commutes = true) {
  return (c: OpContext) => {
    const sb = scalarOf(c, 1);
    if (sb !== null) return f(c.gpu(0), sb);
    const sa = commutes ? scalarOf(c, 0) : null;
    if (sa !== null) return f(sa, c.gpu(1));
    return f(c.gpu(0), c.gpu(1));
  };
}

const hostElementwise = (f: (...v: number[]) => number, kind?: 'float' | 'int') => (c: OpContext) =>
  [elementwise(c.where, Array.from({ length: c.arity }, (_, i) => c.host(i)), f, kind)];

/** Integer division truncates for int operands (shape arithmetic), is exact for floats. */
const hostDiv = (c: OpContext) => {
  const [a, b] = [c.host(0), c.host(1)];
  const isInt = a.kind === 'int' && b.kind === 'int';
  return [elementwise(c.where, [a, b], (m, n) => (isInt ? Math.trunc(m / n) : m / n))];
};

const unaryGpu = (f: (x: Tensor) => Tensor) => (c: OpContext) => f(c.gpu(0));

/** Axes of Squeeze/Unsqueeze/Reduce*: an input from `inputFrom` on, an attribute before. */
const axesOf = (c: OpContext, inputFrom: number, input = 1) => (c.opset >= inputFrom ? c.ints(input) : c.intList('axes'));

function squeezeShape(c: OpContext, op: 'Squeeze' | 'Unsqueeze', shape: number[]): number[] {
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

function reshapeTarget(c: OpContext, from: number[]): number[] {
  const spec = c.ints(1);
  if (!spec) return fail(c, 'Reshape needs a shape');
  const allowZero = c.int('allowzero', 0) === 1;
  const shape = spec.map((d, i) => (d === 0 && !allowZero ? from[i] : d));
  const inferred = shape.indexOf(-1);
  if (inferred >= 0) shape[inferred] = sizeOf(from) / Math.max(shape.reduce((p, d, i) => (i === inferred ? p : p * d), 1), 1);
  if (sizeOf(shape) !== sizeOf(from) || shape.some((d) => !Number.isInteger(d) || d < 0)) fail(c, `cannot reshape [${from}] to [${spec}]`);
  return shape;
}

function flattenShape(c: OpContext, shape: number[]): number[] {
  const axis = c.int('axis', 1) < 0 ? c.int('axis', 1) + shape.length : c.int('axis', 1);
  if (axis < 0 || axis > shape.length) fail(c, `axis ${c.int('axis', 1)} is out of range for rank ${shape.length}`);
  return [sizeOf(shape.slice(0, axis)), sizeOf(shape.slice(axis))];
}

function sliceSpec(c: OpContext) {
  if (c.opset < 10) return { starts: c.intList('starts') ?? [], ends: c.intList('ends') ?? [], axes: c.intList('axes') };
  const clip = (v: number) => Math.max(Math.min(v, 2 ** 31 - 1), -(2 ** 31));
  return { starts: (c.ints(1) ?? []).map(clip), ends: (c.ints(2) ?? []).map(clip), axes: c.ints(3), steps: c.ints(4) };
}

/** Expand's target: the input shape broadcast with the requested one (ONNX Expand broadcasts both ways). */
const expandShape = (c: OpContext, shape: number[]) => broadcast(c.where, shape, c.ints(1) ?? fail(c, 'Expand needs a shape'));

/** Split sizes along the axis: an input (opset 13+), an attribute (before), or equal parts. */
function splitSizes(c: OpContext, dim: number): number[] {
  const given = c.opset >= 13 ? c.ints(1) : c.intList('split');
  const n = c.outputs.length;
  if (given) {
    if (given.length !== n || given.reduce((a, b) => a + b, 0) !== dim) fail(c, `split sizes [${given}] do not cover an axis of ${dim} in ${n} parts`);
    return given;
  }
  const part = Math.ceil(dim / n);
  return Array.from({ length: n }, (_, i) => Math.max(Math.min(part, dim - i * part), 0));
}

function splitAxis(c: OpContext, rank: number) {
  return normAxes(c.where, [c.int('axis', 0)], rank)[0];
}

/** ONNX pads / auto_pad → the engine's [top, left, bottom, right] or 'same'. */
function convPadding(c: OpContext, kernel: number[], spatial?: number[], stride?: number[]): Padding {
  const auto = c.str('auto_pad', 'NOTSET');
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    if (!spatial) return auto === 'SAME_UPPER' ? 'same' : fail(c, 'auto_pad SAME_LOWER on a convolution is not supported; give explicit pads');
    const s = stride ?? [1, 1];
    const tot = spatial.map((n, i) => Math.max((Math.ceil(n / s[i]) - 1) * s[i] + kernel[i] - n, 0));
    const lo = tot.map((t) => (auto === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    return [lo[0], lo[1], tot[0] - lo[0], tot[1] - lo[1]];
  }
  if (auto !== 'NOTSET') fail(c, `auto_pad '${auto}' is not supported`);
  const pads = c.intList('pads');
  if (!pads) return [0, 0, 0, 0];
  if (pads.length !== 4) fail(c, `pads must have 4 values for a 2-D op, got ${pads.length}`);
  return [pads[0], pads[1], pads[2], pads[3]];
}

function conv(c: OpContext, transpose: boolean, relu = false): Tensor {
  const x = c.gpu(0);
  if (x.rank !== 4) fail(c, `only 2-D convolutions (NCHW input) are supported, got input ${fmt(x.shape)}`);
  const w = c.gpu(1);
  const b = c.has(2) ? c.gpu(2) : undefined;
  const kernel = c.intList('kernel_shape') ?? w.shape.slice(2);
  const common = { stride: pair(c.intList('strides')), dilation: pair(c.intList('dilations')), groups: c.int('group', 1), padding: convPadding(c, kernel) };
  if (!transpose) return conv2d(x, w, b, { ...common, relu });
  if (c.intList('output_shape')) fail(c, 'ConvTranspose with output_shape is not supported; give pads and output_padding');
  return convTranspose2d(x, w, b, { ...common, outputPadding: pair(c.intList('output_padding'), 0) });
}

function pool(c: OpContext, max: boolean): Tensor {
  const x = c.gpu(0);
  if (x.rank !== 4) fail(c, `only 2-D pooling (NCHW input) is supported, got ${fmt(x.shape)}`);
  const kernel = c.intList('kernel_shape');
  if (!kernel || kernel.length !== 2) fail(c, 'kernel_shape must have 2 values');
  const padding = convPadding(c, kernel!, x.shape.slice(2), c.intList('strides')) as [number, number, number, number];
  const o = { kernel: pair(kernel), stride: pair(c.intList('strides')), padding, ceilMode: c.int('ceil_mode', 0) === 1, dilation: pair(c.intList('dilations')) };
  if (max) {
    if (c.outputs.length > 1 && c.outputs[1]) fail(c, 'the Indices output of MaxPool is not supported');
    return maxPool2d(x, o);
  }
  return avgPool2d(x, { ...o, dilation: undefined, countIncludePad: c.int('count_include_pad', 0) === 1 });
}

function reduce(kind: 'mean' | 'sum' | 'max' | 'l2' | 'sumsquare', axesInputFrom: number) {
  return (c: OpContext) => {
    const x = c.gpu(0);
    let axes = axesOf(c, axesInputFrom);
    const keep = c.int('keepdims', 1) === 1;
    if (!axes || axes.length === 0) {
      if (c.int('noop_with_empty_axes', 0) === 1) return x;
      axes = undefined;
    }
    if (kind === 'mean') return O.mean(x, axes, keep);
    if (kind === 'sum') return O.sum(x, axes, keep);
    if (kind === 'max') return O.max(x, axes, keep);
    const ss = O.sum(O.square(x), axes, keep);
    return kind === 'l2' ? O.sqrt(ss) : ss;
  };
}

/** Resize/Upsample of NCHW maps in H and W: linear through the warp (every coordinate mode is affine), nearest by repetition at integer scales. */
function resize(c: OpContext, upsample: boolean): Tensor {
  const x = c.gpu(0);
  if (x.rank !== 4) fail(c, `only NCHW inputs are supported, got ${fmt(x.shape)}`);
  const [N, C, H, W] = x.shape;
  // Opsets 11+ (OPSET_FLOOR): Upsample(X, scales), Resize(X, roi, scales, sizes).
  const given = (i: number) => (c.has(i) && c.host(i).data.length ? Array.from(c.host(i).data, Number) : undefined);
  let scales = given(upsample ? 1 : 2);
  const sizes = upsample ? undefined : given(3);
  if (sizes) scales = sizes.map((s, i) => s / x.shape[i]);
  if (!scales || scales.length !== 4) return fail(c, 'needs 4 scales or sizes');
  if (scales[0] !== 1 || scales[1] !== 1) fail(c, `only H and W can be resized, got scales [${scales}]`);
  const OH = sizes ? sizes[2] : Math.floor(H * scales[2]);
  const OW = sizes ? sizes[3] : Math.floor(W * scales[3]);
  const mode = c.str('mode', 'nearest');
  const ct = c.opset >= 11 ? c.str('coordinate_transformation_mode', 'half_pixel') : 'asymmetric';
  if (mode === 'nearest') {
    // Repetition is exact when every output pixel picks floor(o / s), as torch's exports (asymmetric, floor)
    // and half-pixel rounding do at integer scales; other maps are refused by name.
    const [sy, sx] = [OH / H, OW / W];
    const nm = c.str('nearest_mode', 'round_prefer_floor');
    const pick = (o: number, s: number, n: number, on: number) => {
      const u = ct === 'asymmetric' ? o / s : ct === 'align_corners' ? (on > 1 ? (o * (n - 1)) / (on - 1) : 0) : (o + 0.5) / s - 0.5;
      const k = nm === 'floor' ? Math.floor(u) : nm === 'ceil' ? Math.ceil(u) : nm === 'round_prefer_ceil' ? Math.round(u) : Math.ceil(u - 0.5);
      return Math.min(Math.max(k, 0), n - 1);
    };
    const repeats = (s: number, n: number, on: number) => Number.isInteger(s) && Array.from({ length: on }, (_, o) => pick(o, s, n, on) === Math.floor(o / s)).every(Boolean);
    if (!repeats(sy, H, OH) || !repeats(sx, W, OW)) {
      fail(c, `nearest resizing ${H}×${W} → ${OH}×${OW} (${ct}, ${nm}) is supported only where it repeats pixels (integer scales)`);
    }
    const rep = O.expand(O.reshape(x, [N, C, H, 1, W, 1]), [N, C, H, sy, W, sx]);
    return O.reshape(rep, [N, C, OH, OW]);
  }
  if (mode !== 'linear') fail(c, `Resize mode '${mode}' is not supported (nearest, linear)`);
  // Input pixel-centre coordinate (k + ½) as an affine map of the output's, per axis.
  const axis = (n: number, o: number, s: number): [number, number] => {
    switch (ct) {
      case 'half_pixel':
        return [1 / s, 0];
      case 'pytorch_half_pixel':
        return o > 1 ? [1 / s, 0] : [0, 0.5];
      case 'align_corners':
        return o > 1 ? [(n - 1) / (o - 1), 0.5 - (0.5 * (n - 1)) / (o - 1)] : [0, 0.5];
      case 'asymmetric':
        return [1 / s, 0.5 - 0.5 / s];
      default:
        return fail(c, `coordinate_transformation_mode '${ct}' is not supported`);
    }
  };
  const [ay, by] = axis(H, OH, sizes ? OH / H : scales[2]);
  const [ax, bx] = axis(W, OW, sizes ? OW / W : scales[3]);
  const m: Affine = [ax, 0, bx, 0, ay, by];
  if (ax === 0 || ay === 0) fail(c, 'resizing to a single row or column is not supported');
  const mats = c.constant(`resize:${N}`, packAffines(Array.from({ length: N }, () => m)), [N, 12]);
  return warp(x, mats, OH, OW);
}

function batchNorm(c: OpContext): Tensor {
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => (c.has(i) && c.isHost(i) ? c.host(i) : undefined));
  if (!scale || !bias || !mean || !variance) fail(c, 'BatchNormalization parameters must be constants (inference mode)');
  const eps = c.float('epsilon', 1e-5);
  const x = c.gpu(0);
  const C = scale!.data.length;
  if (x.rank < 2 || x.shape[1] !== C) fail(c, `${C} channels of parameters for input ${fmt(x.shape)}`);
  const s = Float32Array.from(scale!.data, (v, k) => Number(v) / Math.sqrt(Number(variance!.data[k]) + eps));
  const params = {
    bias: c.constant('neg_mean', Float32Array.from(mean!.data, (v) => -Number(v)), [C]),
    scale: c.constant('scale', s, [C]),
    shift: c.constant('shift', Float32Array.from(bias!.data, Number), [C]),
    relu: false,
  };
  if (x.rank === 4) return affineAct(x, params);
  // [N, C] or [N, C, L]: view as NCHW.
  return O.reshape(affineAct(O.reshape(x, [x.shape[0], C, x.size / (x.shape[0] * C), 1]), params), x.shape);
}

function instanceNorm(c: OpContext): Tensor {
  const x = c.gpu(0);
  if (x.rank < 3) fail(c, `needs [N, C, …] input, got ${fmt(x.shape)}`);
  const axes = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
  const centred = O.sub(x, O.mean(x, axes, true));
  const norm = O.div(centred, O.sqrt(O.add(O.mean(O.square(centred), axes, true), c.float('epsilon', 1e-5))));
  const perChannel = [x.shape[1], ...axes.map(() => 1)];
  return O.add(O.mul(norm, O.reshape(c.gpu(1), perChannel)), O.reshape(c.gpu(2), perChannel));
}

function prelu(c: OpContext): Tensor {
  const x = c.gpu(0);
  let slope = c.gpu(1);
  // A 1-D slope of one value per channel that would not broadcast onto the last axis is meant per channel
  // (some converters write [C] where the spec wants [C,1,1]).
  if (slope.rank === 1 && x.rank >= 3 && slope.shape[0] === x.shape[1] && slope.shape[0] !== x.shape[x.rank - 1] && slope.shape[0] !== 1) {
    slope = O.reshape(slope, [slope.shape[0], ...Array(x.rank - 2).fill(1)]);
  }
  // The slope broadcasts unidirectionally onto x.
  return O.prelu(x, slope);
}

/**
 * erf from engine ops: Numerical Recipes' erfc Chebyshev fit (fractional error < 1.2e-7), odd by a sign that is
 * a clamp of a huge multiple of x (its gradient is zero wherever x ≠ 0, as the sign's is).
 */
function erf(x: Tensor): Tensor {
  const z = O.abs(x);
  const t = O.div(1, O.add(O.mul(z, 0.5), 1));
  const coeffs = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
  let poly = O.mul(t, coeffs[9]);
  for (let k = 8; k >= 1; k--) poly = O.mul(t, O.add(poly, coeffs[k]));
  const erfc = O.mul(t, O.exp(O.sub(O.add(poly, coeffs[0]), O.square(z))));
  return O.mul(O.clamp(O.mul(x, 1e30), -1, 1), O.sub(1, erfc));
}

function gelu(c: OpContext): Tensor {
  const x = c.gpu(0);
  if (c.str('approximate', 'none') === 'tanh') {
    const inner = O.mul(O.add(x, O.mul(O.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return O.mul(O.mul(x, 0.5), O.add(O.tanh(inner), 1));
  }
  return O.mul(O.mul(x, 0.5), O.add(erf(O.mul(x, Math.SQRT1_2)), 1));
}

function clipBounds(c: OpContext): [number, number] {
  const bound = (i: number, name: string, d: number) => {
    if (c.opset < 11) return c.float(name, d);
    if (!c.has(i)) return d;
    if (!c.isHost(i)) fail(c, `the ${name} input must be a constant`);
    return Number(c.host(i).data[0]);
  };
  return [Math.max(bound(1, 'min', -Infinity), -3.4e38), Math.min(bound(2, 'max', Infinity), 3.4e38)];
}

function transposeHost(c: OpContext): HostTensor[] {
  const t = c.host(0);
  const perm = c.intList('perm') ?? t.shape.map((_, i) => t.shape.length - 1 - i);
  const st = strides(t.shape);
  return [remap(t, perm.map((p) => t.shape[p]), (co) => co.reduce((j, v, d) => j + v * st[perm[d]], 0))];
}

function sliceHost(c: OpContext): HostTensor[] {
  const t = c.host(0);
  const { begin, step, shape } = sliceGeometry(c.where, t.shape, sliceSpec(c));
  const st = strides(t.shape);
  return [remap(t, shape, (co) => co.reduce((j, v, d) => j + (begin[d] + v * step[d]) * st[d], 0))];
}

function gatherHost(c: OpContext): HostTensor[] {
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

function concatHost(c: OpContext): HostTensor[] {
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

function constantHost(c: OpContext): HostTensor[] {
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

const FLOAT_TYPES = new Set([1, 10, 11, 16]);
const BOOL = 9;

export const OPS: Record<string, OpEntry> = {
  // Constants and shapes.
  Constant: { host: constantHost },
  Shape: {
    shapeOnly: true,
    host: (c) => {
      const s = c.host(0).shape;
      const rank = s.length;
      const clampAxis = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
      const dims = s.slice(clampAxis(c.int('start', 0)), clampAxis(c.int('end', rank)));
      return [make([dims.length], dims, 'int')];
    },
  },
  Size: { shapeOnly: true, host: (c) => [make([], [sizeOf(c.host(0).shape)], 'int')] },
  ConstantOfShape: {
    host: (c) => {
      const shape = c.ints(0) ?? [];
      const v = c.attr('value') as HostTensor | undefined;
      return [make(shape, new Array(sizeOf(shape)).fill(v ? Number(v.data[0]) : 0), v?.kind ?? 'float')];
    },
  },
  Range: {
    host: (c) => {
      const [s, l, d] = [0, 1, 2].map((i) => Number(c.host(i).data[0]));
      const n = Math.max(Math.ceil((l - s) / d), 0);
      if (!Number.isFinite(n) || n > 1 << 24) fail(c, `Range(${s}, ${l}, ${d}) is too long`);
      return [make([n], Array.from({ length: n }, (_, i) => s + i * d), c.host(0).kind)];
    },
  },
  Identity: { host: (c) => [c.host(0)], gpu: (c) => c.gpu(0) },
  Dropout: { host: (c) => [c.host(0)], gpu: (c) => c.gpu(0) },
  Cast: {
    host: (c) => {
      const t = c.host(0);
      const to = c.int('to', 1);
      const f = FLOAT_TYPES.has(to);
      return [make(t.shape, Array.from(t.data, (v) => (f ? Number(v) : to === BOOL ? Number(Number(v) !== 0) : Math.trunc(Number(v)))), f ? 'float' : 'int')];
    },
    gpu: (c) => (FLOAT_TYPES.has(c.int('to', 1)) ? c.gpu(0) : fail(c, 'casting a run-time tensor to a non-float type is not supported')),
  },

  // Element-wise arithmetic.
  Add: {
    host: hostElementwise((a, b) => a + b),
    gpu: binaryGpu(O.add),
    gpuRelu: (c) => (scalarOf(c, 0) === null && scalarOf(c, 1) === null ? O.addRelu(c.gpu(0), c.gpu(1)) : O.relu(binaryGpu(O.add)(c))),
  },
  Sub: { host: hostElementwise((a, b) => a - b), gpu: binaryGpu(O.sub) },
  Mul: { host: hostElementwise((a, b) => a * b), gpu: binaryGpu(O.mul) },
  Div: { host: hostDiv, gpu: binaryGpu(O.div) },
  Pow: { host: hostElementwise((a, b) => a ** b), gpu: binaryGpu(O.pow, false) },
  Neg: { host: hostElementwise((a) => -a), gpu: unaryGpu(O.neg) },
  Abs: { host: hostElementwise((a) => Math.abs(a)), gpu: unaryGpu(O.abs) },
  Floor: { host: hostElementwise((a) => Math.floor(a)) },
  Ceil: { host: hostElementwise((a) => Math.ceil(a)) },
  Sqrt: { host: hostElementwise((a) => Math.sqrt(a), 'float'), gpu: unaryGpu(O.sqrt) },
  Exp: { host: hostElementwise((a) => Math.exp(a), 'float'), gpu: unaryGpu(O.exp) },
  Log: { host: hostElementwise((a) => Math.log(a), 'float'), gpu: unaryGpu(O.log) },
  Min: {
    host: hostElementwise((...v) => Math.min(...v)),
    gpu: (c) => Array.from({ length: c.arity - 1 }, (_, i) => i + 1).reduce((acc, i) => O.minimum(acc, c.gpu(i)), c.gpu(0)),
  },
  Max: {
    host: hostElementwise((...v) => Math.max(...v)),
    gpu: (c) => Array.from({ length: c.arity - 1 }, (_, i) => i + 1).reduce((acc, i) => O.maximum(acc, c.gpu(i)), c.gpu(0)),
  },
  Equal: { host: hostElementwise((a, b) => Number(a === b), 'int') },
  Less: { host: hostElementwise((a, b) => Number(a < b), 'int') },
  Greater: { host: hostElementwise((a, b) => Number(a > b), 'int') },
  Not: { host: hostElementwise((a) => Number(!a), 'int') },
  Where: {
    host: (c) => {
      const [cond, a, b] = [c.host(0), c.host(1), c.host(2)];
      return [elementwise(c.where, [cond, a, b], (k, x, y) => (k ? x : y), a.kind === 'int' && b.kind === 'int' ? 'int' : 'float')];
    },
  },

  // Activations.
  Relu: { gpu: unaryGpu(O.relu) },
  Sigmoid: { gpu: unaryGpu(O.sigmoid) },
  Tanh: { gpu: unaryGpu(O.tanh) },
  LeakyRelu: { gpu: (c) => O.leakyRelu(c.gpu(0), c.float('alpha', 0.01)) },
  PRelu: { gpu: prelu },
  HardSigmoid: { gpu: (c) => O.clamp(O.add(O.mul(c.gpu(0), c.float('alpha', 0.2)), c.float('beta', 0.5)), 0, 1) },
  Erf: { gpu: (c) => erf(c.gpu(0)) },
  Gelu: { gpu: gelu },
  HardSwish: { gpu: (c) => O.mul(c.gpu(0), O.clamp(O.add(O.mul(c.gpu(0), 1 / 6), 0.5), 0, 1)) },
  Clip: { gpu: (c) => O.clamp(c.gpu(0), ...clipBounds(c)) },
  Softmax: {
    gpu: (c) => {
      const x = c.gpu(0);
      const axis = c.int('axis', c.opset >= 13 ? -1 : 1);
      if (c.opset < 13 && (axis < 0 ? axis + x.rank : axis) !== x.rank - 1) {
        fail(c, `Softmax before opset 13 flattens from axis ${axis}; only the last axis is supported`);
      }
      const e = O.exp(O.sub(x, O.max(x, axis, true)));
      return O.div(e, O.sum(e, axis, true));
    },
  },

  // Linear layers and normalisation.
  MatMul: { gpu: (c) => O.matmul(c.gpu(0), c.gpu(1)) },
  Gemm: {
    gpu: (c) => {
      let y = O.matmulCore(c.gpu(0), c.gpu(1), c.int('transA', 0) === 1, c.int('transB', 0) === 1);
      const [alpha, beta] = [c.float('alpha', 1), c.float('beta', 1)];
      if (alpha !== 1) y = O.mul(y, alpha);
      if (c.has(2)) y = O.add(y, beta === 1 ? c.gpu(2) : O.mul(c.gpu(2), beta));
      return y;
    },
  },
  Conv: { gpu: (c) => conv(c, false), gpuRelu: (c) => conv(c, false, true) },
  ConvTranspose: { gpu: (c) => conv(c, true) },
  BatchNormalization: { gpu: batchNorm },
  InstanceNormalization: { gpu: instanceNorm },
  LpNormalization: {
    gpu: (c) => {
      if (c.int('p', 2) !== 2) fail(c, 'only p = 2 is supported');
      const x = c.gpu(0);
      return O.div(x, O.sqrt(O.sum(O.square(x), c.int('axis', -1), true)));
    },
  },

  // Pooling and reductions.
  MaxPool: { gpu: (c) => pool(c, true) },
  AveragePool: { gpu: (c) => pool(c, false) },
  GlobalAveragePool: { gpu: (c) => globalAvgPool(c.gpu(0)) },
  GlobalMaxPool: { gpu: (c) => O.max(c.gpu(0), Array.from({ length: c.gpu(0).rank - 2 }, (_, i) => i + 2), true) },
  ReduceMean: { gpu: reduce('mean', 18) },
  ReduceSum: { gpu: reduce('sum', 13) },
  ReduceMax: { gpu: reduce('max', 18) },
  ReduceL2: { gpu: reduce('l2', 18) },
  ReduceSumSquare: { gpu: reduce('sumsquare', 18) },

  // Shape and layout.
  Reshape: {
    host: (c) => [{ ...c.host(0), shape: reshapeTarget(c, c.host(0).shape) }],
    gpu: (c) => O.reshape(c.gpu(0), reshapeTarget(c, [...c.gpu(0).shape])),
  },
  Flatten: {
    host: (c) => [{ ...c.host(0), shape: flattenShape(c, c.host(0).shape) }],
    gpu: (c) => O.reshape(c.gpu(0), flattenShape(c, [...c.gpu(0).shape])),
  },
  Squeeze: {
    host: (c) => [{ ...c.host(0), shape: squeezeShape(c, 'Squeeze', c.host(0).shape) }],
    gpu: (c) => O.reshape(c.gpu(0), squeezeShape(c, 'Squeeze', [...c.gpu(0).shape])),
  },
  Unsqueeze: {
    host: (c) => [{ ...c.host(0), shape: squeezeShape(c, 'Unsqueeze', c.host(0).shape) }],
    gpu: (c) => O.reshape(c.gpu(0), squeezeShape(c, 'Unsqueeze', [...c.gpu(0).shape])),
  },
  Expand: {
    host: (c) => {
      const t = c.host(0);
      const shape = expandShape(c, t.shape);
      return [make(shape, expandTo(t, shape), t.kind)];
    },
    gpu: (c) => {
      const x = c.gpu(0);
      const shape = expandShape(c, [...x.shape]);
      return shape.length === x.rank && shape.every((d, i) => d === x.shape[i]) ? x : O.expand(x, shape);
    },
  },
  Transpose: { host: transposeHost, gpu: (c) => O.transpose(c.gpu(0), c.intList('perm')) },
  Concat: { host: concatHost, gpu: (c) => O.concat(Array.from({ length: c.arity }, (_, i) => c.gpu(i)), c.int('axis', 0)) },
  Gather: { host: gatherHost },
  Slice: {
    host: sliceHost,
    gpu: (c) => {
      const spec = sliceSpec(c);
      return O.slice(c.gpu(0), { ...spec, axes: spec.axes ?? spec.starts.map((_, i) => i) });
    },
  },
  Split: {
    gpu: (c) => {
      const x = c.gpu(0);
      const axis = splitAxis(c, x.rank);
      let at = 0;
      return splitSizes(c, x.shape[axis]).map((n) => {
        const starts = x.shape.map(() => 0);
        const ends = [...x.shape];
        starts[axis] = at;
        ends[axis] = at += n;
        return O.slice(x, starts, ends);
      });
    },
  },
  Pad: {
    gpu: (c) => {
      const mode = c.str('mode', 'constant');
      if (mode !== 'constant') fail(c, `Pad mode '${mode}' is not supported (only constant)`);
      const x = c.gpu(0);
      const pads = c.ints(1) ?? c.intList('pads');
      if (!pads || pads.length !== 2 * x.rank) fail(c, `pads must have ${2 * x.rank} values for input ${fmt(x.shape)}`);
      if (c.has(3)) fail(c, 'the axes input of Pad is not supported');
      const value = c.has(2) ? Number(c.host(2).data[0] ?? 0) : c.float('value', 0);
      return O.pad(x, x.shape.map((_, d) => [pads![d], pads![d + x.rank]] as [number, number]), value);
    },
  },
  Resize: { gpu: (c) => resize(c, false) },
  Upsample: { gpu: (c) => resize(c, true) },
};

/** Every ONNX op faceinv imports, sorted: the README's list and the loader's check come from here. */
export const SUPPORTED_OPS: readonly string[] = Object.keys(OPS).sort();
