import type { Tensor } from '../tensor/tensor.ts';
import { adamUpdateKernel } from '../kernels/optim.ts';
import { Optimizer, checkHyper, type OptimizerOptions } from './optimizer.ts';

export interface AdamOptions extends OptimizerOptions {
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Default 0: L2 (wd·θ added to the gradient), or decoupled decay with `decoupledWeightDecay`. */
  weightDecay?: number;
  /** AdamW: θ ← (1 − lr·wd)·θ instead of adding wd·θ to the gradient (default false). */
  decoupledWeightDecay?: boolean;
  /** Divide the moments by 1 − β^t (default true). */
  biasCorrection?: boolean;
}

/** Adam / AdamW with PyTorch's semantics; bias correction counts each parameter's own updates. */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupledWeightDecay: boolean;
  readonly biasCorrection: boolean;

  constructor(params: readonly Tensor[], o: AdamOptions) {
    const beta1 = checkHyper('Adam', 'beta1', o.beta1 ?? 0.9, 0, 1);
    const beta2 = checkHyper('Adam', 'beta2', o.beta2 ?? 0.999, 0, 1);
    const eps = checkHyper('Adam', 'eps', o.eps ?? 1e-8, 0);
    const weightDecay = checkHyper('Adam', 'weightDecay', o.weightDecay ?? 0, 0);
    super(params, o, 2, 'Adam');
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.decoupledWeightDecay = o.decoupledWeightDecay ?? false;
    this.biasCorrection = o.biasCorrection ?? true;
  }

  protected update(i: number, p: Tensor, g: Tensor, [m, v]: Tensor[], lr: number): void {
    adamUpdateKernel(p, g, m, v, {
      lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay,
      decoupled: this.decoupledWeightDecay, t: this.biasCorrection ? this.updates[i] : 0, range: this.range,
    });
  }
}
