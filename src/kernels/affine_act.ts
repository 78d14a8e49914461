// The fused per-channel affine + ReLU kernel (forward); its backward is composed in src/autograd/affine_act.ts.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { packParams, grid } from './params.ts';
import { shaderPipeline } from './preprocess.ts';

export function affineActKernel(x: Tensor, bias: Tensor | null, scale: Tensor | null, shift: Tensor | null, relu: boolean): Tensor {
  const e = engine();
  const y = Tensor.empty(x.shape);
  const C = x.shape[1];
  const HW = x.shape.slice(2).reduce((a, b) => a * b, 1);
  e.dispatch({
    pipeline: shaderPipeline('affine_act', { HAS_BIAS: !!bias, HAS_SCALE: !!scale, HAS_SHIFT: !!shift, RELU: relu }),
    buffers: [x.buffer, bias?.buffer ?? e.scratch, scale?.buffer ?? e.scratch, shift?.buffer ?? e.scratch, y.buffer],
    uniforms: packParams('affine_act', { n: x.size, C, HW }),
    workgroups: grid(x.size, 256),
    label: `affineAct(${fmt(x.shape)}${bias ? ' +bias' : ''}${scale ? ' ×scale' : ''}${shift ? ' +shift' : ''}${relu ? ' relu' : ''})`,
  });
  return y;
}
