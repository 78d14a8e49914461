// Optimizer base: parameter checks, state buffers allocated once, per-parameter step counts, zeroGrad,
// dispose. Subclasses only dispatch their fused update kernel.
import { Tensor, keep } from '../tensor/tensor.ts';
import { fmt, sameShape } from '../tensor/shape.ts';
import { zeros } from '../autograd/ops.ts';
import { noGrad } from '../autograd/tape.ts';
import { resolve, type Schedule } from './schedule.ts';

/** Throws unless `value` is finite and in [lo, hi) (or [lo, ∞) without hi). */
export function checkHyper(owner: string, name: string, value: number, lo: number, hi = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value >= hi) {
    const range = hi === Infinity ? `≥ ${lo}` : `in [${lo}, ${hi})`;
    throw new RangeError(`${owner}: ${name} must be a finite number ${range}, got ${value}`);
  }
  return value;
}

export interface OptimizerOptions {
  lr: number | Schedule;
  /** Keep every parameter within [lo, hi] after each step (projected descent), e.g. [0, 255] for pixels. */
  range?: readonly [number, number];
}

/** Base of SGD and Adam: holds the parameters and their state; step() updates them from their gradients. */
export abstract class Optimizer {
  /** Steps taken so far; the learning-rate schedule is evaluated at this value for the next step. */
  t = 0;
  readonly params: readonly Tensor[];
  private lrValue: number | Schedule;
  private state: Tensor[][] | null;
  /** Updates applied to each parameter (a parameter without a gradient is skipped and not counted). */
  protected readonly updates: number[];
  /** Bounds applied after each update, or undefined. */
  readonly range: readonly [number, number] | undefined;

  constructor(
    params: readonly Tensor[],
    o: OptimizerOptions,
    slots: number,
    protected readonly name: string,
  ) {
    const lr = o.lr;
    if (o.range) {
      const [lo, hi] = o.range;
      if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) throw new RangeError(`${name}: range must be two finite numbers lo ≤ hi, got [${lo}, ${hi}]`);
    }
    this.range = o.range;
    if (!Array.isArray(params) || params.length === 0) throw new Error(`${name}: expected a non-empty array of parameter tensors`);
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${name}: parameter ${i} is not a Tensor`);
      p.assertLive(name);
      if (p.node) throw new Error(`${name}: parameter ${i} ${fmt(p.shape)} is not a leaf (it was produced by '${p.node.op}')`);
      if (!p.requiresGrad) throw new Error(`${name}: parameter ${i} ${fmt(p.shape)} does not have requiresGrad set`);
      const j = params.findIndex((q) => q.buffer === p.buffer);
      if (j < i) throw new Error(`${name}: parameters ${j} ${fmt(params[j].shape)} and ${i} ${fmt(p.shape)} share storage (listed twice, or one is a view of the other)`);
    });
    this.params = [...params];
    this.lrValue = this.checkLr(lr);
    this.updates = params.map(() => 0);
    // Zero-initialised state, owned by the optimizer (outside every scope) until dispose().
    this.state = params.map((p) => noGrad(() => Array.from({ length: slots }, () => keep(zeros(p.shape)))));
  }

  /** A number, or a schedule of the step count (see schedule.ts). Settable between steps. */
  get lr(): number | Schedule {
    return this.lrValue;
  }

  set lr(v: number | Schedule) {
    this.lrValue = this.checkLr(v);
  }

  private checkLr(v: number | Schedule): number | Schedule {
    return typeof v === 'function' ? v : checkHyper(this.name, 'lr', v, 0);
  }

  /** The learning rate the next step uses. */
  currentLr(): number {
    const lr = resolve(this.lrValue, this.t);
    if (!Number.isFinite(lr) || lr < 0) throw new RangeError(`${this.name}: the learning-rate schedule gave ${lr} at step ${this.t}`);
    return lr;
  }

  /**
   * Records the update of every parameter that has a gradient: one fused dispatch each, no submit, no
   * readback, no allocation. The step-dependent numbers travel in the uniform block; a loop that submits once
   * per step (`engine().flush()`) restarts the uniform arena, so every step finds the same uniform slots and
   * the cached bind groups.
   */
  step(): void {
    const state = this.state;
    if (!state) throw new Error(`${this.name}.step: the optimizer was disposed`);
    const lr = this.currentLr();
    // Check everything before the first dispatch, so a refused step changes nothing.
    this.params.forEach((p, i) => {
      p.assertLive(`${this.name}.step (parameter ${i})`);
      const g = p.grad;
      if (!g) return;
      g.assertLive(`${this.name}.step (gradient of parameter ${i})`);
      if (!sameShape(g.shape, p.shape)) throw new RangeError(`${this.name}: gradient ${fmt(g.shape)} does not match parameter ${i} ${fmt(p.shape)}`);
      if (g.buffer === p.buffer) throw new Error(`${this.name}: the gradient of parameter ${i} ${fmt(p.shape)} shares its storage`);
    });
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      this.updates[i]++;
      this.update(i, p, p.grad, state[i], lr);
    });
    this.t++;
  }

  /** Dispatches the update of parameter `i`; `this.updates[i]` already counts this step. */
  protected abstract update(i: number, p: Tensor, g: Tensor, state: Tensor[], lr: number): void;

  /** The state a checkpoint needs: step count, updates per parameter, and each parameter's state tensors. */
  snapshot(): { t: number; updates: number[]; state: readonly (readonly Tensor[])[] } {
    if (!this.state) throw new Error(`${this.name}.snapshot: the optimizer was disposed`);
    return { t: this.t, updates: [...this.updates], state: this.state };
  }

  /** Restores what snapshot() gave (values read back to the host): a resumed run continues exactly. */
  restore(s: { t: number; updates: number[]; state: Float32Array[][] }): void {
    const state = this.state;
    if (!state) throw new Error(`${this.name}.restore: the optimizer was disposed`);
    if (s.updates.length !== this.params.length || s.state.length !== state.length || s.state.some((v, i) => v.length !== state[i].length)) {
      throw new RangeError(`${this.name}.restore: the saved state is for ${s.updates.length} parameters with other state slots`);
    }
    s.state.forEach((vals, i) => vals.forEach((v, k) => state[i][k].write(v)));
    this.t = s.t;
    s.updates.forEach((u, i) => (this.updates[i] = u));
  }

  /** Disposes every parameter's gradient (the next backward starts from zero). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Releases the state buffers; the parameters stay with their owner. */
  dispose(): void {
    for (const s of this.state ?? []) for (const t of s) t.dispose();
    this.state = null;
  }
}
