// The Laplacian pyramid's 5-tap binomial down- and up-sampling (shaders/pyramid.wgsl).
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { packParams, grid } from './params.ts';
import { shaderPipeline } from './preprocess.ts';

/** DOWN: [...,H,W] → [...,ceil(H/2),ceil(W/2)]; UP: [...,h,w] → [...,outH,outW]. Output = gain × the sum. */
export function resampleKernel(mode: 'down' | 'up', src: Tensor, outH: number, outW: number, gain: number): Tensor {
  const e = engine();
  const [SH, SW] = src.shape.slice(-2);
  const lead = src.shape.slice(0, -2);
  const out = Tensor.empty([...lead, outH, outW]);
  e.dispatch({
    pipeline: shaderPipeline('pyramid', { DOWN: mode === 'down' }),
    buffers: [src.buffer, out.buffer],
    uniforms: packParams('pyramid', { n: out.size, SH, SW, OH: outH, OW: outW, gain }),
    workgroups: grid(out.size, 256),
    label: `pyramid.${mode}(${fmt(src.shape)} -> ${fmt(out.shape)})`,
  });
  return out;
}
