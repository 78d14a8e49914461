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
  it('learns from the second block on, sleeps until 85 % of the expected time, rises by a tenth a block at most', async () => {
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
    // Faster blocks after it: each sleep is at most 85 % of the last block's time, so the sleeps shrink until
    // they fit the work again; a block of 5 units then expects half the time.
    for (let i = 0; i < 10; i++) await run(10, 200);
    const after = slept.slice(3);
    after.slice(1).forEach((ms, i) => expect(ms).toBeLessThanOrEqual(after[i]));
    expect(after.at(-1)).toBeCloseTo(0.85 * 200 - 1, 6);
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
