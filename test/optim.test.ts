import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { SGD, Adam, constant, linear, exponential, step, cosine } from '../src/optim/index.ts';
import { Rand, relErr } from './helpers/ref.ts';

const sizes = [1, 37, 1001];

/** Runs 20 steps on the GPU and in float64 with the same per-step gradients; returns the worst relative error. */
async function compare(
  make: (ps: F.Tensor[]) => { step(): void; dispose(): void },
  cpuStep: (theta: Float64Array, g: Float64Array, state: Float64Array[], t: number) => void,
  slots: number,
): Promise<number> {
  const r = new Rand(9);
  const init = sizes.map((n) => r.uniform(n));
  const ps = init.map((d, i) => {
    const t = F.tensor(Float32Array.from(d), [sizes[i]]);
    t.requiresGrad = true;
    return t;
  });
  const cpu = init.map((d) => Float64Array.from(Float32Array.from(d)));
  const state = sizes.map((n) => Array.from({ length: slots }, () => new Float64Array(n)));
  const opt = make(ps);
  for (let t = 1; t <= 20; t++) {
    ps.forEach((p, i) => {
      const g = Float32Array.from(r.uniform(sizes[i]));
      p.grad?.dispose();
      p.grad = F.keep(F.tensor(g, [sizes[i]]));
      cpuStep(cpu[i], Float64Array.from(g), state[i], t);
    });
    opt.step();
  }
  let worst = 0;
  for (let i = 0; i < ps.length; i++) worst = Math.max(worst, relErr(await ps[i].data(), cpu[i]));
  opt.dispose();
  ps.forEach((p) => p.dispose());
  return worst;
}

describe('optimizers: 20 steps against float64 references', () => {
  for (const [name, mom, nest, wd] of [
    ['SGD', 0, false, 0],
    ['SGD momentum 0.9', 0.9, false, 0],
    ['SGD Nesterov 0.9 with weight decay', 0.9, true, 0.01],
  ] as [string, number, boolean, number][]) {
    it(name, async () => {
      const lr = 0.05;
      const err = await compare(
        (ps) => new SGD(ps, { lr, momentum: mom, nesterov: nest, weightDecay: wd }),
        (th, g, [b]) => {
          for (let k = 0; k < th.length; k++) {
            const gk = g[k] + wd * th[k];
            b[k] = mom * b[k] + gk;
            th[k] -= lr * (nest ? gk + mom * b[k] : b[k]);
          }
        },
        1,
      );
      expect(err).toBeLessThan(1e-5);
    });
  }

  for (const [name, wd, decoupled, bias] of [
    ['Adam', 0, false, true],
    ['Adam without bias correction, L2 decay', 0.01, false, false],
    ['AdamW (decoupled decay)', 0.05, true, true],
  ] as [string, number, boolean, boolean][]) {
    it(name, async () => {
      const lr = linear(0.01, 0.001, 20);
      const [b1, b2, eps] = [0.9, 0.999, 1e-8];
      const err = await compare(
        (ps) => new Adam(ps, { lr, weightDecay: wd, decoupledWeightDecay: decoupled, biasCorrection: bias }),
        (th, g, [m, v], t) => {
          const a = lr(t - 1);
          const c1 = bias ? 1 - b1 ** t : 1;
          const c2 = bias ? 1 - b2 ** t : 1;
          for (let k = 0; k < th.length; k++) {
            let gk = g[k];
            if (decoupled) th[k] -= a * wd * th[k];
            else gk += wd * th[k];
            m[k] = b1 * m[k] + (1 - b1) * gk;
            v[k] = b2 * v[k] + (1 - b2) * gk * gk;
            th[k] -= (a * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + eps);
          }
        },
        2,
      );
      expect(err).toBeLessThan(1e-5);
    });
  }

  it('Adam minimises a quadratic', async () => {
    const target = F.tensor([3, -2, 0.5], [3]);
    const x = F.zeros([3]);
    x.requiresGrad = true;
    const opt = new Adam([x], { lr: 0.1 });
    for (let i = 0; i < 300; i++) {
      F.tidy(() => F.backward(F.sum(F.square(F.sub(x, target)))));
      opt.step();
      opt.zeroGrad();
    }
    const v = await x.data();
    expect(relErr(v, [3, -2, 0.5])).toBeLessThan(1e-2);
    opt.dispose();
    [x, target].forEach((t) => t.dispose());
  });

  it('bad parameters are refused with a clear message', () => {
    const a = F.zeros([2]);
    expect(() => new SGD([a], { lr: 1 })).toThrow(/SGD: parameter 0 \[2\] does not have requiresGrad set/);
    a.requiresGrad = true;
    const b = F.mul(a, 2);
    expect(() => new Adam([b], { lr: 1 })).toThrow(/Adam: parameter 0 \[2\] is not a leaf \(it was produced by 'mul_s'\)/);
    const opt = new SGD([a], { lr: 1 });
    a.grad = F.keep(F.zeros([3]));
    expect(() => opt.step()).toThrow(/SGD: gradient \[3\] does not match parameter 0 \[2\]/);
    opt.dispose();
    [a, b].forEach((t) => t.dispose());
  });
});

describe('schedules', () => {
  it('match their closed forms', () => {
    expect(constant(2)(100)).toBe(2);
    expect(linear(1, 0, 10)(5)).toBeCloseTo(0.5);
    expect(linear(1, 0, 10)(20)).toBe(0);
    expect(exponential(2, 0.5)(3)).toBeCloseTo(0.25);
    expect(step(1, 0.1, 10)(25)).toBeCloseTo(0.01);
    expect(cosine(1, 0, 10)(5)).toBeCloseTo(0.5);
    expect(cosine(1, 0.1, 10)(10)).toBeCloseTo(0.1);
  });
});
