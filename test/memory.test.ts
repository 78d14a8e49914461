import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { engine } from '../src/index.ts';
import { Adam } from '../src/optim/index.ts';

describe('GPU memory is stable over a long training loop', () => {
  it('10 000 steps of forward + backward + Adam update: pool bytes after step 10 equal those after step 10 000', async () => {
    const e = engine();
    // Debug mode submits every launch alone inside error scopes; measure the engine as it really runs.
    // Validation errors still surface: sync() reports uncaptured ones.
    const debug = e.debug;
    e.debug = false;
    const rng = new F.Rng(3);
    // A 2-layer MLP fitting y = sin(x0) + x1² on 16 fixed samples.
    const X = F.tensor(rng.fill(16 * 2, () => rng.uniform(-1, 1)), [16, 2]);
    const xs = Array.from(await X.data());
    const Y = F.tensor(Array.from({ length: 16 }, (_, i) => Math.sin(xs[2 * i]) + xs[2 * i + 1] ** 2), [16, 1]);
    const W1 = F.randn([2, 8], 1, 0.5);
    const b1 = F.zeros([1, 8]);
    const W2 = F.randn([8, 1], 2, 0.5);
    const params = [W1, b1, W2];
    for (const p of params) p.requiresGrad = true;
    const opt = new Adam(params, { lr: 0.01 });
    const stats: Record<number, ReturnType<typeof e.stats>> = {};
    let firstLoss = 0;
    let lastLoss = 0;
    const steps = 10_000;
    const t0 = performance.now();
    try {
      for (let step = 1; step <= steps; step++) {
        const loss = F.tidy(() => {
          const h = F.relu(F.add(F.matmul(X, W1), b1));
          const l = F.mean(F.square(F.sub(F.matmul(h, W2), Y)));
          F.backward(l);
          opt.step();
          opt.zeroGrad();
          return l;
        });
        // One submit per step: the uniform arena restarts, so the step's launches reuse their bind groups.
        e.flush();
        if (step === 1) firstLoss = await loss.item();
        if (step === steps) lastLoss = await loss.item();
        loss.dispose();
        // Waiting now and then keeps the queue of submitted steps short.
        if (step % 500 === 0) await e.sync();
        if (step === 10 || step === 100 || step === steps) stats[step] = e.stats();
      }
    } finally {
      e.debug = debug;
    }
    const seconds = (performance.now() - t0) / 1000;
    const [at10, at100, atEnd] = [stats[10], stats[100], stats[steps]];
    console.log(
      `memory loop: ${steps} steps in ${seconds.toFixed(1)} s, loss ${firstLoss.toFixed(4)} -> ${lastLoss.toFixed(6)}, ` +
        `${atEnd.bytesInUse} B in use, ${atEnd.bytesAllocated} B allocated, ${atEnd.bindGroups} bind groups`,
    );
    expect(atEnd.bytesInUse).toBe(at10.bytesInUse);
    expect(atEnd.bytesAllocated).toBe(at10.bytesAllocated);
    expect(atEnd.buffersAllocated).toBe(at10.buffersAllocated);
    // Once the pool's recycling order has settled, a step creates no pipeline and no bind group.
    expect(atEnd.pipelines).toBe(at10.pipelines);
    expect(atEnd.bindGroups).toBe(at100.bindGroups);
    expect(lastLoss).toBeLessThan(firstLoss * 0.01);
    opt.dispose();
    [X, Y, ...params].forEach((t) => t.dispose());
  });
});
