// The ONNX ops faceinv imports, one entry each: how its attributes are read, its engine call on run-time
// tensors (differentiable) and, where it has one, its evaluation on the host. A node runs on the host when all
// its inputs are host values (initializers, constants, anything computed from shapes), so shape arithmetic
// never reaches the GPU; `shapeOnly` ops (Shape, Size) run on the host even on run-time tensors. Adding an op
// is one entry here (and one test).
import type { Tensor } from '../../tensor/tensor.ts';
import { fmt } from '../../tensor/shape.ts';
import * as O from '../../autograd/ops.ts';
import { globalAvgPool } from '../../autograd/pool.ts';
import type { HostTensor, Attr } from './load.ts';
import { squeezeShape, reshapeTarget, flattenShape, sliceSpec, expandShape, splitSizes, splitAxis, transposeHost, sliceHost, gatherHost, concatHost, constantHost } from './op_shapes.ts';
import { fail, conv, pool, reduce, resize, batchNorm, instanceNorm, prelu, erf, gelu, clipBounds } from './op_layers.ts';
import { sizeOf, make, expandTo, elementwise } from './host_ops.ts';

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
  /** The op and the Add of `residual` to its output (and the ReLU after that) in one engine call (Conv; module.run). */
  gpuResidual?: (c: OpContext, residual: Tensor, relu: boolean) => Tensor;
  /** Host evaluation when every input is a host value. */
  host?: (c: OpContext) => HostTensor[];
  /** Host evaluation even for run-time inputs: the op reads only their shapes. */
  shapeOnly?: boolean;
}

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
  Conv: { gpu: (c) => conv(c, false), gpuRelu: (c) => conv(c, false, true), gpuResidual: (c, r, relu) => conv(c, false, relu, r) },
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
