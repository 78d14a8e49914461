import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { totalVariation } from '../src/autograd/regularizers.ts';
import { Rand, size, gradCheck } from './helpers/ref.ts';

/** Float64 TV by definition; differences only where both pixels exist. */
function refTv(p: Float64Array, shape: number[], form: 'global' | 'pixel', a: number, eps = 1e-8): number {
  const [H, W] = shape.slice(-2);
  const planes = p.length / (H * W);
  let S = 0;
  let R = 0;
  for (let k = 0; k < planes; k++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = k * H * W + y * W + x;
        const dx = x + 1 < W ? p[i + 1] - p[i] : 0;
        const dy = y + 1 < H ? p[i + W] - p[i] : 0;
        const q = dx * dx + dy * dy;
        S += q;
        if (x + 1 < W || y + 1 < H) R += (q + eps) ** (a / 2);
      }
  return form === 'global' ? S ** (a / 2) : R;
}

describe('total variation (paper eq. 2 and the per-pixel form): value and gradient from one pass', () => {
  const shapes = [[2, 3, 13, 11], [1, 3, 37, 29]];
  for (const shape of shapes) {
    for (const [form, a] of [['global', 1], ['global', 2], ['global', 3], ['pixel', 1], ['pixel', 2]] as ['global' | 'pixel', number][]) {
      it(`${form} ${form === 'global' ? 'α' : 'β'} = ${a} on ${JSON.stringify(shape)}`, async () => {
        const x = new Rand(size(shape) + a).uniform(size(shape), 0, 1);
        const opts = form === 'global' ? { form, alpha: a } : { form, beta: a };
        const v = F.tidy(() => totalVariation(F.tensor(Float32Array.from(x), shape), opts));
        const want = refTv(Float64Array.from(Float32Array.from(x)), shape, form, a);
        expect(Math.abs((await v.item()) - want) / want).toBeLessThan(1e-5);
        v.dispose();
        await gradCheck({
          inputs: [{ data: x, shape }],
          gpuFn: (t) => totalVariation(t, opts),
          refFn: (p) => Float64Array.of(refTv(p, shape, form, a)),
          samples: 150,
          h: 1e-5,
        });
      });
    }
  }

  for (const [form, a] of [['global', 1], ['global', 3], ['pixel', 1]] as ['global' | 'pixel', number][]) {
    it(`per batch item (${form}, ${a}): [N] values, each its own image's, with gradients`, async () => {
      const shape = [3, 2, 9, 7];
      const n = size(shape) / 3;
      const x = new Rand(40 + a).uniform(size(shape), 0, 1);
      const opts = form === 'global' ? { form, alpha: a, perItem: true } : { form, beta: a, perItem: true };
      const ref = (p: Float64Array) => Float64Array.from([0, 1, 2], (k) => refTv(p.slice(k * n, (k + 1) * n), shape.slice(1), form, a));
      const v = F.tidy(() => totalVariation(F.tensor(Float32Array.from(x), shape), opts));
      expect(v.shape).toEqual([3]);
      const got = await v.data();
      const want = ref(Float64Array.from(Float32Array.from(x)));
      for (let k = 0; k < 3; k++) expect(Math.abs(got[k] - want[k]) / want[k]).toBeLessThan(1e-5);
      v.dispose();
      await gradCheck({ inputs: [{ data: x, shape }], gpuFn: (t) => totalVariation(t, opts), refFn: ref, samples: 100, h: 1e-5 });
    });
  }

  it('α = 2: the gradient is −4·Δp (discrete Laplacian) in the interior (paper eq. 3)', async () => {
    const shape = [1, 1, 9, 10];
    const x = new Rand(3).uniform(90);
    const t = F.tensor(Float32Array.from(x), shape);
    t.requiresGrad = true;
    F.tidy(() => F.backward(totalVariation(t, { form: 'global', alpha: 2 })));
    const g = await t.grad!.data();
    for (let y = 1; y < 8; y++)
      for (let xx = 1; xx < 8; xx++) {
        const i = y * 10 + xx;
        const lap = x[i - 1] + x[i + 1] + x[i - 10] + x[i + 10] - 4 * x[i];
        expect(g[i]).toBeCloseTo(-2 * lap, 4);
      }
    t.dispose();
  });
});
