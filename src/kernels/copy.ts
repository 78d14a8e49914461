// Strided gather/scatter copies: permute, expand, slice, pad, concat are all one of these.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { packParams, grid } from './params.ts';
import { MAX_RANK, FLAGS as ELEMENTWISE_FLAGS } from './elementwise.ts';
import { shaderPipeline } from './preprocess.ts';

/** out[c] = src[offset + Σ c_d·strides_d] for every coordinate c of `shape`. */
export function gather(src: Tensor, shape: readonly number[], strides: readonly number[], offset: number, label: string): Tensor {
  if (shape.length > MAX_RANK) throw new RangeError(`${label}: rank ${shape.length} exceeds the supported ${MAX_RANK}`);
  const out = Tensor.empty(shape);
  if (out.size === 0) return out;
  const e = engine();
  e.dispatch({
    pipeline: shaderPipeline('copy', { SCATTER: false }),
    buffers: [src.buffer, out.buffer],
    uniforms: packParams('copy', { n: out.size, rank: shape.length, offset, shape, stride: strides }),
    workgroups: grid(out.size, 256),
    label: `${label}(${fmt(src.shape)} -> ${fmt(shape)})`,
  });
  return out;
}

/** dst[offset + Σ c_d·strides_d] = src[c] for every coordinate c of src (dst is written in place). */
export function scatterInto(dst: Tensor, src: Tensor, strides: readonly number[], offset: number, label: string): void {
  if (src.size === 0) return;
  dst.markWritten();
  if (src.rank > MAX_RANK) throw new RangeError(`${label}: rank ${src.rank} exceeds the supported ${MAX_RANK}`);
  const e = engine();
  e.dispatch({
    pipeline: shaderPipeline('copy', { SCATTER: true }),
    buffers: [src.buffer, dst.buffer],
    uniforms: packParams('copy', { n: src.size, rank: src.rank, offset, shape: src.shape, stride: strides }),
    workgroups: grid(src.size, 256),
    label: `${label}(${fmt(src.shape)} -> ${fmt(dst.shape)})`,
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
