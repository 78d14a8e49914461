// Element-wise kernels: unary (with scalar operands), unary gradients, broadcasting binary ops.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { broadcastShapes, broadcastStrides, fmt, sameShape } from '../tensor/shape.ts';
import { Params, grid } from './params.ts';

export type UnaryOp =
  | 'neg' | 'relu' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sigmoid' | 'tanh' | 'square'
  | 'add_s' | 'mul_s' | 'rsub_s' | 'rdiv_s' | 'pow_s' | 'clamp' | 'leaky_relu' | 'step' | 'fill';
export type UnaryGradOp = Exclude<UnaryOp, 'step' | 'fill'>;
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'eq' | 'gt' | 'ge';

export const MAX_RANK = 8;
const FLAGS = { UNARY: false, UNARY_GRAD: false, BROADCAST: false };

function checkRank(op: string, shape: readonly number[]): void {
  if (shape.length > MAX_RANK) throw new RangeError(`${op}: rank ${shape.length} exceeds the supported ${MAX_RANK}`);
}

export function unaryKernel(op: UnaryOp, x: Tensor, alpha = 0, beta = 0, out?: Tensor): Tensor {
  const e = engine();
  const y = out ?? Tensor.empty(x.shape);
  const pipe = e.pipeline('elementwise', { ...FLAGS, UNARY: true, OP: `u_${op}` }, ['read', 'write', 'uniform']);
  e.dispatch({
    pipeline: pipe,
    buffers: [x.buffer, y.buffer],
    uniforms: new Params().u(x.size, 0).f(alpha, beta).build(),
    workgroups: grid(x.size, 256),
    label: `${op}(${fmt(x.shape)})`,
  });
  return y;
}

export function unaryGradKernel(op: UnaryGradOp, x: Tensor, y: Tensor, g: Tensor, alpha = 0, beta = 0): Tensor {
  const e = engine();
  const dx = Tensor.empty(x.shape);
  const pipe = e.pipeline('elementwise', { ...FLAGS, UNARY_GRAD: true, OP: `g_${op}` }, ['read', 'read', 'read', 'write', 'uniform']);
  e.dispatch({
    pipeline: pipe,
    buffers: [x.buffer, y.buffer, g.buffer, dx.buffer],
    uniforms: new Params().u(x.size, 0).f(alpha, beta).build(),
    workgroups: grid(x.size, 256),
    label: `${op}.backward(${fmt(x.shape)})`,
  });
  return dx;
}

export function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const e = engine();
  const shape = broadcastShapes(op, a.shape, b.shape);
  checkRank(op, shape);
  const out = Tensor.empty(shape);
  const broadcast = !(sameShape(a.shape, shape) && sameShape(b.shape, shape));
  const pipe = e.pipeline('elementwise', { ...FLAGS, BROADCAST: broadcast, OP: `b_${op}` }, ['read', 'read', 'write', 'uniform']);
  const params = new Params().u(out.size, shape.length).f(0, 0);
  params.vec(shape, MAX_RANK).vec(broadcastStrides(a.shape, shape), MAX_RANK).vec(broadcastStrides(b.shape, shape), MAX_RANK);
  e.dispatch({
    pipeline: pipe,
    buffers: [a.buffer, b.buffer, out.buffer],
    uniforms: params.build(),
    workgroups: grid(out.size, 256),
    label: `${op}(${fmt(a.shape)}, ${fmt(b.shape)})`,
  });
  return out;
}
