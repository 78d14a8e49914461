// Element-wise kernels: unary (with scalar operands), unary gradients, broadcasting binary ops.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { broadcastShapes, broadcastStrides, fmt, sameShape } from '../tensor/shape.ts';
import { packParams, grid } from './params.ts';

import type { UnaryOp, UnaryGradOp, BinaryOp } from './shaders.gen.ts';
import { shaderPipeline } from './preprocess.ts';

// The op names are generated from shaders/elementwise.wgsl's function names (scripts/gen-shaders.mjs).
export type { UnaryOp, UnaryGradOp, BinaryOp };

export const MAX_RANK = 8;
/** Every define of shaders/elementwise.wgsl off; each kernel turns on its own. */
export const FLAGS = { UNARY: false, UNARY_GRAD: false, BROADCAST: false, GRID3: false, TIMES: false, VEC4: false, A_VEC: true, B_VEC: true, G_OPERAND: false };

/** The vec4 form (VEC4) for a flat pass over n elements: whenever n is a multiple of 4. */
const flat = (n: number) => (n % 4 === 0 ? { VEC4: true, invocations: n / 4 } : { VEC4: false, invocations: n });

function checkRank(op: string, shape: readonly number[]): void {
  if (shape.length > MAX_RANK) throw new RangeError(`${op}: rank ${shape.length} exceeds the supported ${MAX_RANK}`);
}

export function unaryKernel(op: UnaryOp, x: Tensor, alpha = 0, beta = 0, out?: Tensor): Tensor {
  const e = engine();
  const y = out ?? Tensor.empty(x.shape);
  const { VEC4, invocations } = flat(x.size);
  const pipe = shaderPipeline('elementwise', { ...FLAGS, UNARY: true, VEC4, OP: `u_${op}` });
  e.dispatch({
    pipeline: pipe,
    buffers: [x.buffer, y.buffer],
    uniforms: packParams('elementwise', { n: x.size, rank: 0, alpha, beta, shape: [], astr: [], bstr: [] }),
    workgroups: grid(invocations, 256),
    label: `${op}(${fmt(x.shape)})`,
  });
  return y;
}

export function unaryGradKernel(op: UnaryGradOp, x: Tensor, y: Tensor, g: Tensor, alpha = 0, beta = 0): Tensor {
  const e = engine();
  const dx = Tensor.empty(x.shape);
  const { VEC4, invocations } = flat(x.size);
  const pipe = shaderPipeline('elementwise', { ...FLAGS, UNARY_GRAD: true, G_OPERAND: true, VEC4, OP: `g_${op}` });
  e.dispatch({
    pipeline: pipe,
    buffers: [x.buffer, y.buffer, g.buffer, dx.buffer],
    uniforms: packParams('elementwise', { n: x.size, rank: 0, alpha, beta, shape: [], astr: [], bstr: [] }),
    workgroups: grid(invocations, 256),
    label: `${op}.backward(${fmt(x.shape)})`,
  });
  return dx;
}

/**
 * Merges neighbouring axes that every operand walks alike (contiguously or not at all): [8,3,150,150] with a
 * [1,3,1,1] operand becomes [8, 3, 22500] with strides [0, 1, 0].
 */
function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): [number[], number[][]] {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  shape.forEach((d, i) => {
    if (d === 1) return;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, k) => st[k][last] === s[i] * d)) {
      dims[last] *= d;
      strides.forEach((s, k) => (st[k][last] = s[i]));
    } else {
      dims.push(d);
      strides.forEach((s, k) => st[k].push(s[i]));
    }
  });
  return [dims, st];
}

/**
 * `shape` coalesced and padded in front to exactly 3 axes (size 1, stride 0), for a dispatch of one grid
 * dimension per axis with `perGroup` elements of the last axis to a workgroup; null when more than 3 axes
 * remain or a grid dimension would pass the device's limit.
 */
export function grid3(shape: readonly number[], strides: readonly (readonly number[])[], perGroup: number): { dims: number[]; strides: number[][] } | null {
  const [dims, st] = coalesce(shape, strides);
  while (dims.length < 3) {
    dims.unshift(1);
    st.forEach((s) => s.unshift(0));
  }
  const maxDim = engine().limits.maxComputeWorkgroupsPerDimension ?? 65535;
  return dims.length === 3 && dims[0] <= maxDim && dims[1] <= maxDim && Math.ceil(dims[2] / perGroup) <= maxDim ? { dims, strides: st } : null;
}

/** out = op(a, b) with broadcasting; with `times` (of the output's shape), times · op(a, b) in the same pass. */
export function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor, times?: Tensor): Tensor {
  const e = engine();
  const shape = broadcastShapes(op, a.shape, b.shape);
  checkRank(op, shape);
  if (times && !sameShape(times.shape, shape)) throw new RangeError(`${op}: the factor ${fmt(times.shape)} is not the output's shape ${fmt(shape)}`);
  const TIMES = !!times;
  const buffers = (out: Tensor) => (times ? [a.buffer, b.buffer, times.buffer, out.buffer] : [a.buffer, b.buffer, out.buffer]);
  const out = Tensor.empty(shape);
  const broadcast = !(sameShape(a.shape, shape) && sameShape(b.shape, shape));
  const label = `${times ? 'times_' : ''}${op}(${fmt(a.shape)}, ${fmt(b.shape)})`;
  if (out.size === 0) return out;
  if (broadcast) {
    const g = grid3(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)], 64);
    if (g) {
      const { dims, strides: [as, bs] } = g;
      // vec4s along the last axis when it is a multiple of 4 that each operand walks contiguously or not at all.
      const aligned = (st: number[]) => st[2] === 0 || (st[2] === 1 && st[0] % 4 === 0 && st[1] % 4 === 0);
      const VEC4 = dims[2] % 4 === 0 && aligned(as) && aligned(bs);
      e.dispatch({
        pipeline: shaderPipeline('elementwise', { ...FLAGS, GRID3: true, TIMES, G_OPERAND: TIMES, VEC4, A_VEC: as[2] === 1, B_VEC: bs[2] === 1, OP: `b_${op}` }),
        buffers: buffers(out),
        uniforms: packParams('elementwise', { n: out.size, rank: 3, alpha: 0, beta: 0, shape: dims, astr: as, bstr: bs }),
        workgroups: [Math.ceil(dims[2] / (VEC4 ? 256 : 64)), dims[1], dims[0]],
        label,
      });
      return out;
    }
  }
  const { VEC4, invocations } = broadcast ? { VEC4: false, invocations: out.size } : flat(out.size);
  const pipe = shaderPipeline('elementwise', { ...FLAGS, BROADCAST: broadcast, TIMES, G_OPERAND: TIMES, VEC4, OP: `b_${op}` });
  const params = packParams('elementwise', { n: out.size, rank: shape.length, alpha: 0, beta: 0, shape, astr: broadcastStrides(a.shape, shape), bstr: broadcastStrides(b.shape, shape) });
  e.dispatch({
    pipeline: pipe,
    buffers: buffers(out),
    uniforms: params,
    workgroups: grid(invocations, 256),
    label,
  });
  return out;
}
