// Max / average pooling kernels (forward and gather-form backward), NCHW.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { packParams, grid } from './params.ts';
import { shaderPipeline } from './preprocess.ts';

export interface PoolGeometry {
  N: number; C: number; H: number; W: number; OH: number; OW: number;
  KH: number; KW: number; SH: number; SW: number; DH: number; DW: number;
  PT: number; PL: number; PB: number; PR: number;
}

export type PoolKind = 'max' | 'avg';

/** Stride blocks that hold any of the n pixels after `pad` (the backward's blocks along one axis). */
const blocks = (pad: number, n: number, stride: number) => Math.floor((pad + n - 1) / stride) - Math.floor(pad / stride) + 1;

const uniforms = (g: PoolGeometry) =>
  // The window's sizes are pipeline constants (window() below); their slots in the struct stay zero.
  packParams('pool', { NC: g.N * g.C, H: g.H, W: g.W, OH: g.OH, OW: g.OW, PT: g.PT, PL: g.PL, PB: g.PB, PR: g.PR, BH: blocks(g.PT, g.H, g.SH), BW: blocks(g.PL, g.W, g.SW) });

const window = (g: PoolGeometry) => ({ KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, DH: g.DH, DW: g.DW });

const label = (op: string, g: PoolGeometry) =>
  `${op}([${g.N},${g.C},${g.H},${g.W}] k${g.KH}×${g.KW} s${g.SH}×${g.SW} pad ${g.PT},${g.PL},${g.PB},${g.PR})`;

/** Returns [y, argmax] for max pooling (argmax = in-plane index as f32), [y, null] for average pooling. */
export function poolKernel(kind: PoolKind, x: Tensor, g: PoolGeometry, countPad = false): [Tensor, Tensor | null] {
  const e = engine();
  const y = Tensor.empty([g.N, g.C, g.OH, g.OW]);
  const arg = kind === 'max' ? Tensor.empty(y.shape) : null;
  e.dispatch({
    pipeline: shaderPipeline('pool', { BACKWARD: false, MAX: kind === 'max', COUNT_PAD: countPad, MASK: false, ...window(g) }),
    buffers: [x.buffer, y.buffer, arg ? arg.buffer : e.scratch],
    uniforms: uniforms(g),
    workgroups: grid(y.size, 256),
    label: label(`${kind}Pool2d`, g),
  });
  return [y, arg];
}

/**
 * dx from dy: each input pixel gathers the gradients of the windows that used it; with `mask` (the pool's input,
 * a ReLU's output) zeroed where that is not positive, the ReLU's gradient pass taken in.
 */
export function poolGradKernel(kind: PoolKind, dy: Tensor, arg: Tensor | null, g: PoolGeometry, countPad = false, mask?: Tensor): Tensor {
  const e = engine();
  const dx = Tensor.empty([g.N, g.C, g.H, g.W]);
  e.dispatch({
    pipeline: shaderPipeline('pool', { BACKWARD: true, MAX: kind === 'max', COUNT_PAD: countPad, MASK: !!mask, ...window(g) }),
    buffers: [dy.buffer, arg ? arg.buffer : e.scratch, dx.buffer, ...(mask ? [mask.buffer] : [])],
    uniforms: uniforms(g),
    // One invocation per block of SH × SW input pixels (shaders/pool.wgsl).
    workgroups: grid(g.N * g.C * blocks(g.PT, g.H, g.SH) * blocks(g.PL, g.W, g.SW), 256),
    label: label(`${kind}Pool2d.backward`, g),
  });
  return dx;
}
