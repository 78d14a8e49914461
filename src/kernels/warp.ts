// Affine resampling kernel (shaders/warp.wgsl): forward and the input gradient, both gathers.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { packParams, grid } from './params.ts';
import { shaderPipeline } from './preprocess.ts';

/**
 * One pass of the shader. Forward: src = x [N,C,H,W] → [N,C,OH,OW]; GRAD: src = g [N,C,OH,OW] → dx [N,C,H,W].
 * mats [N,12]: forward matrix then its inverse (see the shader).
 */
function dispatch(src: Tensor, mats: Tensor, [H, W]: number[], [OH, OW]: number[], grad: boolean): Tensor {
  const [N, C] = src.shape;
  const out = Tensor.empty(grad ? [N, C, H, W] : [N, C, OH, OW]);
  const e = engine();
  e.dispatch({
    pipeline: shaderPipeline('warp', { GRAD: grad }),
    buffers: [src.buffer, mats.buffer, out.buffer],
    uniforms: packParams('warp', { total: out.size, C, H, W, OH, OW }),
    workgroups: grid(out.size, 256),
    label: `${grad ? 'warpGrad' : 'warp'}(${fmt(src.shape)} -> ${fmt(out.shape)})`,
  });
  return out;
}

/** out [N,C,OH,OW] sampled from x [N,C,H,W]. */
export const warpKernel = (x: Tensor, mats: Tensor, OH: number, OW: number): Tensor => dispatch(x, mats, x.shape.slice(2), [OH, OW], false);

/** dx [N,C,H,W] from the output gradient g [N,C,OH,OW]. */
export const warpGradKernel = (g: Tensor, mats: Tensor, H: number, W: number): Tensor => dispatch(g, mats, [H, W], g.shape.slice(2), true);
