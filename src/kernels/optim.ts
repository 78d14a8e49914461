// Dispatch of the fused optimizer updates (shaders/optim.wgsl). Step-dependent coefficients are combined
// here in float64 and passed as uniforms.
import { engine } from '../tensor/engine.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { packParams, grid } from './params.ts';
import { shaderPipeline } from './preprocess.ts';

/** Bounds θ is clamped to after each step. */
export type Range = readonly [number, number];
const UNBOUNDED: Range = [-3.4e38, 3.4e38];

export interface SgdStep {
  lr: number;
  range?: Range;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

export interface AdamStep {
  lr: number;
  range?: Range;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: θ ← (1 − lr·wd)·θ instead of adding wd·θ to the gradient. */
  decoupled: boolean;
  /** 1-based step number of this parameter; 0 disables bias correction. */
  t: number;
}

function uniforms(n: number, lr: number, mu: number, c1: number, b2: number, c2: number, eps: number, rsqrtBc2: number, l2: number, decay: number, range: Range = UNBOUNDED) {
  return packParams('optim', { n, lr, mu, c1, b2, c2, eps, rsqrtBc2, l2, decay, lo: range[0], hi: range[1] });
}

/** θ −= lr·(b or g + μ·b) with b = μ·b + g + wd·θ, in place; `buf` is the momentum buffer (null when μ = 0). */
export function sgdUpdateKernel(theta: Tensor, grad: Tensor, buf: Tensor | null, s: SgdStep): void {
  const e = engine();
  theta.markWritten();
  const momentum = buf !== null;
  e.dispatch({
    pipeline: shaderPipeline('optim', { ADAM: false, MOMENTUM: momentum, NESTEROV: s.nesterov }),
    buffers: momentum ? [theta.buffer, grad.buffer, buf.buffer] : [theta.buffer, grad.buffer],
    uniforms: uniforms(theta.size, s.lr, s.momentum, 0, 0, 0, 0, 0, s.weightDecay, 1, s.range),
    workgroups: grid(theta.size, 256),
    label: `sgd.step(${fmt(theta.shape)})`,
  });
}

/** One Adam/AdamW step on θ with first and second moments m, v, all in place. */
export function adamUpdateKernel(theta: Tensor, grad: Tensor, m: Tensor, v: Tensor, s: AdamStep): void {
  const e = engine();
  theta.markWritten();
  const bc1 = s.t > 0 ? 1 - s.beta1 ** s.t : 1;
  const bc2 = s.t > 0 ? 1 - s.beta2 ** s.t : 1;
  e.dispatch({
    pipeline: shaderPipeline('optim', { ADAM: true, MOMENTUM: true, NESTEROV: false }),
    buffers: [theta.buffer, grad.buffer, m.buffer, v.buffer],
    uniforms: uniforms(
      theta.size, s.lr / bc1, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.eps, 1 / Math.sqrt(bc2),
      s.decoupled ? 0 : s.weightDecay, s.decoupled ? 1 - s.lr * s.weightDecay : 1, s.range,
    ),
    workgroups: grid(theta.size, 256),
    label: `adam.step(${fmt(theta.shape)})`,
  });
}
