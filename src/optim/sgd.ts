import type { Tensor } from '../tensor/tensor.ts';
import { sgdUpdateKernel } from '../kernels/optim.ts';
import { Optimizer, checkHyper, type OptimizerOptions } from './optimizer.ts';

export interface SgdOptions extends OptimizerOptions {
  /** μ ≥ 0 (default 0: plain SGD, no state). */
  momentum?: number;
  nesterov?: boolean;
  /** L2 penalty: wd·θ is added to the gradient (default 0). */
  weightDecay?: number;
}

/** SGD with momentum (PyTorch semantics: buffer b = μ·b + g, no dampening), optional Nesterov and L2 decay. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(params: readonly Tensor[], o: SgdOptions) {
    const momentum = checkHyper('SGD', 'momentum', o.momentum ?? 0, 0);
    const weightDecay = checkHyper('SGD', 'weightDecay', o.weightDecay ?? 0, 0);
    const nesterov = o.nesterov ?? false;
    if (nesterov && momentum === 0) throw new RangeError('SGD: Nesterov needs a positive momentum');
    super(params, o, momentum > 0 ? 1 : 0, 'SGD');
    this.momentum = momentum;
    this.nesterov = nesterov;
    this.weightDecay = weightDecay;
  }

  protected update(_i: number, p: Tensor, g: Tensor, state: Tensor[], lr: number): void {
    sgdUpdateKernel(p, g, state[0] ?? null, { lr, momentum: this.momentum, nesterov: this.nesterov, weightDecay: this.weightDecay, range: this.range });
  }
}
