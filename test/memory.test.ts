import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { engine } from '../src/index.ts';
import { Adam } from '../src/optim/index.ts';

describe('GPU memory is stable over a long training loop', () => {
  it('10 000 steps of forward + backward + Adam update: pool bytes after step 10 equal those after step 10 000', async () => {
    const e = engine();
    // The test's own timing would be dominated by per-dispatch error scopes; measure the real engine.
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
    let at10: ReturnType<typeof e.stats> | null = null;
    let firstLoss = 0;
    let lastLoss = 0;
    const steps = 10_000;
    const t0 = performance.now();
    for (let step = 1; step <= steps; step++) {
      const loss = F.tidy(() => {
        const h = F.relu(F.add(F.matmul(X, W1), b1));
        const l = F.mean(F.square(F.sub(F.matmul(h, W2), Y)));
        F.backward(l);
        opt.step();
        opt.zeroGrad();
        return l;
      });
      if (step === 1) firstLoss = await loss.item();
      if (step === steps) lastLoss = await loss.item();
      loss.dispose();
      if (step % 500 === 0) await e.sync();
      if (step === 10) at10 = e.stats();
    }
    const seconds = (performance.now() - t0) / 1000;
    const atEnd = e.stats();
    e.debug = debug;
    expect(atEnd.bytesInUse).toBe(at10!.bytesInUse);
    expect(atEnd.bytesAllocated).toBe(at10!.bytesAllocated);
    expect(atEnd.buffersAllocated).toBe(at10!.buffersAllocated);
    expect(lastLoss).toBeLessThan(firstLoss * 0.2);
    console.log(`memory loop: ${steps} steps in ${seconds.toFixed(1)} s, loss ${firstLoss.toFixed(4)} -> ${lastLoss.toFixed(5)}, ${atEnd.bytesInUse} B in use`);
    opt.dispose();
    [X, Y, ...params].forEach((t) => t.dispose());
  });
});
