// Strided gather/scatter copies: permute, expand, slice, pad, concat are all one of these.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt, stridesOf } from '../tensor/shape.ts';
import { packParams, grid } from './params.ts';
import { MAX_RANK, FLAGS as ELEMENTWISE_FLAGS, grid3 } from './elementwise.ts';
import { shaderPipeline } from './preprocess.ts';

/** out[c] = src[offset + Σ c_d·strides_d] for every coordinate c of `shape`. */
export function gather(src: Tensor, shape: readonly number[], strides: readonly number[], offset: number, label: string): Tensor {
  if (shape.length > MAX_RANK) throw new RangeError(`${label}: rank ${shape.length} exceeds the supported ${MAX_RANK}`);
  const out = Tensor.empty(shape);
  if (out.size === 0) return out;
  copy(false, src, out, shape, strides, offset, `${label}(${fmt(src.shape)} -> ${fmt(shape)})`);
  return out;
}

/** dst[offset + Σ c_d·strides_d] = src[c] for every coordinate c of src (dst is written in place). */
export function scatterInto(dst: Tensor, src: Tensor, strides: readonly number[], offset: number, label: string): void {
  if (src.size === 0) return;
  dst.markWritten();
  if (src.rank > MAX_RANK) throw new RangeError(`${label}: rank ${src.rank} exceeds the supported ${MAX_RANK}`);
  copy(true, src, dst, src.shape, strides, offset, `${label}(${fmt(src.shape)} -> ${fmt(dst.shape)})`);
}

/**
 * The copy over the coordinates of `shape` (shaders/copy.wgsl): axes that both sides walk alike merged first
 * (coalesce), and over at most 3 of them one grid dimension each, no index divisions (an expand of [8,1,1,1] to
 * [8,64,17,17] becomes [8, 18496] with strides [1, 0]).
 */
function copy(scatter: boolean, src: Tensor, out: Tensor, shape: readonly number[], strides: readonly number[], offset: number, label: string): void {
  const e = engine();
  const n = shape.reduce((a, b) => a * b, 1);
  const g = grid3(shape, [strides, stridesOf(shape)], 256);
  // A short last axis would leave most of a 256-wide workgroup idle, and lavapipe pays per workgroup: then
  // the flat form, dividing (a 3×3 → 4×4 pad of 8×256 planes: 2.8 ms in rows of 3, less flat).
  const GRID3 = !!g && g.dims[2] >= 64;
  e.dispatch({
    pipeline: shaderPipeline('copy', { SCATTER: scatter, GRID3 }),
    buffers: [src.buffer, out.buffer],
    uniforms: GRID3 ? packParams('copy', { n, rank: 3, offset, shape: g.dims, stride: g.strides[0] }) : packParams('copy', { n, rank: shape.length, offset, shape, stride: strides }),
    workgroups: GRID3 ? [Math.ceil(g.dims[2] / 256), g.dims[1], g.dims[0]] : grid(n, 256),
    label,
  });
}

/** A new tensor of `shape` filled with `value`. */
export function filled(shape: readonly number[], value: number): Tensor {
  const out = Tensor.empty(shape);
  if (out.size === 0) return out;
  const e = engine();
  if (value === 0) {
    e.clearBuffer(out.buffer, out.size * 4);
    return out;
  }
  e.dispatch({
    pipeline: shaderPipeline('elementwise', { ...ELEMENTWISE_FLAGS, UNARY: true, OP: 'u_fill' }),
    buffers: [e.scratch, out.buffer],
    uniforms: packParams('elementwise', { n: out.size, rank: 0, alpha: value, beta: 0, shape: [], astr: [], bstr: [] }),
    workgroups: grid(out.size, 256),
    label: `fill(${fmt(shape)}, ${value})`,
  });
  return out;
}
