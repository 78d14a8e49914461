// Differentiable ops: forward through src/kernels, backward rules beside each forward.
import { Tensor } from '../tensor/tensor.ts';
import { engine } from '../tensor/engine.ts';
import { broadcastAxes, broadcastShapes, fmt, normalizeAxes, sameShape, sizeOf, type Shape } from '../tensor/shape.ts';
import { unaryKernel, unaryGradKernel, binaryKernel, type UnaryGradOp, type BinaryOp } from '../kernels/elementwise.ts';
import { reduceKernel } from '../kernels/reduce.ts';
import { filled } from '../kernels/copy.ts';
import { matmulKernel } from '../kernels/matmul.ts';
import { record, recordNonDifferentiable, registerTapeOps, gradFacts, reluGrad } from './tape.ts';
import { reshape, expand } from './shape_ops.ts';

export type TensorLike = Tensor | number;

/** Throws, naming `op`, unless every argument is a live (not disposed) Tensor. */
export function live(op: string, ...xs: Tensor[]): void {
  for (const x of xs) {
    if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${typeof x}`);
    x.assertLive(op);
  }
}

// ------------------------------------------------------------------ creation

/** A tensor from host values. Only f32 exists on the GPU side; other dtypes are refused, not converted silently. */
export function tensor(data: ArrayLike<number>, shape?: Shape, dtype: string = 'f32'): Tensor {
  if (dtype !== 'f32') throw new TypeError(`tensor: dtype '${dtype}' is not supported (faceinv tensors are f32)`);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    throw new TypeError('tensor: 64-bit integer data is not supported; convert to Float32Array');
  }
  if (!ArrayBuffer.isView(data)) {
    for (let i = 0; i < data.length; i++) {
      if (typeof data[i] !== 'number') throw new TypeError(`tensor: value at index ${i} is a ${typeof data[i]}, not a number`);
    }
  }
  return Tensor.fromData(data, shape ?? [data.length]);
}

/** A 0-d tensor holding one number. */
export function scalar(v: number): Tensor {
  return Tensor.fromData([v], []);
}

/** A tensor of the given shape with every element `value`. */
export function full(shape: Shape, value: number): Tensor {
  return filled(shape, value);
}

/** A tensor of the given shape filled with 0. */
export function zeros(shape: Shape): Tensor {
  return filled(shape, 0);
}

/** A tensor of the given shape filled with 1. */
export function ones(shape: Shape): Tensor {
  return filled(shape, 1);
}

/** Zeros with the shape of `x`. */
export function zerosLike(x: Tensor): Tensor {
  return filled(x.shape, 0);
}

/** A differentiable copy (identity). */
export function clone(x: Tensor): Tensor {
  live('clone', x);
  const out = Tensor.empty(x.shape);
  engine().copyBuffer(x.buffer, 0, out.buffer, 0, x.size * 4);
  return record('clone', [x], out, (g) => [g]);
}

// ------------------------------------------------------------------ element-wise unary

function unary(op: UnaryGradOp, x: Tensor, alpha = 0, beta = 0): Tensor {
  live(op, x);
  const y = unaryKernel(op, x, alpha, beta);
  return record(op, [x], y, (g) => [unaryGradKernel(op, x, y, g, alpha, beta)]);
}

/** Element-wise −x. */
export const neg = (x: Tensor): Tensor => unary('neg', x);
/** Element-wise max(x, 0); its output marked as a ReLU's, so a consumer's kernel may apply its gradient mask (tape.ts). */
export function relu(x: Tensor): Tensor {
  live('relu', x);
  const y = unaryKernel('relu', x, 0, 0);
  gradFacts.reluOutputs.add(y);
  return record('relu', [x], y, (g) => [reluGrad(y, g)]);
}
/** Element-wise eˣ. */
export const exp = (x: Tensor): Tensor => unary('exp', x);
/** Element-wise natural logarithm. */
export const log = (x: Tensor): Tensor => unary('log', x);
/** Element-wise square root. */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
/** Element-wise |x|. */
export const abs = (x: Tensor): Tensor => unary('abs', x);
/** Element-wise 1 / (1 + e⁻ˣ). */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/** Element-wise hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/** Element-wise x². */
export const square = (x: Tensor): Tensor => unary('square', x);
/** Element-wise x for x > 0, else slope · x. */
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => unary('leaky_relu', x, slope);

/** Element-wise x limited to [min, max]; the gradient is zero outside. */
export function clamp(x: Tensor, min: number, max: number): Tensor {
  if (!(min <= max)) throw new RangeError(`clamp: min ${min} > max ${max}`);
  return unary('clamp', x, min, max);
}

// ------------------------------------------------------------------ element-wise binary (broadcasting)

/** Sums a broadcast gradient back to `shape`. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const axes = broadcastAxes(shape, g.shape);
  const out = reduceKernel('sum', g, axes, shape);
  return record('sumTo', [g], out, (gg) => [expand(gg, g.shape)]);
}

/** The gradient with respect to one input of a binary op, given the output gradient and the output. */
type PartialGrad = (g: Tensor, out: Tensor) => Tensor;

/**
 * A broadcasting binary op and its gradient, one rule per input. A rule runs only for an input that requires
 * a gradient, so a constant operand (PReLU's slope, a fixed exponent, a mask) costs no kernel in backward.
 */
function binary(op: BinaryOp, a: Tensor, b: Tensor, back: [PartialGrad, PartialGrad] | null): Tensor {
  live(op, a, b);
  const out = binaryKernel(op, a, b);
  if (!back) return recordNonDifferentiable(op, [a, b], out);
  const [da, db] = back;
  return record(op, [a, b], out, (g) => [a.requiresGrad ? sumTo(da(g, out), a.shape) : null, b.requiresGrad ? sumTo(db(g, out), b.shape) : null]);
}

/** a + b, broadcasting (a number counts as a scalar tensor). */
export function add(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number') return unary('add_s', a as Tensor, b);
  if (typeof a === 'number') return unary('add_s', b, a);
  return binary('add', a, b, [(g) => g, (g) => g]);
}

/**
 * max(a + b, 0), broadcasting: a residual sum and the ReLU after it in one pass each way. The gradient is
 * masked once (by the output > 0, where the sum is > 0) and goes to both inputs.
 */
export function addRelu(a: Tensor, b: Tensor): Tensor {
  live('add_relu', a, b);
  const out = binaryKernel('add_relu', a, b);
  gradFacts.reluOutputs.add(out);
  return record('add_relu', [a, b], out, (g) => {
    const m = reluGrad(out, g);
    return [a.requiresGrad ? sumTo(m, a.shape) : null, b.requiresGrad ? sumTo(m, b.shape) : null];
  });
}

/** a − b, broadcasting (a number counts as a scalar tensor). */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number') return unary('add_s', a as Tensor, -b);
  if (typeof a === 'number') return unary('rsub_s', b, a);
  return binary('sub', a, b, [(g) => g, (g) => neg(g)]);
}

/** a · b element-wise, broadcasting (a number counts as a scalar tensor). */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number') return unary('mul_s', a as Tensor, b);
  if (typeof a === 'number') return unary('mul_s', b, a);
  return binary('mul', a, b, [(g) => mul(g, b), (g) => mul(g, a)]);
}

/** a / b element-wise, broadcasting (a number counts as a scalar tensor). */
export function div(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number') return unary('mul_s', a as Tensor, 1 / b);
  if (typeof a === 'number') return unary('rdiv_s', b, a);
  return binary('div', a, b, [(g) => div(g, b), (g, out) => neg(div(mul(g, out), b))]);
}

/** a raised to b element-wise, broadcasting (a number counts as a scalar tensor). */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number') return unary('pow_s', a as Tensor, b);
  const at = typeof a === 'number' ? full([], a) : a;
  // d/da a^b = b·a^(b−1); d/db a^b = a^b·ln a (defined for a > 0).
  return binary('pow', at, b, [(g) => mul(g, mul(b, pow(at, sub(b, 1)))), (g, out) => mul(g, mul(out, log(at)))]);
}

/** Element-wise larger of a and b, broadcasting; the gradient goes to the larger (to a on ties). */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return binary('max', a, b, [(g) => mul(g, binaryKernel('ge', a, b)), (g) => mul(g, sub(1, binaryKernel('ge', a, b)))]);
}

/** Element-wise smaller of a and b, broadcasting; the gradient goes to the smaller. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  return binary('min', a, b, [(g) => mul(g, binaryKernel('ge', b, a)), (g) => mul(g, sub(1, binaryKernel('ge', b, a)))]);
}

/**
 * PReLU: x where x > 0, slope · x elsewhere, the slope broadcasting onto x (ONNX PRelu). One kernel forward
 * and one backward per input that needs a gradient, its partial times g in one pass (the relu/neg/mul/sub
 * composition took five and six).
 */
export function prelu(x: Tensor, slope: Tensor): Tensor {
  return binary('prelu', x, slope, [(g) => binaryKernel('prelu_dx', x, slope, g), (g) => binaryKernel('prelu_ds', x, slope, g)]);
}

/** 1 where a == b, else 0 (not differentiable). */
export const equal = (a: Tensor, b: Tensor): Tensor => binary('eq', a, b, null);
/** 1 where a > b, else 0 (not differentiable). */
export const greater = (a: Tensor, b: Tensor): Tensor => binary('gt', a, b, null);
/** 1 where a >= b, else 0 (not differentiable). */
export const greaterEqual = (a: Tensor, b: Tensor): Tensor => binary('ge', a, b, null);

// ------------------------------------------------------------------ reductions

function reducedShape(shape: Shape, axes: number[], keepdims: boolean): number[] {
  return keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** Sum over `axes` (all when omitted), dropping them unless `keepdims`. */
export function sum(x: Tensor, axes?: number | number[], keepdims = false): Tensor {
  live('sum', x);
  const ax = normalizeAxes('sum', axes, x.rank);
  const outShape = reducedShape(x.shape, ax, keepdims);
  const out = reduceKernel('sum', x, ax, outShape);
  const kd = reducedShape(x.shape, ax, true);
  return record('sum', [x], out, (g) => [expand(reshape(g, kd), x.shape)]);
}

/** Mean over `axes` (all when omitted), dropping them unless `keepdims`. */
export function mean(x: Tensor, axes?: number | number[], keepdims = false): Tensor {
  live('mean', x);
  const ax = normalizeAxes('mean', axes, x.rank);
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  const outShape = reducedShape(x.shape, ax, keepdims);
  const out = reduceKernel('sum', x, ax, outShape, 1 / count);
  const kd = reducedShape(x.shape, ax, true);
  return record('mean', [x], out, (g) => [mul(expand(reshape(g, kd), x.shape), 1 / count)]);
}

/** Maximum over axes; the gradient is shared equally between tied maxima. */
export function max(x: Tensor, axes?: number | number[], keepdims = false): Tensor {
  live('max', x);
  const ax = normalizeAxes('max', axes, x.rank);
  const outShape = reducedShape(x.shape, ax, keepdims);
  const out = reduceKernel('max', x, ax, outShape);
  const kd = reducedShape(x.shape, ax, true);
  return record('max', [x], out, (g) => {
    const mask = binaryKernel('eq', x, reshape(out, kd));
    const count = reduceKernel('sum', mask, ax, kd);
    return [mul(mask, div(reshape(g, kd), count))];
  });
}

// ------------------------------------------------------------------ matmul

/**
 * Matrix product with NumPy semantics: 1-D operands are promoted, leading (batch) axes broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  live('matmul', a, b);
  if (a.rank === 0 || b.rank === 0) throw new RangeError(`matmul: operands must have rank >= 1, got ${fmt(a.shape)}, ${fmt(b.shape)}`);
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const out = matmulCore(a2, b2, false, false);
  let shape = out.shape.slice();
  if (a.rank === 1) shape.splice(shape.length - 2, 1);
  if (b.rank === 1) shape = shape.slice(0, -1);
  return a.rank === 1 || b.rank === 1 ? reshape(out, shape) : out;
}

/** op(a)·op(b) for rank ≥ 2 operands, where op transposes the last two axes when asked. */
export function matmulCore(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const Kb = transB ? bc : br;
  const N = transB ? br : bc;
  if (K !== Kb) {
    throw new RangeError(`matmul: inner dimensions differ: ${fmt(a.shape)}${transA ? 'ᵀ' : ''} · ${fmt(b.shape)}${transB ? 'ᵀ' : ''}`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batchShape = broadcastShapes('matmul', aBatch, bBatch);
  const batch = sizeOf(batchShape);
  const aFull = sizeOf(aBatch) === batch ? a : sizeOf(aBatch) === 1 ? a : expand(a, [...batchShape, ar, ac]);
  const bFull = sizeOf(bBatch) === batch ? b : sizeOf(bBatch) === 1 ? b : expand(b, [...batchShape, br, bc]);
  const out = matmulKernel({
    a: aFull, b: bFull, batch, M, N, K, transA, transB,
    aBatchStride: sizeOf(aFull.shape.slice(0, -2)) === 1 ? 0 : M * K,
    bBatchStride: sizeOf(bFull.shape.slice(0, -2)) === 1 ? 0 : K * N,
    outShape: [...batchShape, M, N],
  });
  return record('matmul', [a, b], out, (g) => {
    // C = op(A)·op(B): dop(A) = G·op(B)ᵀ, dop(B) = op(A)ᵀ·G; transpose back where op transposed.
    const ga = a.requiresGrad ? (transA ? matmulCore(b, g, transB, true) : matmulCore(g, b, false, !transB)) : null;
    const gb = b.requiresGrad ? (transB ? matmulCore(g, a, true, transA) : matmulCore(a, g, !transA, false)) : null;
    return [ga && sumTo(ga, a.shape), gb && sumTo(gb, b.shape)];
  });
}

export { reshape, expand, transpose, permute, slice, concat, pad } from './shape_ops.ts';
export type { SliceSpec } from '../tensor/shape.ts';

registerTapeOps(
  (a, b) => add(a, b),
  (a) => clone(a),
);
