import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { engine } from '../src/index.ts';
import { packParams, grid } from '../src/kernels/params.ts';
import { shaderPipeline } from '../src/kernels/preprocess.ts';
import { FLAGS as ELEMENTWISE_FLAGS } from '../src/kernels/elementwise.ts';

const vals = async (t: F.Tensor | null) => Array.from(await t!.data());

describe('the tape: backward, accumulation, noGrad, grad / valueAndGrad', () => {
  it('a shared input receives the sum of its paths (x·x + 3x)', async () => {
    const x = F.tensor([1, -2, 0.5], [3]);
    x.requiresGrad = true;
    F.tidy(() => F.backward(F.sum(F.add(F.mul(x, x), F.mul(x, 3)))));
    expect(await vals(x.grad)).toEqual([5, -1, 4]);
    x.dispose();
  });

  it('a rule that hands one tensor to two inputs, one of which already has a gradient (addRelu), in either order', async () => {
    for (const first of [true, false]) {
      const x = F.tensor([0.5, -1, 2, 0.3], [4]);
      x.requiresGrad = true;
      F.tidy(() => {
        const [a, b] = [F.mul(x, 1.5), F.mul(x, 2)];
        // b's later consumer's rule runs first: b has a gradient when addRelu's rule hands it the masked one.
        F.backward(F.add(F.sum(first ? F.addRelu(a, b) : F.addRelu(b, a)), F.sum(F.mul(b, 3))));
      });
      // d/dx of relu(3.5x) + 6x.
      expect(Array.from(await x.grad!.data())).toEqual([9.5, 6, 9.5, 9.5]);
      x.dispose();
    }
  });

  it('a constant operand costs no gradient kernel (PReLU\'s slope, a tensor exponent)', async () => {
    // The ops backward launches, by name, when only x requires a gradient: the constant's rule (a full-size
    // multiply, a log) must not run.
    const backwardOps = async (make: (x: F.Tensor, c: F.Tensor) => F.Tensor) => {
      const x = F.tensor([0.5, 2, 3, 1.5], [4]);
      const c = F.tensor([1.5, 0.5, 2, 1], [4]);
      x.requiresGrad = true;
      const e = engine();
      e.startProfile();
      F.tidy(() => F.backward(F.sum(make(x, c))));
      const both = Object.fromEntries((await e.stopProfile()).map((r) => [r.op, r.calls]));
      [x, c].forEach((t) => t.dispose());
      // Less the forward's ops (profiled alone): what remains is backward's.
      const x2 = F.tensor([0.5, 2, 3, 1.5], [4]);
      const c2 = F.tensor([1.5, 0.5, 2, 1], [4]);
      e.startProfile();
      F.tidy(() => F.sum(make(x2, c2)));
      const forward = Object.fromEntries((await e.stopProfile()).map((r) => [r.op, r.calls]));
      [x2, c2].forEach((t) => t.dispose());
      return Object.fromEntries(Object.keys(both).flatMap((op) => (both[op] > (forward[op] ?? 0) ? [[op, both[op] - (forward[op] ?? 0)]] : [])));
    };
    expect((await backwardOps((x, c) => F.mul(x, c))).mul).toBe(1);
    expect((await backwardOps((x, c) => F.mul(c, x))).mul).toBe(1);
    expect((await backwardOps((x, c) => F.pow(x, c))).log).toBeUndefined();
    expect((await backwardOps((x, c) => F.div(x, c))).div).toBe(1);
    // PReLU's input gradient: its partial times g in one pass.
    const pr = await backwardOps((x, c) => F.prelu(x, c));
    expect([pr.times_prelu_dx, pr.prelu_dx, pr.mul, pr.prelu_ds, pr.times_prelu_ds]).toEqual([1, undefined, undefined, undefined, undefined]);
    // PReLU as the importer once built it: relu(x) − slope · relu(−x).
    expect((await backwardOps((x, c) => F.sub(F.relu(x), F.mul(c, F.relu(F.neg(x)))))).mul).toBe(1);
  });

  it('gradients accumulate across backward calls until cleared', async () => {
    const x = F.tensor([2], [1]);
    x.requiresGrad = true;
    F.tidy(() => F.backward(F.sum(F.square(x))));
    F.tidy(() => F.backward(F.sum(F.square(x))));
    expect(await vals(x.grad)).toEqual([8]);
    x.dispose();
  });

  it('backward with a seed gradient on a non-scalar output', async () => {
    const x = F.tensor([1, 2, 3], [3]);
    x.requiresGrad = true;
    F.tidy(() => F.backward(F.mul(x, 2), F.tensor([1, 10, 100], [3])));
    expect(await vals(x.grad)).toEqual([2, 20, 200]);
    expect(() => F.tidy(() => F.backward(F.mul(x, 2)))).toThrow(/backward: output \[3\] is not a scalar/);
    expect(() => F.tidy(() => F.backward(F.mul(x, 2), F.zeros([2])))).toThrow(/seed gradient \[2\] does not match the output \[3\]/);
    x.dispose();
  });

  it('noGrad records nothing, so backward reports a non-differentiable path', () => {
    const x = F.tensor([1, 2], [2]);
    x.requiresGrad = true;
    F.tidy(() => {
      const y = F.noGrad(() => F.sum(F.mul(x, x)));
      expect(y.requiresGrad).toBe(false);
      expect(() => F.backward(y)).toThrow(/does not require grad.*non-differentiable path/);
    });
    x.dispose();
  });

  it('a freed graph refuses a second backward unless retained', async () => {
    const x = F.tensor([3], [1]);
    x.requiresGrad = true;
    F.tidy(() => {
      const y = F.sum(F.exp(F.mul(x, 0.5)));
      F.backward(y, undefined, { retainGraph: true });
      F.backward(y);
      expect(() => F.backward(y)).toThrow(/freed by an earlier backward/);
    });
    expect((await vals(x.grad))[0]).toBeCloseTo(Math.exp(1.5), 5);
    x.dispose();
  });

  it('grad and valueAndGrad of a function of several tensors', async () => {
    const f = (a: F.Tensor, b: F.Tensor) => F.sum(F.mul(F.matmul(a, b), F.matmul(a, b)));
    const a = F.tensor([1, 2, 3, 4], [2, 2]);
    const b = F.tensor([0.5, -1, 2, 0], [2, 2]);
    const [v, [ga, gb]] = F.valueAndGrad(f)(a, b);
    // C = A·B = [[4.5, -1], [9.5, -3]]; L = ΣC²; dL/dA = 2C·Bᵀ; dL/dB = 2Aᵀ·C.
    expect(await v.item()).toBeCloseTo(4.5 ** 2 + 1 + 9.5 ** 2 + 9, 4);
    expect(await vals(ga)).toEqual([2 * (4.5 * 0.5 + -1 * -1), 2 * (4.5 * 2), 2 * (9.5 * 0.5 + -3 * -1), 2 * (9.5 * 2)]);
    expect(await vals(gb)).toEqual([2 * (1 * 4.5 + 3 * 9.5), 2 * (1 * -1 + 3 * -3), 2 * (2 * 4.5 + 4 * 9.5), 2 * (2 * -1 + 4 * -3)]);
    const [g2] = F.grad((t: F.Tensor) => F.sum(F.mul(t, 0)))(a);
    expect(await vals(g2)).toEqual([0, 0, 0, 0]);
    // The arguments are left as they were.
    expect(a.requiresGrad).toBe(false);
    expect(a.grad).toBeNull();
    [v, ga, gb, g2, a, b].forEach((t) => t.dispose());
  });
});

describe('one command encoder per step', () => {
  it('forward + backward + Adam update records GPU work without submitting it', async () => {
    const e = engine();
    const debug = e.debug;
    e.debug = false; // debug mode submits every dispatch on purpose
    const x = F.randn([4, 8], 1);
    const w = F.randn([8, 3], 2);
    x.requiresGrad = true;
    w.requiresGrad = true;
    const opt = new F.Adam([x, w], { lr: 0.01 });
    const step = () =>
      F.tidy(() => {
        F.backward(F.sum(F.square(F.relu(F.matmul(x, w)))));
        opt.step();
        opt.zeroGrad();
      });
    step();
    await e.sync();
    const before = e.submits;
    step();
    expect(e.submits - before).toBe(0);
    await e.sync();
    e.debug = debug;
    opt.dispose();
    [x, w].forEach((t) => t.dispose());
  });
});

describe('scopes and release', () => {
  it('tidy keeps a returned tensor at any depth of arrays and objects (and survives a cycle)', async () => {
    const deep = F.tidy(() => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      return { a: [{ b: { c: [{ d: { e: { t: F.tensor([7], [1]) } } }] } }], cyclic };
    });
    const t = deep.a[0].b.c[0].d.e.t;
    expect(t.isDisposed).toBe(false);
    expect(await vals(t)).toEqual([7]);
    t.dispose();
  });

  it('tidy disposes intermediates, keeps what it returns, and restores the pool', async () => {
    const before = engine().stats().bytesInUse;
    const x = F.tensor([1, 2, 3], [3]);
    let inner: F.Tensor | null = null;
    const y = F.tidy(() => {
      inner = F.exp(x);
      return F.add(inner, 1);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(y.isDisposed).toBe(false);
    y.dispose();
    x.dispose();
    expect(engine().stats().bytesInUse).toBe(before);
  });

  it('use after dispose names the op and the shape', () => {
    const x = F.tensor([1, 2, 3, 4], [2, 2]);
    x.dispose();
    expect(() => F.relu(x)).toThrow(/relu: tensor #\d+ of shape \[2,2\] was used after dispose\(\)/);
    expect(() => F.matmul(x, x)).toThrow(/matmul: .*\[2,2\] was used after dispose/);
  });

  it('backward through a disposed intermediate is refused clearly', () => {
    const x = F.tensor([1, 2], [2]);
    x.requiresGrad = true;
    const y = F.mul(x, x);
    const z = F.sum(y);
    y.dispose();
    expect(() => F.backward(z)).toThrow(/was used after dispose/);
    z.dispose();
    x.dispose();
  });

  it('an async function inside tidy is refused', () => {
    expect(() => F.tidy((async () => 1) as unknown as () => number)).toThrow(/must be synchronous/);
  });
});

describe('bad input', () => {
  it('shape errors name the op and the shapes', () => {
    F.tidy(() => {
      expect(() => F.matmul(F.zeros([2, 3]), F.zeros([4, 5]))).toThrow(/matmul: inner dimensions differ: \[2,3\] · \[4,5\]/);
      expect(() => F.transpose(F.zeros([2, 3]), [0, 0])).toThrow(/transpose: \[0,0\] is not a permutation of the axes of \[2,3\]/);
      expect(() => F.tensor([1, 2, 3], [2, 2])).toThrow(/tensor: 3 values do not fill shape \[2,2\]/);
      expect(() => F.pad(F.zeros([2, 3]), [[1, 1]])).toThrow(/pad: 1 pad pairs for a tensor of rank 2/);
      expect(() => F.clamp(F.zeros([2]), 1, 0)).toThrow(/clamp: min 1 > max 0/);
      expect(() => F.add(F.zeros([2]), 'x' as unknown as F.Tensor)).toThrow(/add: expected a Tensor/);
      expect(() => F.tensor([1, 2], [2], 'int32')).toThrow(/dtype 'int32' is not supported/);
      expect(() => F.tensor([1, '2' as unknown as number], [2])).toThrow(/value at index 1 is a string/);
    });
  });

  it('a WebGPU validation error is caught by the error scopes and names the op', async () => {
    const e = engine();
    const t = F.tensor([1, 2, 3], [3]);
    // Binding one buffer as both the read-only input and the writable output is invalid WebGPU.
    const pipe = shaderPipeline('elementwise', { ...ELEMENTWISE_FLAGS, UNARY: true, OP: 'u_neg' });
    e.dispatch({ pipeline: pipe, buffers: [t.buffer, t.buffer], uniforms: packParams('elementwise', { n: 3, rank: 0, alpha: 0, beta: 0, shape: [], astr: [], bstr: [] }), workgroups: grid(3, 256), label: 'aliased-neg([3])' });
    await expect(t.data()).rejects.toThrow(/WebGPU error in aliased-neg\(\[3\]\)/);
    t.dispose();
  });

  it("a kernel's uniform block is packed by field name in its WGSL struct's order: scalars, padding, vec4 blocks", () => {
    const words = packParams('copy', { n: 7, rank: 3, offset: 2, shape: [4, 5, 6], stride: [30, 6, 1] });
    // n, rank, offset, _pad, then shape and stride as array<vec4<u32>, 2> each (8 words, zero-filled).
    expect(Array.from(words)).toEqual([7, 3, 2, 0, 4, 5, 6, 0, 0, 0, 0, 0, 30, 6, 1, 0, 0, 0, 0, 0]);
    const f = new Float32Array(packParams('reduce', { outer: 1, r: 2, inner: 3, scale: 0.5 }).buffer);
    expect(f[3]).toBe(0.5);
    // i32 fields keep their sign; the struct's last field is where the WGSL puts it.
    const c = packParams('conv_subgroup', {
      M: 1, R: 2, quads: 3, colH: 4, colW: 5, colQuads: 6, srcC: 7, srcCG: 8, srcH: 9, srcW: 10,
      colStrideY: 1, colStrideX: 1, tapStrideY: -2, tapStrideX: 1, offY: -1, offX: 0,
      phaseRows: 1, phasesX: 1, dstC: 1, dstH: 1, dstW: 1, dstSy: 1, dstSx: 1, hasBias: 0, relu: 1,
    });
    expect(new Int32Array(c.buffer)[12]).toBe(-2);
    expect(c[24]).toBe(1);
    expect(c.length % 4).toBe(0);
  });

  it('too many workgroups are refused before reaching the GPU', () => {
    const e = engine();
    const pipe = shaderPipeline('elementwise', { ...ELEMENTWISE_FLAGS, UNARY: true, OP: 'u_neg' });
    const t = F.zeros([1]);
    expect(() => e.dispatch({ pipeline: pipe, buffers: [t.buffer, t.buffer], uniforms: packParams('elementwise', { n: 1, rank: 0, alpha: 0, beta: 0, shape: [], astr: [], bstr: [] }), workgroups: [70000, 1, 1], label: 'huge' })).toThrow(
      /huge: 70000×1×1 workgroups exceed the device limit/,
    );
    t.dispose();
  });

  it('large element-wise ops fold the grid into two dimensions', async () => {
    const n = 65535 * 256 + 1000;
    const y = F.tidy(() => F.add(F.full([n], 1), 2));
    const v = await y.data();
    expect(v[0]).toBe(3);
    expect(v[n - 1]).toBe(3);
    expect(v.every((x) => x === 3)).toBe(true);
    y.dispose();
  });
});

describe('profiling', () => {
  it('times every dispatch between startProfile and stopProfile, summed per op', async () => {
    const e = engine();
    const a = F.tensor([1, 2, 3, 4], [2, 2]);
    e.startProfile();
    const y = F.tidy(() => F.relu(F.matmul(F.add(a, 1), a)));
    const rows = await e.stopProfile();
    expect(rows.map((r) => r.op).sort()).toEqual(['add_s', 'matmul', 'relu']);
    for (const r of rows) {
      expect(r.calls).toBe(1);
      expect(r.ms).toBeGreaterThanOrEqual(0);
    }
    expect(await y.data()).toEqual(new Float32Array([11, 16, 19, 28]));
    await expect(e.stopProfile()).rejects.toThrow(/no profile was started/);
    [a, y].forEach((t) => t.dispose());
  });
});
