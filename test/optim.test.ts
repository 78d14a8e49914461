import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { engine } from '../src/index.ts';
import { SGD, Adam, constant, linear, exponential, step, cosine, type Schedule } from '../src/optim/index.ts';
import { Rand, relErr } from './helpers/ref.ts';

// Awkward sizes, several parameters at once; the last one never gets a gradient.
const shapes = [[1], [37], [7, 11, 13], [5]];
const FROZEN = 3;
/** Steps on which parameter 1 has no gradient: skipped, and (for Adam) its own step count does not advance. */
const SKIPPED = new Set([5, 6, 13]);

type CpuStep = (theta: Float64Array, g: Float64Array, state: Float64Array[], lr: number, t: number) => void;

/**
 * Runs 20 steps on the GPU and in float64 with the same per-step random gradients; returns the worst
 * relative error (‖Δ‖∞ / ‖θ‖∞) over the parameters. `lrAt(t)` is the learning rate of step t (1-based);
 * `onStep` may change the optimizer before step t.
 */
async function compare(
  make: (ps: F.Tensor[]) => SGD | Adam,
  cpuStep: CpuStep,
  slots: number,
  lrAt: (t: number) => number,
  onStep: (opt: SGD | Adam, t: number) => void = () => {},
): Promise<number> {
  const r = new Rand(9);
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const init = sizes.map((n) => Float32Array.from(r.uniform(n)));
  const ps = init.map((d, i) => {
    const t = F.tensor(d, shapes[i]);
    t.requiresGrad = true;
    return t;
  });
  const cpu = init.map((d) => Float64Array.from(d));
  const state = sizes.map((n) => Array.from({ length: slots }, () => new Float64Array(n)));
  const counts = sizes.map(() => 0);
  const opt = make(ps);
  for (let t = 1; t <= 20; t++) {
    onStep(opt, t);
    ps.forEach((p, i) => {
      p.grad?.dispose();
      p.grad = null;
      if (i === FROZEN || (i === 1 && SKIPPED.has(t))) return;
      const g = Float32Array.from(r.uniform(sizes[i], -2, 2));
      p.grad = F.keep(F.tensor(g, shapes[i]));
      cpuStep(cpu[i], Float64Array.from(g), state[i], lrAt(t), ++counts[i]);
    });
    opt.step();
  }
  let worst = 0;
  for (let i = 0; i < ps.length; i++) {
    const got = await ps[i].data();
    if (i === FROZEN) expect(Array.from(got), 'a parameter without gradient is left alone').toEqual(Array.from(init[i]));
    else worst = Math.max(worst, relErr(got, cpu[i]));
  }
  expect(opt.t).toBe(20);
  opt.dispose();
  ps.forEach((p) => p.dispose());
  return worst;
}

function sgdRef(momentum: number, nesterov: boolean, wd: number): CpuStep {
  return (th, g, [b], lr) => {
    for (let k = 0; k < th.length; k++) {
      const gk = g[k] + wd * th[k];
      if (momentum === 0) {
        th[k] -= lr * gk;
        continue;
      }
      b[k] = momentum * b[k] + gk;
      th[k] -= lr * (nesterov ? gk + momentum * b[k] : b[k]);
    }
  };
}

/** Textbook Adam (Kingma & Ba) with L2 or decoupled (Loshchilov & Hutter) weight decay. */
function adamRef(b1: number, b2: number, eps: number, wd: number, decoupled: boolean, bias: boolean): CpuStep {
  return (th, g, [m, v], lr, t) => {
    const c1 = bias ? 1 - b1 ** t : 1;
    const c2 = bias ? 1 - b2 ** t : 1;
    for (let k = 0; k < th.length; k++) {
      if (decoupled) th[k] -= lr * wd * th[k];
      const gk = decoupled ? g[k] : g[k] + wd * th[k];
      m[k] = b1 * m[k] + (1 - b1) * gk;
      v[k] = b2 * v[k] + (1 - b2) * gk * gk;
      th[k] -= (lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + eps);
    }
  };
}

describe('optimizers: 20 steps against float64 references (sizes 1, 37, 1001; skipped and frozen parameters)', () => {
  const sgdCases: [string, number, boolean, number][] = [
    ['SGD', 0, false, 0],
    ['SGD with weight decay', 0, false, 0.05],
    ['SGD momentum 0.9', 0.9, false, 0],
    ['SGD momentum 0.5 with weight decay', 0.5, false, 0.01],
    ['SGD Nesterov 0.9', 0.9, true, 0],
    ['SGD Nesterov 0.9 with weight decay', 0.9, true, 0.01],
  ];
  for (const [name, mom, nest, wd] of sgdCases) {
    it(`${name} (step schedule)`, async () => {
      const lr = step(0.05, 0.5, 7);
      const err = await compare((ps) => new SGD(ps, { lr, momentum: mom, nesterov: nest, weightDecay: wd }), sgdRef(mom, nest, wd), 1, (t) => lr(t - 1));
      expect(err).toBeLessThan(1e-5);
    });
  }

  it('SGD momentum with lr set between steps', async () => {
    const lrAt = (t: number) => (t <= 10 ? 0.05 : 0.01);
    const err = await compare(
      (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9 }),
      sgdRef(0.9, false, 0),
      1,
      lrAt,
      (opt, t) => {
        if (t === 11) opt.lr = 0.01;
      },
    );
    expect(err).toBeLessThan(1e-5);
  });

  const adamCases: [string, Partial<{ b1: number; b2: number; eps: number; wd: number; decoupled: boolean; bias: boolean }>, Schedule][] = [
    ['Adam', {}, constant(0.01)],
    ['Adam, β1 0.5, β2 0.9, ε 1e-3', { b1: 0.5, b2: 0.9, eps: 1e-3 }, constant(0.02)],
    ['Adam without bias correction, L2 decay', { wd: 0.01, bias: false }, linear(0.01, 0.001, 20)],
    ['Adam with L2 decay', { wd: 0.1 }, cosine(0.02, 0.002, 20)],
    ['AdamW (decoupled decay)', { wd: 0.05, decoupled: true }, linear(0.01, 0.001, 20)],
    ['AdamW without bias correction', { wd: 0.5, decoupled: true, bias: false }, exponential(0.01, 0.95)],
  ];
  for (const [name, o, lr] of adamCases) {
    it(name, async () => {
      const { b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0, decoupled = false, bias = true } = o;
      const err = await compare(
        (ps) => new Adam(ps, { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, decoupledWeightDecay: decoupled, biasCorrection: bias }),
        adamRef(b1, b2, eps, wd, decoupled, bias),
        2,
        (t) => lr(t - 1),
      );
      expect(err).toBeLessThan(1e-5);
    });
  }
});

describe('optimizers converge on a quadratic', () => {
  // f(x) = Σ a_k (x_k − c_k)², curvatures spread by 20×.
  const a = [0.5, 1, 4, 10];
  const c = [3, -2, 0.5, 1];

  async function minimise(make: (x: F.Tensor) => SGD | Adam, steps: number): Promise<Float32Array> {
    const A = F.tensor(a, [4]);
    const C = F.tensor(c, [4]);
    const x = F.zeros([4]);
    x.requiresGrad = true;
    const opt = make(x);
    for (let i = 0; i < steps; i++) {
      F.tidy(() => F.backward(F.sum(F.mul(A, F.square(F.sub(x, C))))));
      opt.step();
      opt.zeroGrad();
    }
    const v = await x.data();
    opt.dispose();
    [A, C, x].forEach((t) => t.dispose());
    return v;
  }

  it('Adam', async () => {
    expect(relErr(await minimise((x) => new Adam([x], { lr: cosine(0.1, 0.001, 400) }), 400), c)).toBeLessThan(1e-3);
  });

  it('SGD with Nesterov momentum', async () => {
    expect(relErr(await minimise((x) => new SGD([x], { lr: 0.02, momentum: 0.9, nesterov: true }), 300), c)).toBeLessThan(1e-4);
  });

  it('plain SGD', async () => {
    expect(relErr(await minimise((x) => new SGD([x], { lr: 0.04 }), 400), c)).toBeLessThan(1e-3);
  });
});

describe('optimizer steps: one fused dispatch per parameter, no submit, no allocation, cached bind groups', () => {
  it('state is allocated at construction and released by dispose; steps allocate nothing', async () => {
    const e = engine();
    const debug = e.debug;
    e.debug = false;
    const ps = [F.randn([3, 5], 1), F.randn([257], 2), F.randn([2], 3)];
    ps.forEach((p) => (p.requiresGrad = true));
    for (const p of ps.slice(0, 2)) p.grad = F.keep(F.randn(p.shape, 4));
    try {
      const before = e.stats().bytesInUse;
      const opt = new Adam(ps, { lr: linear(0.1, 0.01, 50) });
      const stateBytes = e.stats().bytesInUse - before;
      expect(stateBytes).toBeGreaterThan(0);
      // One submit per step, as a training loop does: each step then finds the same uniform slots.
      const step = () => {
        opt.step();
        e.flush();
      };
      step();
      const s1 = e.stats();
      const [launches, submits] = [e.launches, e.submits];
      opt.step();
      expect(e.submits, 'step() records without submitting').toBe(submits);
      e.flush();
      for (let i = 1; i < 50; i++) step();
      expect(e.launches - launches, 'one dispatch per parameter with a gradient').toBe(2 * 50);
      expect(e.stats(), 'no buffer, pipeline or bind group created after the first step').toEqual(s1);
      await e.sync();
      opt.dispose();
      expect(e.stats().bytesInUse).toBe(before);
      opt.dispose();
    } finally {
      e.debug = debug;
      ps.forEach((p) => p.dispose());
    }
  });

  it('SGD without momentum keeps no state', () => {
    const p = F.zeros([1000]);
    p.requiresGrad = true;
    const before = engine().stats().bytesInUse;
    const opt = new SGD([p], { lr: 0.1 });
    expect(engine().stats().bytesInUse).toBe(before);
    opt.dispose();
    p.dispose();
  });

  it('zeroGrad disposes the gradients', () => {
    const p = F.zeros([3]);
    p.requiresGrad = true;
    const g = F.keep(F.ones([3]));
    p.grad = g;
    const opt = new SGD([p], { lr: 0.1 });
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    expect(g.isDisposed).toBe(true);
    opt.dispose();
    p.dispose();
  });
});

describe('optimizer errors name the optimizer, the parameter and the shapes', () => {
  it('bad parameters', () => {
    const a = F.zeros([2]);
    expect(() => new SGD([], { lr: 1 })).toThrow(/SGD: expected a non-empty array of parameter tensors/);
    expect(() => new SGD([a], { lr: 1 })).toThrow(/SGD: parameter 0 \[2\] does not have requiresGrad set/);
    a.requiresGrad = true;
    const b = F.mul(a, 2);
    expect(() => new Adam([a, b], { lr: 1 })).toThrow(/Adam: parameter 1 \[2\] is not a leaf \(it was produced by 'mul_s'\)/);
    const v = a.view([1, 2]);
    v.requiresGrad = true;
    expect(() => new Adam([a, v], { lr: 1 })).toThrow(/Adam: parameters 0 \[2\] and 1 \[1,2\] share storage/);
    const d = F.zeros([2]);
    d.requiresGrad = true;
    d.dispose();
    expect(() => new SGD([d], { lr: 1 })).toThrow(/SGD: tensor #\d+ of shape \[2\] was used after dispose\(\)/);
    [a, b, v].forEach((t) => t.dispose());
  });

  it('bad hyperparameters', () => {
    const a = F.zeros([2]);
    a.requiresGrad = true;
    expect(() => new SGD([a], { lr: -1 })).toThrow(/SGD: lr must be a finite number ≥ 0, got -1/);
    expect(() => new SGD([a], { lr: 1, nesterov: true })).toThrow(/SGD: Nesterov needs a positive momentum/);
    expect(() => new SGD([a], { lr: 1, momentum: -0.1 })).toThrow(/SGD: momentum must be a finite number ≥ 0, got -0.1/);
    expect(() => new Adam([a], { lr: 1, beta1: 1 })).toThrow(/Adam: beta1 must be a finite number in \[0, 1\), got 1/);
    expect(() => new Adam([a], { lr: 1, beta2: -0.5 })).toThrow(/Adam: beta2 must be a finite number in \[0, 1\), got -0.5/);
    expect(() => new Adam([a], { lr: 1, eps: NaN })).toThrow(/Adam: eps must be a finite number ≥ 0, got NaN/);
    expect(() => new Adam([a], { lr: 1, weightDecay: Infinity })).toThrow(/Adam: weightDecay must be/);
    const opt = new Adam([a], { lr: (t) => 1 - t });
    expect(() => (opt.lr = NaN)).toThrow(/Adam: lr must be a finite number ≥ 0, got NaN/);
    a.grad = F.keep(F.zeros([2]));
    opt.step();
    opt.step();
    expect(() => opt.step()).toThrow(/Adam: the learning-rate schedule gave -1 at step 2/);
    opt.dispose();
    a.dispose();
  });

  it('bad gradients refuse the whole step, leaving every parameter unchanged', async () => {
    const a = F.tensor([1, 2], [2]);
    const b = F.tensor([3, 4, 5], [3]);
    [a, b].forEach((p) => (p.requiresGrad = true));
    const opt = new SGD([a, b], { lr: 1, momentum: 0.5 });
    a.grad = F.keep(F.ones([2]));
    b.grad = F.keep(F.ones([1, 3]));
    expect(() => opt.step()).toThrow(/SGD: gradient \[1,3\] does not match parameter 1 \[3\]/);
    expect(Array.from(await a.data())).toEqual([1, 2]);
    expect(opt.t).toBe(0);
    b.grad.dispose();
    const alias = b.view([3]);
    b.grad = alias;
    expect(() => opt.step()).toThrow(/SGD: the gradient of parameter 1 \[3\] shares its storage/);
    b.grad = null;
    alias.dispose();
    opt.step();
    expect(Array.from(await a.data())).toEqual([0, 1]);
    opt.dispose();
    expect(() => opt.step()).toThrow(/SGD\.step: the optimizer was disposed/);
    a.dispose();
    const opt2 = new SGD([b], { lr: 1 });
    b.dispose();
    expect(() => opt2.step()).toThrow(/SGD\.step \(parameter 0\): tensor #\d+ of shape \[3\] was used after dispose\(\)/);
    opt2.dispose();
  });
});

describe('range: parameters kept within bounds after each step (projected descent)', () => {
  const makers: [string, (p: F.Tensor[]) => SGD | Adam][] = [
    ['SGD', (p) => new SGD(p, { lr: 10, range: [0, 255] })],
    ['Adam', (p) => new Adam(p, { lr: 50, range: [0, 255] })],
  ];
  for (const [name, make] of makers) {
    it(`${name}: values leave the range only as NaN`, async () => {
      const p = F.tensor([1, 128, 254, 0], [4]);
      p.requiresGrad = true;
      const opt = make([p]);
      // Pushes the first and third values out of [0, 255], the second a little, the fourth to NaN.
      p.grad = F.keep(F.tensor([5, -0.1, -5, NaN], [4]));
      opt.step();
      const v = await p.data();
      expect(v[0]).toBe(0);
      expect(v[1]).toBeGreaterThan(128);
      expect(v[1]).toBeLessThan(255);
      expect(v[2]).toBe(255);
      expect(Number.isNaN(v[3])).toBe(true);
      opt.dispose();
      p.dispose();
    });
  }

  it('bad ranges are refused', () => {
    const a = F.zeros([2]);
    a.requiresGrad = true;
    expect(() => new SGD([a], { lr: 1, range: [1, 0] })).toThrow(/SGD: range must be two finite numbers lo ≤ hi, got \[1, 0\]/);
    expect(() => new Adam([a], { lr: 1, range: [0, Infinity] })).toThrow(/Adam: range must be/);
    a.dispose();
  });
});

describe('schedules match their closed forms', () => {
  const ts = [0, 1, 2, 3, 7, 9, 10, 11, 19, 20, 21, 100];
  const near = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));

  it('constant', () => {
    for (const t of ts) expect(constant(2)(t)).toBe(2);
  });

  it('linear: from → to over `steps`, then constant', () => {
    const s = linear(1e-3, 1e-5, 20);
    for (const t of ts) near(s(t), t >= 20 ? 1e-5 : 1e-3 + (1e-5 - 1e-3) * (t / 20));
    near(linear(0, 1, 4)(1), 0.25);
  });

  it('exponential: v0·rate^t', () => {
    for (const t of ts) near(exponential(2, 0.9)(t), 2 * Math.exp(t * Math.log(0.9)));
  });

  it('step: v0·γ^⌊t / every⌋', () => {
    const s = step(1, 0.1, 10);
    for (const t of ts) near(s(t), t < 10 ? 1 : t < 20 ? 0.1 : t < 30 ? 0.01 : 1e-10);
  });

  it('cosine: half a cosine from v0 to vMin, then constant', () => {
    const s = cosine(1, 0.1, 20);
    for (const t of ts) near(s(t), t >= 20 ? 0.1 : 0.1 + 0.45 * (1 + Math.cos((Math.PI * t) / 20)));
    near(s(10), 0.55);
  });

  it('refuse degenerate lengths', () => {
    expect(() => linear(1, 0, 0)).toThrow(/linear: steps must be a finite number > 0, got 0/);
    expect(() => cosine(1, 0, NaN)).toThrow(/cosine: steps must be a finite number > 0, got NaN/);
    expect(() => step(1, 0.5, -3)).toThrow(/step: every must be a finite number > 0, got -3/);
  });
});
