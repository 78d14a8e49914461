// Total-variation kernel: per-pixel terms and the gradient in one dispatch.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { packParams, grid } from './params.ts';
import { shaderPipeline } from './preprocess.ts';

/** Returns [per-pixel terms, gradient]; see shaders/tv.wgsl for what each form writes. */
export function tvKernel(img: Tensor, form: 'global' | 'pixel', beta: number, eps: number): [Tensor, Tensor] {
  const e = engine();
  const [H, W] = img.shape.slice(-2);
  const contrib = Tensor.empty(img.shape);
  const grad = Tensor.empty(img.shape);
  e.dispatch({
    pipeline: shaderPipeline('tv', { GLOBAL: form === 'global' }),
    buffers: [img.buffer, contrib.buffer, grad.buffer],
    uniforms: packParams('tv', { n: img.size, H, W, beta, eps }),
    workgroups: grid(img.size, 256),
    label: `totalVariation(${fmt(img.shape)}, ${form})`,
  });
  return [contrib, grad];
}
