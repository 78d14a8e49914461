// Optimizer base: parameter checks, state buffers allocated once, zeroGrad, dispose.
import { Tensor, keep } from '../tensor/tensor.ts';
import { fmt, sameShape } from '../tensor/shape.ts';
import { zeros } from '../autograd/ops.ts';
import { noGrad } from '../autograd/tape.ts';
import { resolve, type Schedule } from './schedule.ts';

export abstract class Optimizer {
  /** Steps taken so far. */
  t = 0;
  protected state: Tensor[][];

  constructor(
    readonly params: Tensor[],
    public lr: number | Schedule,
    slots: number,
    protected name: string,
  ) {
    params.forEach((p, i) => {
      p.assertLive(name);
      if (p.node) throw new Error(`${name}: parameter ${i} ${fmt(p.shape)} is not a leaf (it was produced by '${p.node.op}')`);
      if (!p.requiresGrad) throw new Error(`${name}: parameter ${i} ${fmt(p.shape)} does not have requiresGrad set`);
    });
    // Zero-initialised state, owned by the optimizer (outside every scope) until dispose().
    this.state = params.map((p) => noGrad(() => Array.from({ length: slots }, () => keep(zeros(p.shape)))));
  }

  /** The learning rate used by the next step. */
  currentLr(): number {
    return resolve(this.lr, this.t);
  }

  /** Applies one update to every parameter that has a gradient; records GPU work only. */
  step(): void {
    const lr = this.currentLr();
    this.t++;
    this.params.forEach((p, i) => {
      const g = p.grad;
      if (!g) return;
      if (!sameShape(g.shape, p.shape)) throw new Error(`${this.name}: gradient ${fmt(g.shape)} does not match parameter ${i} ${fmt(p.shape)}`);
      this.update(p, g, this.state[i], lr);
    });
  }

  protected abstract update(p: Tensor, g: Tensor, state: Tensor[], lr: number): void;

  /** Drops every parameter's gradient (the next backward starts from zero). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  dispose(): void {
    for (const s of this.state) for (const t of s) t.dispose();
    this.state = [];
  }
}
