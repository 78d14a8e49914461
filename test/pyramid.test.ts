import { describe, it, expect } from 'vitest';
import * as F from '../src/index.ts';
import { lapSplit, lapMerge, lapNormalize, lapBalanceGrad, luminanceWeights, coarseToFineWeights, lapRegularizer, mirrorRegularizer, pyrDown, pyrUp, chroma, contrastDeficit, contrastStretch, skinTone, totalVariation } from '../src/autograd/regularizers.ts';
import { Rand, size, gradCheck, relErr } from './helpers/ref.ts';

const K = [1, 4, 6, 4, 1].map((v) => v / 16);

function refDown(x: Float64Array, planes: number, H: number, W: number) {
  const h = Math.ceil(H / 2);
  const w = Math.ceil(W / 2);
  const out = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let acc = 0;
        for (let i = 0; i < 5; i++)
          for (let j = 0; j < 5; j++) {
            const sy = 2 * y + i - 2;
            const sx = 2 * xx + j - 2;
            if (sy >= 0 && sy < H && sx >= 0 && sx < W) acc += K[i] * K[j] * x[(p * H + sy) * W + sx];
          }
        out[(p * h + y) * w + xx] = acc;
      }
  return out;
}

/** Transposed (scatter) form of the upsampling: every low-res pixel spreads 4·k⊗k over the fine grid. */
function refUp(lo: Float64Array, planes: number, h: number, w: number, H: number, W: number) {
  const out = new Float64Array(planes * H * W);
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let i = 0; i < 5; i++)
          for (let j = 0; j < 5; j++) {
            const ty = 2 * y + i - 2;
            const tx = 2 * xx + j - 2;
            if (ty >= 0 && ty < H && tx >= 0 && tx < W) out[(p * H + ty) * W + tx] += 4 * K[i] * K[j] * lo[(p * h + y) * w + xx];
          }
  return out;
}

function refSplit(x: Float64Array, planes: number, H: number, W: number, levels: number) {
  const out: Float64Array[] = [];
  let cur = x;
  let [h, w] = [H, W];
  for (let l = 0; l < levels; l++) {
    const lo = refDown(cur, planes, h, w);
    const up = refUp(lo, planes, Math.ceil(h / 2), Math.ceil(w / 2), h, w);
    out.push(cur.map((v, i) => v - up[i]));
    cur = lo;
    [h, w] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  }
  out.push(cur);
  return out;
}

describe('Laplacian pyramid (deepdream’s 5-tap binomial kernel)', () => {
  const shape = [2, 3, 37, 29];
  const x = new Rand(1).uniform(size(shape));

  it('down / up against float64 (up checked in its scatter form, so it is truly the transpose ×4)', async () => {
    const xf = Float64Array.from(Float32Array.from(x));
    const d = F.tidy(() => pyrDown(F.tensor(Float32Array.from(x), shape)));
    expect(d.shape).toEqual([2, 3, 19, 15]);
    const dd = await d.data();
    expect(relErr(dd, refDown(xf, 6, 37, 29))).toBeLessThan(1e-6);
    const u = F.tidy(() => pyrUp(d, 37, 29));
    expect(relErr(await u.data(), refUp(Float64Array.from(dd), 6, 19, 15, 37, 29))).toBeLessThan(1e-6);
    d.dispose();
    u.dispose();
  });

  it('merge(split(x)) = x to 1e-5 on odd sizes', async () => {
    const y = F.tidy(() => lapMerge(lapSplit(F.tensor(Float32Array.from(x), shape), 4)));
    expect(relErr(await y.data(), x)).toBeLessThan(1e-5);
    y.dispose();
  });

  it('split levels against float64, and gradients of down/up/split through a weighted sum', async () => {
    const levels = F.tidy(() => lapSplit(F.tensor(Float32Array.from(x), shape), 3));
    const ref = refSplit(Float64Array.from(Float32Array.from(x)), 6, 37, 29, 3);
    expect(levels.map((l) => l.shape.slice(2))).toEqual([[37, 29], [19, 15], [10, 8], [5, 4]]);
    for (let i = 0; i < 4; i++) expect(relErr(await levels[i].data(), ref[i])).toBeLessThan(1e-5);
    levels.forEach((l) => l.dispose());
    const small = [1, 2, 9, 7];
    const xs = new Rand(2).uniform(size(small));
    await gradCheck({ inputs: [{ data: xs, shape: small }], gpuFn: pyrDown, refFn: (a) => refDown(a, 2, 9, 7) });
    const ls = [1, 2, 5, 4];
    await gradCheck({ inputs: [{ data: new Rand(3).uniform(40), shape: ls }], gpuFn: (t) => pyrUp(t, 9, 7), refFn: (a) => refUp(a, 2, 5, 4, 9, 7) });
    await gradCheck({
      inputs: [{ data: xs, shape: small }],
      gpuFn: (t) => F.concat(lapSplit(t, 2).map((l) => F.reshape(l, [-1])), 0),
      refFn: (a) => {
        const parts = refSplit(a, 2, 9, 7, 2);
        const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          out.set(p, at);
          at += p.length;
        }
        return out;
      },
    });
  });

  /** Float64 lapNormalize of `planes` planes normalised together. */
  const refNormalize = (a: Float64Array, planes: number, weights = [1, 1, 1, 1, 1]) => {
    const parts = refSplit(a, planes, 37, 29, 4).map((L, i) => {
      const rms = Math.max(Math.sqrt(L.reduce((s, v) => s + v * v, 0) / L.length), 1e-10);
      return L.map((v) => (weights[i] * v) / rms);
    });
    const dims: [number, number][] = [[37, 29], [19, 15], [10, 8], [5, 4], [3, 2]];
    let cur = parts[4];
    for (let i = 3; i >= 0; i--) {
      const up = refUp(cur, planes, dims[i + 1][0], dims[i + 1][1], dims[i][0], dims[i][1]);
      cur = parts[i].map((v, k) => v + up[k]);
    }
    return cur;
  };

  it('lapNormalize: each level divided by its RMS, then merged (against float64)', async () => {
    const g = F.tidy(() => lapNormalize(F.tensor(Float32Array.from(x), shape), 4));
    expect(relErr(await g.data(), refNormalize(Float64Array.from(Float32Array.from(x)), 6))).toBeLessThan(1e-5);
    g.dispose();
  });

  it('lapNormalize with level weights: each normalised level scaled before the merge (a coarse-to-fine step)', async () => {
    const w = coarseToFineWeights(4, 0.6);
    // Over 60 % of the span: the two coarsest bands on, the next 40 % in, the finest still off; the rest on.
    expect(w.map((v) => +v.toFixed(6))).toEqual([0, 0.4, 1, 1, 1]);
    expect(coarseToFineWeights(4, 0)).toEqual([0, 0, 0, 0, 1]);
    expect(coarseToFineWeights(4, 2)).toEqual([1, 1, 1, 1, 1]);
    const g = F.tidy(() => lapNormalize(F.tensor(Float32Array.from(x), shape), 4, { weights: w }));
    expect(relErr(await g.data(), refNormalize(Float64Array.from(Float32Array.from(x)), 6, w))).toBeLessThan(1e-5);
    g.dispose();
  });

  it('lapNormalize in 17 passes for 4 levels (split, sums of squares, scaled merge); an image too small to split is one level', async () => {
    const before = F.engine().launches;
    const g = F.tidy(() => lapNormalize(F.tensor(Float32Array.from(x), shape), 4, { perItem: true }));
    // The upload is no launch: 4 DOWN, 4 bands, 5 sums of squares, 4 merges.
    expect(F.engine().launches - before).toBe(17);
    g.dispose();
    const one = [2, 3, 1, 1];
    const v = Float32Array.from([1, -2, 2, 0.5, 0, 0]);
    const n = F.tidy(() => lapNormalize(F.tensor(v, one), 4, { perItem: true, weights: [3] }));
    const rms = [Math.sqrt(9 / 3), Math.sqrt(0.25 / 3)];
    expect(relErr(await n.data(), Float64Array.from(v, (a, i) => (3 * a) / rms[Math.floor(i / 3)]))).toBeLessThan(1e-6);
    n.dispose();
  });

  it('lapNormalize per item: each batch item by its own levels\' RMS, whatever its neighbour holds', async () => {
    // Item 1 a thousand times larger than item 0: normalised together, item 0 would vanish.
    const xv = Float64Array.from(Float32Array.from(x), (v, i) => (i < x.length / 2 ? v : 1000 * v));
    const g = F.tidy(() => lapNormalize(F.tensor(Float32Array.from(xv), shape), 4, { perItem: true }));
    const half = xv.length / 2;
    const want = new Float64Array(xv.length);
    want.set(refNormalize(xv.slice(0, half), 3), 0);
    want.set(refNormalize(xv.slice(half), 3), half);
    expect(relErr(await g.data(), want)).toBeLessThan(1e-5);
    g.dispose();
  });

  it("lapBalanceGrad: x going forward; going back, each item's gradient pyramid-normalised and scaled to its own norm (against float64)", async () => {
    const half = x.length / 2;
    // The gradient arriving at the layer: item 1 a thousand times stronger, which it must stay.
    const up = Float64Array.from(new Rand(9).uniform(x.length), (v, i) => (i < half ? v : 1000 * v));
    const t = F.tensor(Float32Array.from(x), shape);
    t.requiresGrad = true;
    const y = F.tidy(() => {
      const out = lapBalanceGrad(t, 4);
      F.backward(F.sum(F.mul(out, F.tensor(Float32Array.from(up), shape))));
      return F.keep(out);
    });
    expect(relErr(await y.data(), x)).toBeLessThan(1e-7);
    const want = new Float64Array(x.length);
    const norm = (a: Float64Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
    for (const at of [0, half]) {
      const g = Float64Array.from(Float32Array.from(up.slice(at, at + half)));
      const n = refNormalize(g, 3);
      want.set(n.map((v) => (v * norm(g)) / norm(n)), at);
    }
    expect(relErr(await t.grad!.data(), want)).toBeLessThan(1e-5);
    // Not the plain gradient: the layer changes how the pull is spread over scales.
    expect(relErr(await t.grad!.data(), up)).toBeGreaterThan(0.1);
    [y, t.grad!].forEach((v) => v.dispose());
    t.grad = null;
    // With luminance weights: only the luminance is balanced, the colour (g minus its luminance) passes as it came.
    const lum = F.keep(luminanceWeights());
    F.tidy(() => F.backward(F.sum(F.mul(lapBalanceGrad(t, 4, lum), F.tensor(Float32Array.from(up), shape)))));
    const plane = half / 3;
    const lw = [0.299, 0.587, 0.114];
    for (const at of [0, half]) {
      const g = Float64Array.from(Float32Array.from(up.slice(at, at + half)));
      const L = Float64Array.from({ length: plane }, (_, i) => lw.reduce((s, w, c) => s + w * g[c * plane + i], 0));
      const n = refNormalize(L, 1);
      for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) want[at + c * plane + i] = g[c * plane + i] - L[i] + (n[i] * norm(L)) / norm(n);
    }
    expect(relErr(await t.grad!.data(), want)).toBeLessThan(1e-5);
    [t.grad!, t, lum].forEach((v) => v.dispose());
  });

  it('R_LP (eq. 12) and R_Mirror: values and gradients', async () => {
    const small = [1, 3, 11, 9];
    const xs = new Rand(5).uniform(size(small));
    const NL = 0.5;
    const beta = 1;
    const refLP = (a: Float64Array) => {
      const bands = refSplit(a, 3, 11, 9, 3).slice(0, -1);
      return Float64Array.of(bands.reduce((s, L, n) => s + (Math.sqrt(L.reduce((t, v) => t + v * v, 0)) - NL * 2 ** (beta * n)) ** 2, 0));
    };
    const v = F.tidy(() => lapRegularizer(F.tensor(Float32Array.from(xs), small), { levels: 3, NL, beta }));
    expect(Math.abs((await v.item()) - refLP(Float64Array.from(Float32Array.from(xs)))[0])).toBeLessThan(1e-4);
    v.dispose();
    await gradCheck({ inputs: [{ data: xs, shape: small }], gpuFn: (t) => lapRegularizer(t, { levels: 3, NL, beta }), refFn: refLP });
    const refMirror = (a: Float64Array) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) {
        const x0 = i % 9;
        s += (a[i] - a[i - x0 + (8 - x0)]) ** 2;
      }
      return Float64Array.of(Math.sqrt(s + 1e-12));
    };
    const m = F.tidy(() => mirrorRegularizer(F.tensor(Float32Array.from(xs), small)));
    expect(Math.abs((await m.item()) - refMirror(Float64Array.from(Float32Array.from(xs)))[0])).toBeLessThan(1e-5);
    m.dispose();
    await gradCheck({ inputs: [{ data: xs, shape: small }], gpuFn: (t) => mirrorRegularizer(t), refFn: refMirror });
  });

  it('R_LP and R_Mirror per batch item: [N] values, each its item\'s own, with gradients', async () => {
    const batch = [2, 3, 11, 9];
    const xb = new Rand(8).uniform(size(batch));
    const n = xb.length / 2;
    const NL = 0.5;
    const beta = 1;
    const lpOne = (a: Float64Array) =>
      refSplit(a, 3, 11, 9, 3).slice(0, -1).reduce((s, L, k) => s + (Math.sqrt(L.reduce((t, v) => t + v * v, 0)) - NL * 2 ** (beta * k)) ** 2, 0);
    const mirrorOne = (a: Float64Array) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += (a[i] - a[i - (i % 9) + (8 - (i % 9))]) ** 2;
      return Math.sqrt(s + 1e-12);
    };
    const perItem = (f: (a: Float64Array) => number) => (a: Float64Array) => Float64Array.of(f(a.slice(0, n)), f(a.slice(n)));
    const x32 = Float64Array.from(Float32Array.from(xb));
    const lp = F.tidy(() => lapRegularizer(F.tensor(Float32Array.from(xb), batch), { levels: 3, NL, beta, perItem: true }));
    const mr = F.tidy(() => mirrorRegularizer(F.tensor(Float32Array.from(xb), batch), { perItem: true }));
    expect(lp.shape).toEqual([2]);
    expect(relErr(await lp.data(), perItem(lpOne)(x32))).toBeLessThan(1e-5);
    expect(relErr(await mr.data(), perItem(mirrorOne)(x32))).toBeLessThan(1e-5);
    [lp, mr].forEach((t) => t.dispose());
    await gradCheck({ inputs: [{ data: xb, shape: batch }], gpuFn: (t) => lapRegularizer(t, { levels: 3, NL, beta, perItem: true }), refFn: perItem(lpOne) });
    await gradCheck({ inputs: [{ data: xb, shape: batch }], gpuFn: (t) => mirrorRegularizer(t, { perItem: true }), refFn: perItem(mirrorOne) });
  });
});

describe('photo-likeness regularisers: chroma total variation and the contrast floor (per item)', () => {
  const shape = [2, 3, 7, 6];
  const [N, , H, W] = shape;
  const HW = H * W;
  const Y = [0.299, 0.587, 0.114];
  const lum = (a: Float64Array, n: number, i: number) => Y.reduce((s, w, c) => s + w * a[(n * 3 + c) * HW + i], 0);
  const refChromaTv = (a: Float64Array) =>
    Float64Array.from({ length: N }, (_, n) => {
      const ch = (c: number, i: number) => a[(n * 3 + c) * HW + i] - lum(a, n, i);
      let s = 0;
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            const i = y * W + x;
            if (x + 1 < W) s += (ch(c, i + 1) - ch(c, i)) ** 2;
            if (y + 1 < H) s += (ch(c, i + W) - ch(c, i)) ** 2;
          }
      return s;
    });
  /** The deficit in float64; `mask` (weights summing to one) makes σ that of the weighted pixels. */
  const refDeficit = (floor: number, mask?: number[]) => (a: Float64Array) =>
    Float64Array.from({ length: N }, (_, n) => {
      const l = Array.from({ length: HW }, (_, i) => lum(a, n, i));
      const w = mask ?? l.map(() => 1 / HW);
      const m = l.reduce((s, v, i) => s + v * w[i], 0);
      const sd = Math.sqrt(l.reduce((s, v, i) => s + (v - m) ** 2 * w[i], 0) + 1e-8);
      return Math.max(0, floor - sd) ** 2;
    });
  const weights = () => F.tensor(Y, [1, 3, 1, 1]);

  it('chroma TV: the TV of each channel minus the luminance, one value per item, with its gradient; a grey image has none', async () => {
    const xs = new Rand(21).uniform(size(shape));
    const w = F.keep(weights());
    const v = F.tidy(() => totalVariation(chroma(F.tensor(Float32Array.from(xs), shape), w), { perItem: true }));
    expect(v.shape).toEqual([N]);
    expect(relErr(await v.data(), refChromaTv(Float64Array.from(Float32Array.from(xs))))).toBeLessThan(1e-5);
    v.dispose();
    await gradCheck({ inputs: [{ data: xs, shape }], gpuFn: (t) => totalVariation(chroma(t, w), { perItem: true }), refFn: refChromaTv });
    // Grey pixels (R = G = B) carry no colour, whatever their pattern.
    const grey = Float32Array.from({ length: size(shape) }, (_, i) => ((i % HW) * 0.37) % 1);
    const g = F.tidy(() => totalVariation(chroma(F.tensor(grey, shape), w), { perItem: true }));
    expect(Math.max(...(await g.data()))).toBeLessThan(1e-9);
    g.dispose();
    w.dispose();
  });

  it('contrast floor: max(0, floor − σ(luminance))² per item, zero above the floor, with its gradient', async () => {
    // Item 0 low contrast (below the floor), item 1 high contrast (above it).
    const r = new Rand(22);
    const xs = Float64Array.from({ length: size(shape) }, (_, i) => (i < size(shape) / 2 ? 0.5 + 0.05 * (r.uniform(1)[0] - 0.5) : r.uniform(1)[0]));
    const w = F.keep(weights());
    const floor = 0.2;
    const v = F.tidy(() => contrastDeficit(F.tensor(Float32Array.from(xs), shape), w, floor));
    const got = await v.data();
    const want = refDeficit(floor)(Float64Array.from(Float32Array.from(xs)));
    expect(want[0]).toBeGreaterThan(0.01);
    expect(got[1]).toBe(0);
    expect(relErr(got, want)).toBeLessThan(1e-4);
    v.dispose();
    await gradCheck({ inputs: [{ data: xs, shape }], gpuFn: (t) => contrastDeficit(t, w, floor), refFn: refDeficit(floor), tol: 1e-3 });
    w.dispose();
  });
  it('contrast stretch: the luminance stretched about its mean up to σ = floor, at most 4×, chroma kept; with its gradient', async () => {
    // Item 0 low contrast (stretched), item 1 high contrast (unchanged).
    const r = new Rand(25);
    const xs = Float64Array.from({ length: size(shape) }, (_, i) => (i < size(shape) / 2 ? 0.5 + 0.2 * (r.uniform(1)[0] - 0.5) : r.uniform(1)[0]));
    const w = F.keep(weights());
    const floor = 0.2;
    const ref = (a: Float64Array) => {
      const out = Float64Array.from(a);
      for (let n = 0; n < N; n++) {
        const l = Array.from({ length: HW }, (_, i) => lum(a, n, i));
        const m = l.reduce((s, v) => s + v, 0) / HW;
        const sd = Math.sqrt(l.reduce((s, v) => s + (v - m) ** 2, 0) / HW + 1e-8);
        const extra = Math.min(Math.max(floor / sd - 1, 0), 3);
        for (let c = 0; c < 3; c++) for (let i = 0; i < HW; i++) out[(n * 3 + c) * HW + i] += (l[i] - m) * extra;
      }
      return out;
    };
    const x32 = Float64Array.from(Float32Array.from(xs));
    const got = F.tidy(() => contrastStretch(F.tensor(Float32Array.from(xs), shape), w, floor));
    const g = await got.data();
    got.dispose();
    expect(relErr(g, ref(x32))).toBeLessThan(1e-5);
    // Item 0 now has σ = floor; item 1 is as it was; every pixel's colour about its luminance is kept.
    const g64 = Float64Array.from(g);
    const l0 = Array.from({ length: HW }, (_, i) => lum(g64, 0, i));
    const m0 = l0.reduce((s, v) => s + v, 0) / HW;
    expect(Math.sqrt(l0.reduce((s, v) => s + (v - m0) ** 2, 0) / HW)).toBeCloseTo(floor, 4);
    expect(relErr(g64.slice(size(shape) / 2), x32.slice(size(shape) / 2))).toBeLessThan(1e-6);
    expect(g64[HW + 5] - g64[5]).toBeCloseTo(x32[HW + 5] - x32[5], 5);
    await gradCheck({ inputs: [{ data: xs, shape }], gpuFn: (t) => contrastStretch(t, w, floor), refFn: ref, tol: 1e-3 });
    // A flat image is stretched by at most 4×.
    const flat = Float32Array.from({ length: size(shape) }, (_, i) => 0.5 + 1e-3 * ((i * 7) % 5));
    const f = F.tidy(() => contrastStretch(F.tensor(flat, shape), w, floor));
    expect(relErr(await f.data(), ref(Float64Array.from(flat)))).toBeLessThan(1e-4);
    f.dispose();
    w.dispose();
  });
  it('face contrast floor: the deficit of the σ of a masked region (weights summing to one), with its gradient', async () => {
    // Item 0 flat inside the region and contrasty outside it: the masked σ is far below the floor.
    const r = new Rand(24);
    const inside = (i: number) => i % W >= 2 && i % W < 5 && Math.floor(i / W) >= 2 && Math.floor(i / W) < 6;
    const count = Array.from({ length: HW }, (_, i) => i).filter(inside).length;
    const maskData = Array.from({ length: HW }, (_, i) => (inside(i) ? 0.8 / count : 0.2 / (HW - count)));
    const xs = Float64Array.from({ length: size(shape) }, (_, i) => (i < size(shape) / 2 && inside(i % HW) ? 0.5 + 0.02 * r.uniform(1)[0] : r.uniform(1, 0, 1)[0]));
    const w = F.keep(weights());
    const mask = F.keep(F.tensor(maskData, [1, 1, H, W]));
    const floor = 0.2;
    const v = F.tidy(() => contrastDeficit(F.tensor(Float32Array.from(xs), shape), w, floor, mask));
    const want = refDeficit(floor, maskData)(Float64Array.from(Float32Array.from(xs)));
    expect(want[0]).toBeGreaterThan(4 * refDeficit(floor)(Float64Array.from(Float32Array.from(xs)))[0]);
    expect(relErr(await v.data(), want)).toBeLessThan(1e-4);
    v.dispose();
    await gradCheck({ inputs: [{ data: xs, shape }], gpuFn: (t) => contrastDeficit(t, w, floor, mask), refFn: refDeficit(floor, maskData), tol: 1e-3 });
    [w, mask].forEach((t) => t.dispose());
  });
  it('skin tone: ‖masked mean of each channel minus the luminance − target‖² per item, with its gradient', async () => {
    const xs = new Rand(23).uniform(size(shape));
    // An irregular region (weights need not sum to one) and a target off the data's mean.
    const maskData = Float64Array.from({ length: HW }, (_, i) => (i % 3 === 0 ? 1 / HW : 0.5 / HW));
    const target = [0.12, -0.04, -0.13];
    const w = F.keep(weights());
    const mask = F.keep(F.tensor(maskData, [1, 1, H, W]));
    const t = F.keep(F.tensor(target, [1, 3]));
    const ref = (a: Float64Array) =>
      Float64Array.from({ length: N }, (_, n) =>
        target.reduce((s, tc, c) => {
          let m = 0;
          for (let i = 0; i < HW; i++) m += (a[(n * 3 + c) * HW + i] - lum(a, n, i)) * maskData[i];
          return s + (m - tc) ** 2;
        }, 0));
    const v = F.tidy(() => skinTone(F.tensor(Float32Array.from(xs), shape), w, mask, t));
    expect(v.shape).toEqual([N]);
    const want = ref(Float64Array.from(Float32Array.from(xs)));
    expect(Math.min(...want)).toBeGreaterThan(1e-3);
    expect(relErr(await v.data(), want)).toBeLessThan(1e-4);
    v.dispose();
    await gradCheck({ inputs: [{ data: xs, shape }], gpuFn: (x) => skinTone(x, w, mask, t), refFn: ref, tol: 1e-3 });
    for (const k of [w, mask, t]) k.dispose();
  });
});
