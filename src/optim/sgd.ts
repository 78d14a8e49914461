import type { Tensor } from '../tensor/tensor.ts';
import { sgdUpdateKernel } from '../kernels/optim.ts';
import { Optimizer } from './optimizer.ts';
import type { Schedule } from './schedule.ts';

export interface SgdOptions {
  lr: number | Schedule;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** SGD with momentum (PyTorch semantics: buffer b = μ·b + g, no dampening), optional Nesterov and L2 decay. */
export class SGD extends Optimizer {
  private momentum: number;
  private nesterov: boolean;
  private wd: number;

  constructor(params: Tensor[], o: SgdOptions) {
    super(params, o.lr, 1, 'SGD');
    this.momentum = o.momentum ?? 0;
    this.nesterov = o.nesterov ?? false;
    this.wd = o.weightDecay ?? 0;
    if (this.nesterov && this.momentum <= 0) throw new RangeError('SGD: Nesterov needs a positive momentum');
  }

  protected update(p: Tensor, g: Tensor, [buf]: Tensor[], lr: number): void {
    sgdUpdateKernel(p, g, buf, { lr, b1: this.momentum, b2: 0, eps: 0, wd: this.wd, bc1: 1, bc2: 1 }, this.nesterov);
  }
}
