// Seeded pseudo-random numbers generated on the host (reproducible across runtimes and adapters).
import { Tensor } from './tensor.ts';
import type { Shape } from './shape.ts';
import { sizeOf } from './shape.ts';

/** A small, fast, seedable generator (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed = 1) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** The generator's whole state (to save and restore it: a resumed run draws the same numbers). */
  get state(): number {
    return this.s;
  }

  set state(v: number) {
    this.s = v >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  fill(n: number, f: () => number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = f();
    return out;
  }
}

/** A tensor of normal samples (mean 0, standard deviation `std`), reproducible from `seed`. */
export function randn(shape: Shape, seed = 1, std = 1): Tensor {
  const r = new Rng(seed);
  return Tensor.fromData(r.fill(sizeOf(shape), () => std * r.normal()), shape);
}

/** A tensor of uniform samples in [lo, hi), reproducible from `seed`. */
export function rand(shape: Shape, seed = 1, lo = 0, hi = 1): Tensor {
  const r = new Rng(seed);
  return Tensor.fromData(r.fill(sizeOf(shape), () => r.uniform(lo, hi)), shape);
}
