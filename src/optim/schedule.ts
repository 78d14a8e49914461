// Schedules: plain functions of the step number t (0-based: the first optimizer step uses s(0)), for
// learning rates and loss weights such as the paper's decreasing w_TV (§3).
export type Schedule = (t: number) => number;

function positive(schedule: string, name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${schedule}: ${name} must be a finite number > 0, got ${v}`);
}

const progress = (t: number, steps: number) => Math.min(Math.max(t / steps, 0), 1);

/** A schedule that is `v` at every step. */
export const constant = (v: number): Schedule => () => v;

/** From `from` at t = 0 to `to` at t = steps, constant after. */
export function linear(from: number, to: number, steps: number): Schedule {
  positive('linear', 'steps', steps);
  return (t) => from + (to - from) * progress(t, steps);
}

/** v0 · rate^t. */
export const exponential = (v0: number, rate: number): Schedule => (t) => v0 * rate ** t;

/** v0 · gamma^floor(t / every): multiplied by gamma every `every` steps. */
export function step(v0: number, gamma: number, every: number): Schedule {
  positive('step', 'every', every);
  return (t) => v0 * gamma ** Math.floor(t / every);
}

/** Half a cosine from v0 at t = 0 to vMin at t = steps, constant after. */
export function cosine(v0: number, vMin: number, steps: number): Schedule {
  positive('cosine', 'steps', steps);
  return (t) => vMin + 0.5 * (v0 - vMin) * (1 + Math.cos(Math.PI * progress(t, steps)));
}

/** The value of a number-or-schedule at step t. */
export function resolve(v: number | Schedule, t: number): number {
  return typeof v === 'number' ? v : v(t);
}
