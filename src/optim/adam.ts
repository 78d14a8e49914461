import type { Tensor } from '../tensor/tensor.ts';
import { adamUpdateKernel } from '../kernels/optim.ts';
import { Optimizer } from './optimizer.ts';
import type { Schedule } from './schedule.ts';

export interface AdamOptions {
  lr: number | Schedule;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** AdamW: decay the parameter directly instead of adding wd·θ to the gradient. */
  decoupledWeightDecay?: boolean;
  biasCorrection?: boolean;
}

export class Adam extends Optimizer {
  private b1: number;
  private b2: number;
  private eps: number;
  private wd: number;
  private decoupled: boolean;
  private biasCorrection: boolean;

  constructor(params: Tensor[], o: AdamOptions) {
    super(params, o.lr, 2, 'Adam');
    this.b1 = o.beta1 ?? 0.9;
    this.b2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.wd = o.weightDecay ?? 0;
    this.decoupled = o.decoupledWeightDecay ?? false;
    this.biasCorrection = o.biasCorrection ?? true;
  }

  protected update(p: Tensor, g: Tensor, [m, v]: Tensor[], lr: number): void {
    // this.t was already advanced: it is the 1-based step number here.
    const bc1 = this.biasCorrection ? 1 - this.b1 ** this.t : 1;
    const bc2 = this.biasCorrection ? 1 - this.b2 ** this.t : 1;
    adamUpdateKernel(p, g, m, v, { lr, b1: this.b1, b2: this.b2, eps: this.eps, wd: this.wd, bc1, bc2 }, this.decoupled);
  }
}
