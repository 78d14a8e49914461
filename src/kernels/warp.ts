// Affine resampling kernel (shaders/warp.wgsl): forward and the input gradient, both gathers.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { Params, grid } from './params.ts';

/** out [N,C,OH,OW] sampled from x [N,C,H,W]; mats [N,12]: forward matrix then its inverse (see the shader). */
export function warpKernel(x: Tensor, mats: Tensor, OH: number, OW: number): Tensor {
  const [N, C, H, W] = x.shape;
  const out = Tensor.empty([N, C, OH, OW]);
  const e = engine();
  e.dispatch({
    pipeline: e.pipeline('warp', { GRAD: false }, ['read', 'read', 'write', 'uniform']),
    buffers: [x.buffer, mats.buffer, out.buffer],
    uniforms: new Params().u(out.size, C, H, W).u(OH, OW, 0, 0).build(),
    workgroups: grid(out.size, 256),
    label: `warp(${fmt(x.shape)} -> ${OH}x${OW})`,
  });
  return out;
}

/** dx [N,C,H,W] from the output gradient g [N,C,OH,OW]. */
export function warpGradKernel(g: Tensor, mats: Tensor, H: number, W: number): Tensor {
  const [N, C, OH, OW] = g.shape;
  const dx = Tensor.empty([N, C, H, W]);
  const e = engine();
  e.dispatch({
    pipeline: e.pipeline('warp', { GRAD: true }, ['read', 'read', 'write', 'uniform']),
    buffers: [g.buffer, mats.buffer, dx.buffer],
    uniforms: new Params().u(dx.size, C, H, W).u(OH, OW, 0, 0).build(),
    workgroups: grid(dx.size, 256),
    label: `warpGrad(${fmt(g.shape)} -> ${H}x${W})`,
  });
  return dx;
}
