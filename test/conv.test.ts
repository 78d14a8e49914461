import { describe, it, expect, afterAll, type TestContext } from 'vitest';
import * as F from '../src/index.ts';
import { conv2d, convTranspose2d, type ConvOptions, type ConvTransposeOptions } from '../src/autograd/conv.ts';
import { Rand, size, gradCheck, relErr } from './helpers/ref.ts';
import { setConvVariant, mergedTaps, conv2dGradFilterKernel, gradFilterLayout, type ConvGeometry } from '../src/kernels/conv.ts';
import { subgroupKernelsSupported } from '../src/kernels/subgroups.ts';
import { gradFacts } from '../src/autograd/tape.ts';

interface Geo { N: number; C: number; H: number; W: number; K: number; KH: number; KW: number; s: [number, number]; d: [number, number]; p: [number, number, number, number]; g: number }

/** Float64 conv2d by its definition. */
function refConv(x: Float64Array, w: Float64Array, b: Float64Array | null, q: Geo) {
  const { N, C, H, W, K, KH, KW, s, d, p, g } = q;
  const OH = Math.floor((H + p[0] + p[2] - (d[0] * (KH - 1) + 1)) / s[0]) + 1;
  const OW = Math.floor((W + p[1] + p[3] - (d[1] * (KW - 1) + 1)) / s[1]) + 1;
  const Cg = C / g;
  const Kg = K / g;
  const out = new Float64Array(N * K * OH * OW);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const gi = Math.floor(k / Kg);
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let acc = b ? b[k] : 0;
          for (let c = 0; c < Cg; c++)
            for (let ky = 0; ky < KH; ky++)
              for (let kx = 0; kx < KW; kx++) {
                const iy = oy * s[0] - p[0] + ky * d[0];
                const ix = ox * s[1] - p[1] + kx * d[1];
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc += w[((k * Cg + c) * KH + ky) * KW + kx] * x[((n * C + gi * Cg + c) * H + iy) * W + ix];
              }
          out[((n * K + k) * OH + oy) * OW + ox] = acc;
        }
    }
  return { out, shape: [N, K, OH, OW] };
}

/** Float64 transposed convolution by its own definition (scatter form), w [Cin, Cout/g, KH, KW]. */
function refConvT(x: Float64Array, w: Float64Array, b: Float64Array | null, q: Geo & { op: [number, number] }) {
  const { N, C: Cin, H, W, K: Cout, KH, KW, s, d, p, g, op } = q;
  const OH = (H - 1) * s[0] - p[0] - p[2] + d[0] * (KH - 1) + op[0] + 1;
  const OW = (W - 1) * s[1] - p[1] - p[3] + d[1] * (KW - 1) + op[1] + 1;
  const Cg = Cin / g;
  const Kg = Cout / g;
  const out = new Float64Array(N * Cout * OH * OW);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < Cout; co++) for (let i = 0; i < OH * OW; i++) out[(n * Cout + co) * OH * OW + i] = b ? b[co] : 0;
  for (let n = 0; n < N; n++)
    for (let ci = 0; ci < Cin; ci++) {
      const gi = Math.floor(ci / Cg);
      for (let iy = 0; iy < H; iy++)
        for (let ix = 0; ix < W; ix++) {
          const xv = x[((n * Cin + ci) * H + iy) * W + ix];
          for (let cl = 0; cl < Kg; cl++)
            for (let ky = 0; ky < KH; ky++)
              for (let kx = 0; kx < KW; kx++) {
                const oy = iy * s[0] - p[0] + ky * d[0];
                const ox = ix * s[1] - p[1] + kx * d[1];
                if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                out[((n * Cout + gi * Kg + cl) * OH + oy) * OW + ox] += xv * w[((ci * Kg + cl) * KH + ky) * KW + kx];
              }
        }
    }
  return { out, shape: [N, Cout, OH, OW] };
}

const f32 = (a: Float64Array) => Float32Array.from(a);

/**
 * conv2d with a fused ReLU on random data of geometry q under the current variant: its output against float64
 * (and some of it clipped to 0), then, with `grads`, every input's gradient against finite differences.
 * Returns the kernels the forward launched.
 */
async function checkReluConv(q: Geo, seed: number, what: string, grads: boolean): Promise<number> {
  const relu = (a: Float64Array) => a.map((v) => Math.max(v, 0));
  const r = new Rand(seed);
  const xs = [q.N, q.C, q.H, q.W];
  const ws = [q.K, q.C / q.g, q.KH, q.KW];
  const [x, w, b] = [r.uniform(size(xs)), r.uniform(size(ws)), r.uniform(q.K)];
  const opts = { stride: q.s, dilation: q.d, padding: q.p, groups: q.g, relu: true };
  const want = relu(refConv(Float64Array.from(f32(x)), Float64Array.from(f32(w)), Float64Array.from(f32(b)), q).out);
  const before = F.engine().launches;
  const y = F.tidy(() => conv2d(F.tensor(f32(x), xs), F.tensor(f32(w), ws), F.tensor(f32(b), [q.K]), opts));
  const launched = F.engine().launches - before;
  expect(relErr(await y.data(), want), `${what} ${JSON.stringify(q)}`).toBeLessThan(1e-5);
  expect(Math.min(...(await y.data()))).toBe(0);
  y.dispose();
  if (grads) {
    await gradCheck({
      inputs: [{ data: x, shape: xs }, { data: w, shape: ws }, { data: b, shape: [q.K] }],
      gpuFn: (xt, wt, bt) => conv2d(xt, wt, bt, opts),
      refFn: (xa, wa, ba) => relu(refConv(xa, wa, ba, q).out),
      samples: 40,
    });
  }
  return launched;
}

const convCases: [string, Geo][] = [
  ['3×3, pad 1, batch 2, 5→7 channels, 9×11', { N: 2, C: 5, H: 9, W: 11, K: 7, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 }],
  ['7×7 stride 2 valid, 3→10 channels, 21×19', { N: 1, C: 3, H: 21, W: 19, K: 10, KH: 7, KW: 7, s: [2, 2], d: [1, 1], p: [0, 0, 0, 0], g: 1 }],
  ['3×3 stride 2, asymmetric pad, 13×9', { N: 2, C: 6, H: 13, W: 9, K: 9, KH: 3, KW: 3, s: [2, 2], d: [1, 1], p: [0, 1, 1, 0], g: 1 }],
  ['dilation 2, 1×5 kernel, stride 1×2', { N: 1, C: 4, H: 11, W: 17, K: 5, KH: 1, KW: 5, s: [1, 2], d: [2, 2], p: [0, 2, 0, 3], g: 1 }],
  ['depthwise 3×3 (groups = channels = 6)', { N: 2, C: 6, H: 10, W: 7, K: 6, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 6 }],
  // Depthwise layers run their own kernel (shaders/conv_depthwise.wgsl): strides, dilation, asymmetric pads,
  // ragged row blocks (21 columns in blocks of 8) and the 4-wide blocks of narrow rows.
  ['depthwise 3×3 stride 2, pad 0,0,1,1 (MobileNet\'s), 21×21 → 11×11', { N: 2, C: 5, H: 21, W: 21, K: 5, KH: 3, KW: 3, s: [2, 2], d: [1, 1], p: [0, 0, 1, 1], g: 5 }],
  ['depthwise 3×2, dilation 2×1, stride 1×2, asymmetric pad', { N: 1, C: 3, H: 9, W: 13, K: 3, KH: 3, KW: 2, s: [1, 2], d: [2, 1], p: [2, 0, 1, 1], g: 3 }],
  ['depthwise 3×3 dilation 2 on 13×10: bands of 4 rows, the last one short', { N: 2, C: 3, H: 13, W: 10, K: 3, KH: 3, KW: 3, s: [1, 1], d: [2, 2], p: [2, 2, 2, 2], g: 3 }],
  ['depthwise 3×3 on 4×3 rows', { N: 3, C: 7, H: 4, W: 3, K: 7, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 7 }],
  ['general groups: 6 → 9 channels in 3 groups', { N: 2, C: 6, H: 8, W: 9, K: 9, KH: 3, KW: 2, s: [1, 1], d: [1, 1], p: [1, 0, 1, 1], g: 3 }],
  ['1×1 conv, 8 → 12 channels on 6×6 (its input gradient a matmul with vec4 operands)', { N: 2, C: 8, H: 6, W: 6, K: 12, KH: 1, KW: 1, s: [1, 1], d: [1, 1], p: [0, 0, 0, 0], g: 1 }],
  ['1×1 conv, 17 → 3 channels', { N: 3, C: 17, H: 5, W: 6, K: 3, KH: 1, KW: 1, s: [1, 1], d: [1, 1], p: [0, 0, 0, 0], g: 1 }],
  ['1×1 stride 2: odd rows and columns get no gradient', { N: 2, C: 5, H: 7, W: 6, K: 4, KH: 1, KW: 1, s: [2, 2], d: [1, 1], p: [0, 0, 0, 0], g: 1 }],
  ['40 output channels (two row blocks), 3×3 stride 2 pad 1 into 14×13', { N: 1, C: 9, H: 14, W: 13, K: 40, KH: 3, KW: 3, s: [2, 2], d: [1, 1], p: [1, 1, 1, 1], g: 1 }],
  // Fewer than 8 quads of output pixels: the subgroup GEMM with lanes over rows (shaders/conv_subgroup_rows.wgsl).
  ['few pixels: 3×3 pad 1 on 4×4, 11 → 37 channels (ragged row blocks)', { N: 1, C: 11, H: 4, W: 4, K: 37, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 }],
  ['few pixels: 3×3 stride 2 valid on 4×4 → 1×1, 2 images (input gradient in 4 phases)', { N: 2, C: 10, H: 4, W: 4, K: 12, KH: 3, KW: 3, s: [2, 2], d: [1, 1], p: [0, 0, 0, 0], g: 1 }],
  ['few pixels: 5×3 kernel, dilation 1×2, groups 2 on 3×5', { N: 1, C: 6, H: 3, W: 5, K: 10, KH: 5, KW: 3, s: [1, 1], d: [1, 2], p: [2, 2, 2, 2], g: 2 }],
  ['few pixels: 3×3 pad 1 on 7×4 (7 quads in blocks of 4), 16 → 24 channels', { N: 1, C: 16, H: 7, W: 4, K: 24, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 }],
  ['one pixel: 3×3 pad 1 on 1×1, 3 images, 9 → 20 channels', { N: 3, C: 9, H: 1, W: 1, K: 20, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 }],
];

// Every CPU-driver variant runs every case: 'register', and 'subgroup' where the device has 8-wide subgroups
// (skipped, and said so, where it has not). The GPU forward variant has its own test below.
const variants = ['register', 'subgroup'] as const;
const useVariant = (v: (typeof variants)[number], ctx: TestContext) => {
  if (v === 'subgroup' && !subgroupKernelsSupported()) ctx.skip('device has no 8-wide subgroups');
  setConvVariant(v);
};

for (const variant of variants)
describe(`conv2d [${variant}]: forward against float64, gradients (input, filter, bias) against finite differences`, () => {
  afterAll(() => setConvVariant(null));
  for (const [name, q] of convCases) {
    it(name, async (ctx) => {
      useVariant(variant, ctx);
      const r = new Rand(q.C * 31 + q.K);
      const xs = [q.N, q.C, q.H, q.W];
      const ws = [q.K, q.C / q.g, q.KH, q.KW];
      const x = r.uniform(size(xs));
      const w = r.uniform(size(ws));
      const b = r.uniform(q.K);
      const opts: ConvOptions = { stride: q.s, dilation: q.d, padding: q.p, groups: q.g };
      const { out, shape } = refConv(Float64Array.from(f32(x)), Float64Array.from(f32(w)), Float64Array.from(f32(b)), q);
      const y = F.tidy(() => conv2d(F.tensor(f32(x), xs), F.tensor(f32(w), ws), F.tensor(f32(b), [q.K]), opts));
      expect(y.shape).toEqual(shape);
      expect(relErr(await y.data(), out)).toBeLessThan(1e-5);
      y.dispose();
      await gradCheck({
        inputs: [{ data: x, shape: xs }, { data: w, shape: ws }, { data: b, shape: [q.K] }],
        gpuFn: (xt, wt, bt) => conv2d(xt, wt, bt, opts),
        refFn: (xa, wa, ba) => refConv(xa, wa, ba, q).out,
        samples: 60,
      });
    });
  }

});

/** Float64 filter gradient by its definition: dw[k, c, ky, kx] = Σ_{n, oy, ox} dy[n, k, oy, ox] · x[n, g·CG + c, iy, ix]. */
function refGradFilter(x: Float64Array, dy: Float64Array, q: Geo, OH: number, OW: number) {
  const { N, C, H, W, K, KH, KW, s, d, p, g } = q;
  const Cg = C / g;
  const Kg = K / g;
  const dw = new Float64Array(K * Cg * KH * KW);
  for (let k = 0; k < K; k++) {
    const gi = Math.floor(k / Kg);
    for (let c = 0; c < Cg; c++)
      for (let ky = 0; ky < KH; ky++)
        for (let kx = 0; kx < KW; kx++) {
          let acc = 0;
          for (let n = 0; n < N; n++)
            for (let oy = 0; oy < OH; oy++)
              for (let ox = 0; ox < OW; ox++) {
                const iy = oy * s[0] - p[0] + ky * d[0];
                const ix = ox * s[1] - p[1] + kx * d[1];
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc += dy[((n * K + k) * OH + oy) * OW + ox] * x[((n * C + gi * Cg + c) * H + iy) * W + ix];
              }
          dw[((k * Cg + c) * KH + ky) * KW + kx] = acc;
        }
  }
  return dw;
}

// Sizes that are multiples of nothing: ragged row blocks (7, 40 channels), output rows that are not whole
// quads, strides, dilation, asymmetric pads, groups, filter rows cut into runs (5, 7, 9 taps), the shifted
// copies of x that runs of 3 taps need, and strided layers read in column phases (7×7 and 5×5 at stride 2).
const gradFilterCases: [string, Geo][] = [
  ['batch 3, 5→7 channels, 13×11, 3×3 pad 1', { N: 3, C: 5, H: 13, W: 11, K: 7, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 }],
  ['7×7 stride 2 on 3 channels, 21×19', { N: 2, C: 3, H: 21, W: 19, K: 10, KH: 7, KW: 7, s: [2, 2], d: [1, 1], p: [0, 0, 0, 0], g: 1 }],
  ['groups 2: 6 → 10 channels, 3×2, asymmetric pad', { N: 2, C: 6, H: 9, W: 10, K: 10, KH: 3, KW: 2, s: [1, 1], d: [1, 1], p: [1, 0, 2, 1], g: 2 }],
  ['dilation 2, 3×3 stride 1, 12×15', { N: 2, C: 4, H: 12, W: 15, K: 9, KH: 3, KW: 3, s: [1, 1], d: [2, 2], p: [2, 1, 2, 3], g: 1 }],
  ['40 output channels (two row blocks), 3×3 stride 2 pad 1 on 14×13', { N: 1, C: 9, H: 14, W: 13, K: 40, KH: 3, KW: 3, s: [2, 2], d: [1, 1], p: [1, 1, 1, 1], g: 1 }],
  ['1×5 kernel, stride 1×2, dilation 2, 11×17', { N: 1, C: 4, H: 11, W: 17, K: 5, KH: 1, KW: 5, s: [1, 2], d: [2, 2], p: [0, 2, 0, 3], g: 1 }],
  ['5×5 stride 2, pad 2,2,1,1 (a deconvolution\'s conv: shifted copies of x)', { N: 2, C: 6, H: 20, W: 18, K: 11, KH: 5, KW: 5, s: [2, 2], d: [1, 1], p: [2, 2, 1, 1], g: 1 }],
  ['3×3 valid on 18×18: 16 output columns, dy read as it is', { N: 2, C: 4, H: 18, W: 18, K: 17, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [0, 0, 0, 0], g: 1 }],
  ['9×9 dilation 2×1 on 30×41: three runs of 3 taps', { N: 1, C: 2, H: 30, W: 41, K: 6, KH: 9, KW: 9, s: [1, 1], d: [2, 1], p: [3, 4, 3, 2], g: 1 }],
  ['9×9 stride 2 in phases of 5 and 4 taps, runs of 3 and 2 from shifted copies', { N: 1, C: 2, H: 9, W: 26, K: 5, KH: 3, KW: 9, s: [1, 2], d: [1, 1], p: [1, 4, 1, 3], g: 1 }],
  ['1×7 stride 3 in three phases, asymmetric pad', { N: 2, C: 3, H: 10, W: 25, K: 4, KH: 2, KW: 7, s: [1, 3], d: [1, 1], p: [0, 3, 1, 2], g: 1 }],
  ['1×1, 8 → 12 channels, 6×7', { N: 2, C: 8, H: 6, W: 7, K: 12, KH: 1, KW: 1, s: [1, 1], d: [1, 1], p: [0, 0, 0, 0], g: 1 }],
  ['batch 8, 4×4 images (bands of the reduction split over workgroups)', { N: 8, C: 16, H: 4, W: 4, K: 24, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 }],
];

describe('conv filter gradient: column phases of x for strided layers', () => {
  it('7×7 and 5×5 at stride 2 read x in 2 phases (2 runs of 2 vec4 loads, not 2 of 3); 3×3 at stride 2 and dilated layers do not', () => {
    const pick = (KW: number, SW: number, DW: number) => {
      const l = gradFilterLayout({ KW, SW, DW });
      return [l.T, l.XQ, l.CW, l.XS, l.loads];
    };
    expect(pick(7, 2, 1)).toEqual([2, 1, 4, 1, 4]);
    expect(pick(5, 2, 1)).toEqual([2, 1, 3, 1, 4]);
    expect(pick(3, 2, 1)).toEqual([1, 1, 3, 1, 3]);
    expect(pick(5, 2, 2)).toEqual([1, 2, 3, 2, 6]);
    expect(pick(9, 2, 1)).toEqual([2, 2, 3, 2, 8]);
    expect(pick(7, 1, 1)).toEqual([1, 2, 4, 1, 4]);
  });
});

for (const variant of variants)
describe(`conv2d filter gradient [${variant}]: the kernel against float64`, () => {
  afterAll(() => setConvVariant(null));
  for (const [name, q] of gradFilterCases) {
    it(name, async (ctx) => {
      useVariant(variant, ctx);
      const OH = Math.floor((q.H + q.p[0] + q.p[2] - (q.d[0] * (q.KH - 1) + 1)) / q.s[0]) + 1;
      const OW = Math.floor((q.W + q.p[1] + q.p[3] - (q.d[1] * (q.KW - 1) + 1)) / q.s[1]) + 1;
      const geo: ConvGeometry = {
        N: q.N, C: q.C, H: q.H, W: q.W, K: q.K, OH, OW, G: q.g, KH: q.KH, KW: q.KW, SH: q.s[0], SW: q.s[1], DH: q.d[0], DW: q.d[1],
        PT: q.p[0], PL: q.p[1], PB: q.p[2], PR: q.p[3],
      };
      const r = new Rand(q.K * 13 + q.C);
      const xs = [q.N, q.C, q.H, q.W];
      const dys = [q.N, q.K, OH, OW];
      const x = f32(r.uniform(size(xs)));
      const dy = f32(r.uniform(size(dys)));
      const want = refGradFilter(Float64Array.from(x), Float64Array.from(dy), q, OH, OW);
      // The labels of the launches say which kernel ran: the subgroup variant must not have fallen back.
      const e = F.engine();
      const dispatch = e.dispatch.bind(e);
      const labels: string[] = [];
      e.dispatch = (l) => {
        labels.push(l.label);
        dispatch(l);
      };
      try {
        const got = F.tidy(() => conv2dGradFilterKernel(F.tensor(x, xs), F.tensor(dy, dys), geo));
        expect(got.shape).toEqual([q.K, q.C / q.g, q.KH, q.KW]);
        expect(relErr(await got.data(), want)).toBeLessThan(1e-5);
        got.dispose();
      } finally {
        e.dispatch = dispatch;
      }
      expect(labels.some((l) => l.startsWith('conv2d.gradFilter[subgroup]'))).toBe(variant === 'subgroup');
    });
  }
});

describe('conv2d: other variants and errors', () => {
  it('the shared-memory (GPU) forward variant matches float64 too, including ragged tiles and groups', async () => {
    const geos: Geo[] = [
      { N: 2, C: 5, H: 9, W: 11, K: 70, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 },
      { N: 1, C: 3, H: 21, W: 19, K: 32, KH: 7, KW: 7, s: [2, 2], d: [1, 1], p: [0, 0, 0, 0], g: 1 },
      { N: 3, C: 6, H: 8, W: 7, K: 34, KH: 3, KW: 2, s: [1, 2], d: [2, 1], p: [1, 0, 2, 1], g: 2 },
    ];
    setConvVariant('shared');
    try {
      for (const q of geos) {
        const r = new Rand(q.K);
        const x = Float32Array.from(r.uniform(q.N * q.C * q.H * q.W));
        const w = Float32Array.from(r.uniform(q.K * (q.C / q.g) * q.KH * q.KW));
        const b = Float32Array.from(r.uniform(q.K));
        const { out } = refConv(Float64Array.from(x), Float64Array.from(w), Float64Array.from(b), q);
        const y = F.tidy(() =>
          conv2d(F.tensor(x, [q.N, q.C, q.H, q.W]), F.tensor(w, [q.K, q.C / q.g, q.KH, q.KW]), F.tensor(b, [q.K]), { stride: q.s, dilation: q.d, padding: q.p, groups: q.g }),
        );
        expect(relErr(await y.data(), out)).toBeLessThan(1e-5);
        y.dispose();
      }
    } finally {
      setConvVariant(null);
    }
  });

  it('a fused ReLU (relu: true): every variant writes max(conv, 0); gradients match finite differences through the mask', async (ctx) => {
    const geos: Geo[] = [
      { N: 2, C: 5, H: 9, W: 11, K: 7, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 },
      { N: 1, C: 6, H: 13, W: 9, K: 40, KH: 3, KW: 3, s: [2, 2], d: [1, 1], p: [0, 1, 1, 0], g: 2 },
      { N: 2, C: 6, H: 10, W: 11, K: 6, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 6 },
    ];
    const kinds: ('register' | 'shared' | 'subgroup')[] = ['register', 'shared', ...(subgroupKernelsSupported() ? (['subgroup'] as const) : [])];
    if (!subgroupKernelsSupported()) ctx.annotate('no 8-wide subgroups: the subgroup variant is not run');
    try {
      for (const v of kinds) {
        setConvVariant(v);
        // The backward kernels of 'shared' are the CPU ones: checked once per CPU variant.
        for (const q of geos) await checkReluConv(q, q.K + 5, v, v !== 'shared');
      }
    } finally {
      setConvVariant(null);
    }
  });

  it('the GPU variant splits a small layer\'s reductions over more workgroups: forward, input and filter gradients still match float64 and finite differences', async () => {
    // 1 tile of 64×64 outputs for a reduction of 37·9 (forward) or 40 channels (input gradient): each is cut
    // into runs and added up by split_sum (two launches instead of one), ragged last runs included.
    const geos: Geo[] = [
      { N: 1, C: 37, H: 4, W: 5, K: 40, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 },
      { N: 2, C: 48, H: 7, W: 6, K: 36, KH: 3, KW: 3, s: [2, 2], d: [1, 1], p: [0, 1, 1, 0], g: 2 },
    ];
    setConvVariant('shared');
    try {
      for (const q of geos) expect(await checkReluConv(q, q.C + 11, 'split', true), 'the forward is split: its kernel, then the sum').toBe(2);
    } finally {
      setConvVariant(null);
    }
  });

  it("TensorFlow 'same' and 'valid' padding", async () => {
    const x = F.zeros([1, 2, 7, 8]);
    const w = F.zeros([3, 2, 3, 3]);
    expect(F.tidy(() => conv2d(x, w, undefined, { padding: 'same', stride: 2 })).shape).toEqual([1, 3, 4, 4]);
    expect(F.tidy(() => conv2d(x, w, undefined, { padding: 'same' })).shape).toEqual([1, 3, 7, 8]);
    expect(F.tidy(() => conv2d(x, w, undefined, { padding: 'valid' })).shape).toEqual([1, 3, 5, 6]);
    x.dispose();
    w.dispose();
  });

  it('bad shapes give errors that name the op and the shapes', () => {
    F.tidy(() => {
      expect(() => conv2d(F.zeros([1, 3, 5, 5]), F.zeros([8, 4, 3, 3]))).toThrow(/conv2d: input \[1,3,5,5\] has 3 channels, weight \[8,4,3,3\] expects 4/);
      expect(() => conv2d(F.zeros([1, 3, 2, 2]), F.zeros([8, 3, 3, 3]))).toThrow(/conv2d: kernel 3×3 .* larger than the padded input 2×2/);
      expect(() => conv2d(F.zeros([3, 5, 5]), F.zeros([8, 3, 3, 3]))).toThrow(/conv2d: input must be NCHW/);
      expect(() => conv2d(F.zeros([1, 3, 5, 5]), F.zeros([8, 3, 3, 3]), F.zeros([7]))).toThrow(/conv2d: bias \[7\] must be \[8\]/);
    });
  });
});

const convTCases: [string, Geo & { op: [number, number] }][] = [
  ['the paper’s deconvolution: 5×5 stride 2, pad 2, output padding 1, 8×8 → 16×16', { N: 2, C: 6, H: 8, W: 8, K: 5, KH: 5, KW: 5, s: [2, 2], d: [1, 1], p: [2, 2, 2, 2], g: 1, op: [1, 1] }],
  ['3×3 stride 1, pad 1, odd sizes', { N: 1, C: 5, H: 7, W: 9, K: 3, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 }],
  ['stride 3, dilation 2, asymmetric pad, groups 2', { N: 2, C: 4, H: 5, W: 4, K: 6, KH: 3, KW: 2, s: [3, 2], d: [2, 1], p: [1, 0, 2, 1], g: 2, op: [2, 0] }],
  ['depthwise 3×3 stride 2, output padding 1', { N: 2, C: 4, H: 5, W: 6, K: 4, KH: 3, KW: 3, s: [2, 2], d: [1, 1], p: [1, 1, 1, 1], g: 4, op: [1, 1] }],
].map(([n, q]) => [n, { op: [0, 0], ...(q as object) }] as [string, Geo & { op: [number, number] }]);

for (const variant of variants)
describe(`convTranspose2d [${variant}]: forward against float64, gradients against finite differences`, () => {
  afterAll(() => setConvVariant(null));
  for (const [name, q] of convTCases) {
    it(name, async (ctx) => {
      useVariant(variant, ctx);
      const r = new Rand(q.C * 17 + q.K);
      const xs = [q.N, q.C, q.H, q.W];
      const ws = [q.C, q.K / q.g, q.KH, q.KW];
      const x = r.uniform(size(xs));
      const w = r.uniform(size(ws));
      const b = r.uniform(q.K);
      const opts: ConvTransposeOptions = { stride: q.s, dilation: q.d, padding: q.p, groups: q.g, outputPadding: q.op };
      const { out, shape } = refConvT(Float64Array.from(f32(x)), Float64Array.from(f32(w)), Float64Array.from(f32(b)), q);
      const y = F.tidy(() => convTranspose2d(F.tensor(f32(x), xs), F.tensor(f32(w), ws), F.tensor(f32(b), [q.K]), opts));
      expect(y.shape).toEqual(shape);
      expect(relErr(await y.data(), out)).toBeLessThan(1e-5);
      y.dispose();
      await gradCheck({
        inputs: [{ data: x, shape: xs }, { data: w, shape: ws }, { data: b, shape: [q.K] }],
        gpuFn: (xt, wt, bt) => convTranspose2d(xt, wt, bt, opts),
        refFn: (xa, wa, ba) => refConvT(xa, wa, ba, q).out,
        samples: 60,
      });
    });
  }
});

describe("conv input gradient: the tape's sum and the ReLU's mask in the GEMM's output write", () => {
  // The second size leaves the block's 3×3 convolutions 3×4 pixels: the kernel with lanes over rows.
  for (const [N, H, W] of [[2, 11, 13], [1, 7, 9]])
  it(`a residual block (x → a = relu(conv) → relu(conv) → conv, + a, relu) on ${N}×5×${H}×${W}: finite differences, the bits of the passes it replaces, fewer launches`, async (ctx) => {
    if (!subgroupKernelsSupported()) ctx.skip('device has no 8-wide subgroups: the epilogue is the subgroup kernel\'s');
    const out = (q: Geo) => [Math.floor((q.H + q.p[0] + q.p[2] - q.KH) / q.s[0]) + 1, Math.floor((q.W + q.p[1] + q.p[3] - q.KW) / q.s[1]) + 1];
    const q1: Geo = { N, C: 5, H, W, K: 6, KH: 3, KW: 3, s: [2, 2], d: [1, 1], p: [0, 1, 1, 0], g: 1 };
    const [AH, AW] = out(q1);
    const q2: Geo = { N, C: 6, H: AH, W: AW, K: 6, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 };
    const relu = (a: Float64Array) => a.map((v) => Math.max(v, 0));
    const refFn = (x: Float64Array, w1: Float64Array, w2: Float64Array, w3: Float64Array) => {
      const a = relu(refConv(x, w1, null, q1).out);
      const c = refConv(relu(refConv(a, w2, null, q2).out), w3, null, q2).out;
      return relu(c.map((v, i) => v + a[i]));
    };
    const opts = (q: Geo, r: boolean) => ({ stride: q.s, padding: q.p, relu: r });
    const gpuFn = (x: F.Tensor, w1: F.Tensor, w2: F.Tensor, w3: F.Tensor) => {
      const a = conv2d(x, w1, undefined, opts(q1, true));
      return F.addRelu(conv2d(conv2d(a, w2, undefined, opts(q2, true)), w3, undefined, opts(q2, false)), a);
    };
    const r = new Rand(97);
    const shapes = [[N, 5, H, W], [6, 5, 3, 3], [6, 6, 3, 3], [6, 6, 3, 3]];
    const data = shapes.map((s) => r.uniform(size(s)).map((v) => v - 0.3));
    setConvVariant('subgroup');
    try {
      await gradCheck({ inputs: data.map((d, i) => ({ data: d, shape: shapes[i] })), gpuFn, refFn, samples: 40 });
      // The same gradients with the sum and the masks as passes of their own: bit for bit, three launches more.
      const grads = async (fuse: boolean) => {
        gradFacts.fuse = fuse;
        const xs = data.map((d, i) => F.tensor(Float32Array.from(d), shapes[i]));
        xs.forEach((t) => (t.requiresGrad = true));
        const before = F.engine().launches;
        F.tidy(() => F.backward(F.sum(gpuFn(xs[0], xs[1], xs[2], xs[3]))));
        const launched = F.engine().launches - before;
        const got = await Promise.all(xs.map((t) => t.grad!.data()));
        xs.forEach((t) => t.dispose());
        return { got, launched };
      };
      const [fused, passes] = [await grads(true), await grads(false)];
      for (let i = 0; i < 4; i++) expect(Array.from(fused.got[i]), `input ${i}`).toEqual(Array.from(passes.got[i]));
      expect(passes.launched - fused.launched).toBe(3);
    } finally {
      gradFacts.fuse = true;
      setConvVariant(null);
    }
  });
  for (const [N, H, W] of [[2, 9, 11], [1, 3, 4]])
  it(`the residual sum and ReLU in the conv's output write on ${N}×5×${H}×${W}: finite differences, the bits of conv + addRelu, one launch fewer`, async (ctx) => {
    if (!subgroupKernelsSupported()) ctx.skip('device has no 8-wide subgroups: the epilogue is the subgroup kernel\'s');
    const q1: Geo = { N, C: 5, H, W, K: 6, KH: 3, KW: 3, s: [1, 1], d: [1, 1], p: [1, 1, 1, 1], g: 1 };
    const q2: Geo = { ...q1, C: 6 };
    const relu = (a: Float64Array) => a.map((v) => Math.max(v, 0));
    const refFn = (x: Float64Array, w1: Float64Array, w2: Float64Array, b2: Float64Array) => {
      const a = relu(refConv(x, w1, null, q1).out);
      return relu(refConv(a, w2, b2, q2).out.map((v, i) => v + a[i]));
    };
    const opts = (q: Geo) => ({ stride: q.s, padding: q.p, relu: true });
    const block = (fused: boolean) => (x: F.Tensor, w1: F.Tensor, w2: F.Tensor, b2: F.Tensor) => {
      const a = conv2d(x, w1, undefined, opts(q1));
      return fused ? conv2d(a, w2, b2, { ...opts(q2), residual: a }) : F.addRelu(conv2d(a, w2, b2, { ...opts(q2), relu: false }), a);
    };
    const r = new Rand(98);
    const shapes = [[N, 5, H, W], [6, 5, 3, 3], [6, 6, 3, 3], [6]];
    const data = shapes.map((s) => r.uniform(size(s)).map((v) => v - 0.3));
    setConvVariant('subgroup');
    try {
      await gradCheck({ inputs: data.map((d, i) => ({ data: d, shape: shapes[i] })), gpuFn: block(true), refFn, samples: 40 });
      const run = async (fused: boolean) => {
        const xs = data.map((d, i) => F.tensor(Float32Array.from(d), shapes[i]));
        xs.forEach((t) => (t.requiresGrad = true));
        const before = F.engine().launches;
        const y = F.keep(block(fused)(xs[0], xs[1], xs[2], xs[3]));
        const launched = F.engine().launches - before;
        F.tidy(() => F.backward(F.sum(y)));
        const got = [await y.data(), ...(await Promise.all(xs.map((t) => t.grad!.data())))];
        [y, ...xs].forEach((t) => t.dispose());
        return { got, launched };
      };
      const [fused, passes] = [await run(true), await run(false)];
      for (let i = 0; i < 5; i++) expect(Array.from(fused.got[i]), i ? `gradient ${i - 1}` : 'output').toEqual(Array.from(passes.got[i]));
      expect(passes.launched - fused.launched).toBe(1);
      // A residual that only broadcasts to the output takes the separate sum, with the same result.
      const got = F.tidy(() => {
        const [a, w2, b2, rb] = [F.tensor(Float32Array.from(new Rand(99).uniform(N * 6 * H * W)), [N, 6, H, W]), F.tensor(Float32Array.from(data[2]), [6, 6, 3, 3]), F.tensor(Float32Array.from(data[3]), [6]), F.tensor([0.5, -0.2, 0.1, 0, 0.3, -0.4], [1, 6, 1, 1])];
        return F.concat([conv2d(a, w2, b2, { ...opts(q2), residual: rb }), F.addRelu(conv2d(a, w2, b2, { ...opts(q2), relu: false }), rb)]);
      });
      const both = await got.data();
      got.dispose();
      expect(Array.from(both.slice(0, both.length / 2))).toEqual(Array.from(both.slice(both.length / 2)));
    } finally {
      setConvVariant(null);
    }
  });
  it('a residual sum without a ReLU (a linear bottleneck\'s) in the conv\'s output write: finite differences, the bits of conv + add', async (ctx) => {
    if (!subgroupKernelsSupported()) ctx.skip('device has no 8-wide subgroups: the epilogue is the subgroup kernel\'s');
    const q: Geo = { N: 2, C: 6, H: 7, W: 9, K: 5, KH: 1, KW: 1, s: [1, 1], d: [1, 1], p: [0, 0, 0, 0], g: 1 };
    const refFn = (x: Float64Array, w: Float64Array, r: Float64Array) => refConv(x, w, null, q).out.map((v, i) => v + r[i]);
    const fn = (fused: boolean) => (x: F.Tensor, w: F.Tensor, r: F.Tensor) => (fused ? conv2d(x, w, undefined, { residual: r }) : F.add(conv2d(x, w), r));
    const shapes = [[2, 6, 7, 9], [5, 6, 1, 1], [2, 5, 7, 9]];
    const data = shapes.map((sh, i) => new Rand(60 + i).uniform(size(sh), -1, 1));
    setConvVariant('subgroup');
    try {
      await gradCheck({ inputs: data.map((d, i) => ({ data: d, shape: shapes[i] })), gpuFn: fn(true), refFn, samples: 40 });
      const out = async (fused: boolean) => {
        const y = F.tidy(() => fn(fused)(...(data.map((d, i) => F.tensor(Float32Array.from(d), shapes[i])) as [F.Tensor, F.Tensor, F.Tensor])));
        const v = await y.data();
        y.dispose();
        return Array.from(v);
      };
      expect(await out(true)).toEqual(await out(false));
    } finally {
      setConvVariant(null);
    }
  });
});

describe('conv input gradient: stride phases merged into one GEMM', () => {
  it('7×7 stride 2 (the face model\'s first layer): phases 0 and 1 take taps 0,2,4,6 and 1,3,5, reading dy alike', () => {
    const m = mergedTaps(150, 2, 7, 1, 0)!;
    expect(m.phases.map((p) => [p.first, p.count, p.lead])).toEqual([[0, 4, 0], [1, 3, 0]]);
    expect([m.taps, m.step, m.srcOffset, m.srcStep, m.outputs]).toEqual([4, 2, 0, 1, 75]);
  });
  it('3×3 stride 2 pad 1: phase 1 reads one row further, so phase 0 is shifted by a zero tap', () => {
    const m = mergedTaps(9, 2, 3, 1, 1)!;
    expect(m.phases.map((p) => [p.first, p.count, p.lead])).toEqual([[1, 1, 1], [0, 2, 0]]);
    expect([m.taps, m.srcOffset]).toEqual([2, 1]);
  });
  it('stride 3 with dilation 2 cannot align its phases (the caller falls back to the register kernel)', () => {
    expect(mergedTaps(5, 3, 3, 2, 1)).toBeNull();
  });
});

describe('conv input gradient: weights re-laid for the kernel follow the weight tensor', () => {
  it('after write() and after an optimizer step, the input gradient uses the new weights', async () => {
    const q: Geo = { N: 1, C: 4, H: 9, W: 8, K: 5, KH: 3, KW: 3, s: [2, 2], d: [1, 1], p: [1, 1, 1, 1], g: 1 };
    const r = new Rand(5);
    const xs = [q.N, q.C, q.H, q.W];
    const ws = [q.K, q.C, q.KH, q.KW];
    const x = F.tensor(f32(r.uniform(size(xs))), xs);
    x.requiresGrad = true;
    const w = F.tensor(f32(r.uniform(size(ws))), ws);
    w.requiresGrad = true;
    const opts: ConvOptions = { stride: q.s, padding: q.p };
    // d/dx Σ conv(x, w) is the input gradient of an all-ones dy: a sum over the weights.
    const gradX = async () => {
      x.grad?.dispose();
      x.grad = null;
      F.tidy(() => F.backward(F.sum(conv2d(x, w, undefined, opts))));
      return x.grad!.data();
    };
    const reference = async () => {
      const wv = Float64Array.from(await w.data());
      const xv = Float64Array.from(await x.data());
      const h = 1e-3;
      // The output is linear in x: one column of the Jacobian per input value, from the float64 reference.
      const out = new Float64Array(xv.length);
      for (let i = 0; i < xv.length; i++) {
        const up = xv.slice();
        up[i] += h;
        const a = refConv(up, wv, null, q).out.reduce((s, v) => s + v, 0);
        const b = refConv(xv, wv, null, q).out.reduce((s, v) => s + v, 0);
        out[i] = (a - b) / h;
      }
      return out;
    };
    expect(relErr(await gradX(), await reference())).toBeLessThan(1e-4);
    w.write(f32(r.uniform(size(ws))));
    expect(relErr(await gradX(), await reference())).toBeLessThan(1e-4);
    const opt = new F.SGD([w], { lr: 0.5 });
    w.grad = F.keep(F.tensor(f32(r.uniform(size(ws))), ws));
    opt.step();
    opt.dispose();
    expect(relErr(await gradX(), await reference())).toBeLessThan(1e-4);
    [x, w].forEach((t) => t.dispose());
  });
});
