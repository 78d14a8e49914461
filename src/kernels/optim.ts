// Dispatch of the fused optimizer updates (shaders/optim.wgsl).
import { engine } from '../tensor/engine.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { Params, grid } from './params.ts';

export interface UpdateScalars {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
  wd: number;
  bc1: number;
  bc2: number;
}

export function sgdUpdateKernel(theta: Tensor, grad: Tensor, buf: Tensor, s: UpdateScalars, nesterov: boolean): void {
  const e = engine();
  e.dispatch({
    pipeline: e.pipeline('optim', { ADAM: false, DECOUPLED: false, NESTEROV: nesterov }, ['write', 'read', 'write', 'uniform']),
    buffers: [theta.buffer, grad.buffer, buf.buffer],
    uniforms: new Params().u(theta.size, 0, 0, 0).f(s.lr, s.b1, s.b2, s.eps, s.wd, s.bc1, s.bc2, 0).build(),
    workgroups: grid(theta.size, 256),
    label: `sgd.step(${fmt(theta.shape)})`,
  });
}

export function adamUpdateKernel(theta: Tensor, grad: Tensor, m: Tensor, v: Tensor, s: UpdateScalars, decoupled: boolean): void {
  const e = engine();
  e.dispatch({
    pipeline: e.pipeline('optim', { ADAM: true, DECOUPLED: decoupled, NESTEROV: false }, ['write', 'read', 'write', 'write', 'uniform']),
    buffers: [theta.buffer, grad.buffer, m.buffer, v.buffer],
    uniforms: new Params().u(theta.size, 0, 0, 0).f(s.lr, s.b1, s.b2, s.eps, s.wd, s.bc1, s.bc2, 0).build(),
    workgroups: grid(theta.size, 256),
    label: `adam.step(${fmt(theta.shape)})`,
  });
}
