// y = relu((x + bias_c) · scale_c + shift_c) in one pass (the default face model's conv epilogue).
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { affineActKernel } from '../kernels/affine_act.ts';
import { unaryGradKernel } from '../kernels/elementwise.ts';
import { record } from './tape.ts';
import { add, mul, reshape, sum } from './ops.ts';

export interface AffineActParams {
  bias?: Tensor;
  scale?: Tensor;
  shift?: Tensor;
  /** Apply ReLU after the affine map (default true). */
  relu?: boolean;
}

/** Per-channel (axis 1) affine map and optional ReLU, fused forward; gradients for x and each parameter. */
export function affineAct(x: Tensor, p: AffineActParams): Tensor {
  const op = 'affineAct';
  x.assertLive(op);
  if (x.rank < 2) throw new RangeError(`${op}: input must have a channel axis (rank ≥ 2), got ${fmt(x.shape)}`);
  const C = x.shape[1];
  for (const [name, t] of Object.entries({ bias: p.bias, scale: p.scale, shift: p.shift })) {
    if (!t) continue;
    t.assertLive(op);
    if (t.rank !== 1 || t.shape[0] !== C) throw new RangeError(`${op}: ${name} ${fmt(t.shape)} must be [${C}] for input ${fmt(x.shape)}`);
  }
  const relu = p.relu ?? true;
  const y = affineActKernel(x, p.bias ?? null, p.scale ?? null, p.shift ?? null, relu);
  const bshape = [1, C, ...x.shape.slice(2).map(() => 1)];
  const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
  const params = [p.bias, p.scale, p.shift].filter((t): t is Tensor => !!t);
  return record(op, [x, ...params], y, (g) => {
    // g' = g · relu'(pre-activation); relu' is read from y (y > 0 exactly where the pre-activation is).
    const gp = relu ? unaryGradKernel('relu', y, y, g) : g;
    const s = p.scale ? reshape(p.scale, bshape) : null;
    const gx = s ? mul(gp, s) : gp;
    const grads: (Tensor | null)[] = [x.requiresGrad ? gx : null];
    if (p.bias) grads.push(p.bias.requiresGrad ? sum(gx, axes) : null);
    if (p.scale) grads.push(p.scale.requiresGrad ? sum(mul(gp, p.bias ? add(x, reshape(p.bias, bshape)) : x), axes) : null);
    if (p.shift) grads.push(p.shift.requiresGrad ? sum(gp, axes) : null);
    return grads;
  });
}
