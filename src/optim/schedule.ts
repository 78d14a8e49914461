// Schedules: plain functions of the step number t (0-based), for learning rates and loss weights such as
// the paper's decreasing w_TV (§3).
export type Schedule = (t: number) => number;

export const constant = (v: number): Schedule => () => v;

/** From `from` at t = 0 to `to` at t = steps, constant after. */
export const linear = (from: number, to: number, steps: number): Schedule => (t) => from + (to - from) * Math.min(Math.max(t / steps, 0), 1);

/** v0 · rate^t. */
export const exponential = (v0: number, rate: number): Schedule => (t) => v0 * rate ** t;

/** v0 · gamma^floor(t / every). */
export const step = (v0: number, gamma: number, every: number): Schedule => (t) => v0 * gamma ** Math.floor(t / every);

/** Cosine from v0 at t = 0 to vMin at t = steps, constant after. */
export const cosine = (v0: number, vMin: number, steps: number): Schedule => (t) =>
  vMin + 0.5 * (v0 - vMin) * (1 + Math.cos(Math.PI * Math.min(Math.max(t / steps, 0), 1)));

export function resolve(v: number | Schedule, t: number): number {
  return typeof v === 'number' ? v : v(t);
}
