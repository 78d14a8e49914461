import { describe, it, expect } from 'vitest';
import { Pacer } from '../src/tensor/pacer.ts';

/** A pacer on a fake clock: `run(units, ms)` records a block of `units` that completes `ms` after its first unit. */
function fake() {
  let t = 0;
  const slept: number[] = [];
  const pacer = new Pacer(
    () => t,
    async (ms) => {
      slept.push(ms);
      t += ms;
    },
  );
  const run = async (units: number, ms: number, recordMs = 1) => {
    const start = t;
    pacer.unit();
    t += recordMs;
    await pacer.beforeWait(units);
    t = Math.max(t, start + ms);
    pacer.done(units);
  };
  return { pacer, slept, run };
}

describe('Pacer: sleeping through most of a block of GPU work before waiting on it', () => {
  it('learns from the second block on, sleeps until 85 % of the expected time, rises by a tenth a block at most, falls by a quarter when overslept', async () => {
    const { slept, run } = fake();
    await run(10, 5000); // compiles: not learnt from
    await run(10, 400);
    expect(slept).toEqual([]);
    await run(10, 400);
    expect(slept).toEqual([0.85 * 400 - 1]);
    // A slower block (a checkpoint written meanwhile) raises the estimate by a tenth at most.
    await run(10, 2000);
    await run(10, 2000);
    expect(slept[2]).toBeCloseTo(0.85 * 440 - 1, 6);
    // Faster blocks after it: a block done on waking takes a quarter off the estimate (0.85 · 484 − 1, then
    // 0.85 · 363 − 1 …) until the sleeps fit the work again; a block of 5 units then expects half the time.
    for (let i = 0; i < 6; i++) await run(10, 200);
    expect(slept.slice(3, 6).map((ms) => +ms.toFixed(6))).toEqual([0.85 * 484 - 1, 0.85 * 363 - 1, 0.85 * 272.25 - 1].map((ms) => +ms.toFixed(6)));
    expect(slept.at(-1)).toBeCloseTo(0.85 * 200 - 1, 6);
    await run(5, 100);
    expect(slept.at(-1)).toBeCloseTo(0.85 * 100 - 1, 6);
  });

  it('does not sleep under 2 ms, nor for a block whose recording outlasted the expected time', async () => {
    const { slept, run } = fake();
    await run(4, 10);
    await run(4, 2);
    await run(4, 2);
    expect(slept).toEqual([]);
    const slow = fake();
    await slow.run(4, 100);
    await slow.run(4, 100);
    await slow.run(4, 100, 90);
    expect(slow.slept).toEqual([]);
  });
});
