// conv2d forward, backward-data (= transposed conv) and backward-filter kernels, NCHW.
// Shapes travel as uniforms, so one pipeline per block-size choice serves every layer.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { packParams, grid } from './params.ts';
import { subgroupKernelsSupported, SUBGROUP_WIDTH } from './subgroups.ts';
import { shaderPipeline } from './preprocess.ts';
import { matmulKernel } from './matmul.ts';
import { gradFilterSubgroup } from './conv_grad_filter.ts';
import { mergedTaps, phaseWeights } from './conv_phases.ts';
import { gatheredGemm, type GatheredGemm, type GradEpilogue } from './conv_gemm.ts';

export type { GradEpilogue } from './conv_gemm.ts';

export { gradFilterLayout } from './conv_grad_filter.ts';
export { mergedTaps } from './conv_phases.ts';

export type ConvVariant = 'shared' | 'subgroup' | 'register';

let override: ConvVariant | null = null;

/** Forces the forward kernel variant (tests, benchmarks); null restores the per-adapter choice. */
export function setConvVariant(v: ConvVariant | null): void {
  override = v;
}

/**
 * Workgroup-shared tiles on GPUs; on CPU drivers (barriers are costly there) the subgroup GEMM where the device
 * has 8-wide subgroups, else register blocks.
 */
export function convVariant(): ConvVariant {
  if (override) return override;
  if (!engine().adapter.isCpu) return 'shared';
  return subgroupKernelsSupported() ? 'subgroup' : 'register';
}

function useSubgroup(what: string): boolean {
  if (convVariant() !== 'subgroup') return false;
  if (!subgroupKernelsSupported()) {
    throw new Error(`${what}: the subgroup variant needs the 'subgroups' feature with ${SUBGROUP_WIDTH}-wide subgroups, which this device lacks`);
  }
  return true;
}

/** Everything a conv kernel needs to know about one convolution y = conv(x, w). */
export interface ConvGeometry {
  N: number; C: number; H: number; W: number;
  K: number; OH: number; OW: number; G: number;
  KH: number; KW: number; SH: number; SW: number;
  DH: number; DW: number;
  /** Padding: top, left, bottom, right. */
  PT: number; PL: number; PB: number; PR: number;
}

function params(g: ConvGeometry, hasBias: boolean, relu = false, split: Split = NO_SPLIT): Uint32Array {
  // Every conv kernel but the subgroup GEMM includes this one struct (shaders/include/conv_params.wgsl).
  const { N, C, H, W, K, OH, OW, G, KH, KW, SH, SW, DH, DW, PT, PL } = g;
  const { splits, chunk } = split;
  return packParams('conv2d', { N, C, H, W, K, OH, OW, G, KH, KW, SH, SW, DH, DW, PT, PL, CG: C / G, KG: K / G, hasBias: hasBias ? 1 : 0, relu: relu ? 1 : 0, splits, chunk });
}

/** A reduction cut into `splits` runs of `chunk` (the whole of it when splits = 1). */
export interface Split {
  splits: number;
  chunk: number;
}
const NO_SPLIT: Split = { splits: 1, chunk: 0xffffffff };

/**
 * How to cut a reduction of `length` steps (in units of `unit`) so that `parallel` independent work items
 * become about `target`: on a GPU the small late layers (256×4×4 at batch 1: 4 workgroups of 64×64 outputs, each
 * looping over 2304 products) would leave almost every multiprocessor idle. Each split keeps at least
 * `minRun` units. Only the GPU ('shared') variant splits: a CPU driver is filled by a few workgroups.
 */
function splitFor(parallel: number, length: number, unit: number, target: number, minRun: number): Split {
  if (convVariant() !== 'shared') return NO_SPLIT;
  const units = Math.ceil(length / unit);
  const splits = Math.max(1, Math.min(Math.floor(target / Math.max(parallel, 1)), Math.floor(units / minRun), 64));
  if (splits === 1) return NO_SPLIT;
  const chunkUnits = Math.ceil(units / splits);
  return { splits: Math.ceil(units / chunkUnits), chunk: chunkUnits * unit };
}

/**
 * Runs `launch` into a buffer of `split.splits` copies of `out` when the reduction is split, then adds them up
 * into `out` with the bias of channel (i / P) mod K and the ReLU; otherwise straight into `out`.
 */
export function withSplits(out: Tensor, split: Split, bias: Tensor | null, P: number, K: number, relu: boolean, launch: (target: Tensor) => void): void {
  if (split.splits === 1) return launch(out);
  const e = engine();
  const part = Tensor.empty([split.splits, ...out.shape]);
  launch(part);
  const len = out.size;
  e.dispatch({
    pipeline: shaderPipeline('split_sum', {}),
    buffers: [part.buffer, bias ? bias.buffer : e.scratch, out.buffer],
    uniforms: packParams('split_sum', { len, splits: split.splits, P, K, hasBias: bias ? 1 : 0, relu: relu ? 1 : 0 }),
    workgroups: grid(len, 256),
    label: `conv.splitSum(${split.splits})`,
  });
  part.dispose();
}

/**
 * Workgroup size: small layers (the 256×4×4 stage has 64 invocations) would otherwise fit in one workgroup,
 * which a CPU driver runs on one thread.
 */
const wgFor = (invocations: number) => (invocations < 4096 ? 16 : 64);

/** Register-block height: as many channels as the group has, up to 8 (3 RGB channels → a block of 3). */
const block = (n: number) => Math.min(n, 8);

export const describe = (g: ConvGeometry) =>
  `x [${g.N},${g.C},${g.H},${g.W}] w [${g.K},${g.C / g.G},${g.KH},${g.KW}] stride ${g.SH}×${g.SW} dil ${g.DH}×${g.DW} pad ${g.PT},${g.PL},${g.PB},${g.PR} groups ${g.G}`;

/** A 1×1 conv without stride, dilation that matters, padding or groups: a matrix product per image. */
const isPointwise = (g: ConvGeometry) => g.KH === 1 && g.KW === 1 && g.SH === 1 && g.SW === 1 && g.G === 1 && g.PT === 0 && g.PL === 0 && g.PB === 0 && g.PR === 0;

/** One filter per channel (groups = input channels = output channels): MobileNets' depthwise layers. */
const isDepthwise = (g: ConvGeometry) => g.G > 1 && g.G === g.C && g.G === g.K;

/**
 * A depthwise conv's forward (`grad` false: src = x, out = y) or input gradient (src = dy, out = dx) with its own
 * kernel on every adapter: as a GEMM its groups are one row each (shaders/conv_depthwise.wgsl).
 */
function depthwise(src: Tensor, w: Tensor, bias: Tensor | null, out: Tensor, g: ConvGeometry, grad: boolean, relu: boolean, label: string): void {
  const e = engine();
  const [oh, ow] = grad ? [g.H, g.W] : [g.OH, g.OW];
  // Unit strides (the source rows then serve several output rows): each source row segment loaded once.
  const SEGMENTS = g.SH === 1 && (!grad || g.SW === 1);
  // Blocks of TR rows × TP columns; narrow or short layers take smaller ones, strided ones single rows.
  const TP = ow <= 4 ? 4 : 8;
  const TR = !SEGMENTS ? 1 : oh >= 12 ? 4 : oh >= 4 ? 2 : 1;
  const invocations = g.N * g.C * Math.ceil(oh / TR) * Math.ceil(ow / TP);
  if (invocations === 0) return;
  e.dispatch({
    pipeline: shaderPipeline('conv_depthwise', { TP, TR, TRTP: TR * TP, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, DH: g.DH, DW: g.DW, GRAD: grad, SEGMENTS }),
    buffers: [src.buffer, w.buffer, bias ? bias.buffer : e.scratch, out.buffer],
    uniforms: params(g, !!bias, relu),
    workgroups: grid(invocations, 64),
    label,
  });
}

/** y[N,K,OH,OW] = conv(x[N,C,H,W], w[K,C/G,KH,KW]) + bias[K], or max(that, 0) with `relu`. */
export function conv2dKernel(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, relu = false): Tensor {
  const e = engine();
  const out = Tensor.empty([g.N, g.K, g.OH, g.OW]);
  if (isDepthwise(g)) {
    depthwise(x, w, bias, out, g, false, relu, `conv2d[depthwise](${describe(g)})`);
    return out;
  }
  if (useSubgroup(`conv2d(${describe(g)})`)) {
    gatheredGemm(x, w, bias, out, `conv2d[subgroup](${describe(g)})`, forwardGemm(g), relu);
    return out;
  }
  // A group too thin for a 64-row tile (depthwise) is better served by the register kernel everywhere.
  if (convVariant() === 'shared' && g.K / g.G >= 16) {
    const tiles = [Math.ceil((g.N * g.OH * g.OW) / 64), Math.ceil(g.K / g.G / 64), g.G];
    // 256 workgroups fill a large GPU twice over; each split keeps at least 4 steps of 16 rows.
    const split = splitFor(tiles[0] * tiles[1] * tiles[2], (g.C / g.G) * g.KH * g.KW, 16, 256, 4);
    withSplits(out, split, bias, g.OH * g.OW, g.K, relu, (target) =>
      e.dispatch({
        pipeline: shaderPipeline('conv2d_shared', {}),
        buffers: [x.buffer, w.buffer, bias ? bias.buffer : e.scratch, target.buffer],
        uniforms: params(g, !!bias, relu, split),
        workgroups: [tiles[0], tiles[1], g.G * split.splits],
        label: `conv2d[shared](${describe(g)})${split.splits > 1 ? ` split ${split.splits}` : ''}`,
      }),
    );
    return out;
  }
  const TCO = block(g.K / g.G);
  const TP = 8;
  const invocations = Math.ceil((g.OH * g.OW) / TP) * Math.ceil(g.K / g.G / TCO) * g.G * g.N;
  const WG = wgFor(invocations);
  const pipe = shaderPipeline('conv2d', { TCO, TP, TCOTP: TCO * TP, WG });
  e.dispatch({
    pipeline: pipe,
    buffers: [x.buffer, w.buffer, bias ? bias.buffer : e.scratch, out.buffer],
    uniforms: params(g, !!bias, relu),
    workgroups: grid(invocations, WG),
    label: `conv2d(${describe(g)})`,
  });
  return out;
}

/** The forward conv as the gathered GEMM's problem. */
const forwardGemm = (g: ConvGeometry): GatheredGemm => ({
  G: g.G, M: g.K / g.G, TY: g.KH, TX: g.KW, N: g.N, colH: g.OH, colW: g.OW,
  srcC: g.C, srcCG: g.C / g.G, srcH: g.H, srcW: g.W,
  colStrideY: g.SH, colStrideX: g.SW, tapStrideY: g.DH, tapStrideX: g.DW, offY: -g.PT, offX: -g.PL,
  phaseRows: g.K / g.G, phasesX: 1, dstC: g.K, dstH: g.OH, dstW: g.OW, dstSy: 1, dstSx: 1,
});

/**
 * conv(x) + bias + residual (and its ReLU with `relu`) with the residual added in the GEMM's output write (a
 * residual block's sum: no pass of its own), or null where this layer and adapter do not run the subgroup GEMM.
 */
export function conv2dResidualKernel(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, residual: Tensor, relu: boolean): Tensor | null {
  if (isDepthwise(g) || !useSubgroup(`conv2d(${describe(g)})`)) return null;
  const out = Tensor.empty([g.N, g.K, g.OH, g.OW]);
  gatheredGemm(x, w, bias, out, `conv2d+add${relu ? '+relu' : ''}[subgroup](${describe(g)})`, forwardGemm(g), relu, { prev: residual });
  return out;
}

/**
 * dx[N,C,H,W] from dy[N,K,OH,OW] and w[K,C/G,KH,KW]: conv2d's input gradient, which is also
 * convTranspose2d's forward (then `bias` is added per output channel C).
 */
export function conv2dGradInputKernel(dy: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const e = engine();
  if (isPointwise(g) && !bias) {
    // A 1×1 conv's input gradient is a plain product, dx[n] = wᵀ · dy[n]: the matmul kernels serve it
    // better than the gathered GEMM (pointwise layers are half of MobileNet's work).
    return matmulKernel({ a: w, b: dy, batch: g.N, M: g.C, N: g.H * g.W, K: g.K, transA: true, transB: false, aBatchStride: 0, bBatchStride: g.K * g.H * g.W, outShape: [g.N, g.C, g.H, g.W] });
  }
  if (!isDepthwise(g)) {
    const gemm = gradInputSubgroup(dy, w, bias, g, {});
    if (gemm) return gemm;
  }
  const out = Tensor.empty([g.N, g.C, g.H, g.W]);
  if (isDepthwise(g)) {
    depthwise(dy, w, bias, out, g, true, false, `conv2d.gradInput[depthwise](${describe(g)})`);
    return out;
  }
  const TCI = block(g.C / g.G);
  const TP = 8;
  const blocks = Math.ceil(Math.ceil(g.W / g.SW) / TP) * g.SW * g.H * Math.ceil(g.C / g.G / TCI) * g.G * g.N;
  // 16384 invocations of 64 accumulators fill a large GPU; each split keeps at least 4 channels of dy.
  const split = splitFor(blocks, g.K / g.G, 1, 16384, 4);
  const invocations = blocks * split.splits;
  const WG = wgFor(invocations);
  const pipe = shaderPipeline('conv_transpose2d', { TCI, TP, TCITP: TCI * TP, WG });
  withSplits(out, split, bias, g.H * g.W, g.C, false, (target) =>
    e.dispatch({
      pipeline: pipe,
      buffers: [dy.buffer, w.buffer, bias ? bias.buffer : e.scratch, target.buffer],
      uniforms: params(g, !!bias, false, split),
      workgroups: grid(invocations, WG),
      label: `conv2d.gradInput(${describe(g)})${split.splits > 1 ? ` split ${split.splits}` : ''}`,
    }),
  );
  return out;
}

/**
 * dx as conv2dGradInputKernel computes it, with `epi` folded into the GEMM's output write, or null where this
 * layer and adapter do not run the subgroup GEMM (the caller then adds and masks with passes of its own).
 */
export function conv2dGradInputFused(dy: Tensor, w: Tensor, g: ConvGeometry, epi: GradEpilogue): Tensor | null {
  return isPointwise(g) || isDepthwise(g) ? null : gradInputSubgroup(dy, w, null, g, epi);
}

/** The input gradient (all stride phases in one GEMM) on the subgroup kernel, or null where it does not apply. */
function gradInputSubgroup(dy: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, epi: GradEpilogue): Tensor | null {
  const ty = mergedTaps(g.H, g.SH, g.KH, g.DH, g.PT);
  const tx = mergedTaps(g.W, g.SW, g.KW, g.DW, g.PL);
  if (!ty || !tx || !useSubgroup(`conv2d.gradInput(${describe(g)})`)) return null;
  const CG = g.C / g.G;
  const out = Tensor.empty([g.N, g.C, g.H, g.W]);
  const a = w.derived(`conv.gradInput ${g.G} ${g.K / g.G} ${CG} ${g.KH}×${g.KW} ${JSON.stringify([ty, tx])}`, () => phaseWeights(w, g, ty, tx));
  gatheredGemm(dy, a, bias, out, `conv2d.gradInput[subgroup](${describe(g)})`, {
    G: g.G, M: ty.phases.length * tx.phases.length * CG, TY: ty.taps, TX: tx.taps, N: g.N, colH: ty.outputs, colW: tx.outputs,
    srcC: g.K, srcCG: g.K / g.G, srcH: g.OH, srcW: g.OW,
    colStrideY: 1, colStrideX: 1, tapStrideY: -ty.srcStep, tapStrideX: -tx.srcStep, offY: ty.srcOffset, offX: tx.srcOffset,
    phaseRows: CG, phasesX: tx.phases.length, dstC: g.C, dstH: g.H, dstW: g.W, dstSy: g.SH, dstSx: g.SW,
  }, false, epi);
  return out;
}

/**
 * dw[K,C/G,KH,KW] = Σ over batch and output pixels of dy ⊗ input patches: the subgroup GEMM under the 'subgroup'
 * variant (depthwise layers, one row per group, excepted), else register blocks (shaders/conv2d_grad_filter.wgsl).
 */
export function conv2dGradFilterKernel(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  if (!isDepthwise(g) && useSubgroup(`conv2d.gradFilter(${describe(g)})`)) {
    const gemm = gradFilterSubgroup(x, dy, g);
    if (gemm) return gemm;
  }
  const e = engine();
  const out = Tensor.empty([g.K, g.C / g.G, g.KH, g.KW]);
  const TCO = block(g.K / g.G);
  const TR = 8;
  const pipe = shaderPipeline('conv2d_grad_filter', { TCO, TR, TCOTR: TCO * TR });
  const blocks = Math.ceil(((g.C / g.G) * g.KH * g.KW) / TR) * Math.ceil(g.K / g.G / TCO) * g.G;
  // The reduction runs over batch × output rows; a split is a band of at least 2 rows (of every image).
  const split = splitFor(blocks, g.OH, 1, 16384, 2);
  withSplits(out, split, null, 1, 1, false, (target) =>
    e.dispatch({
      pipeline: pipe,
      buffers: [x.buffer, dy.buffer, target.buffer],
      uniforms: params(g, false, false, split),
      workgroups: grid(blocks * split.splits, 16),
      label: `conv2d.gradFilter(${describe(g)})${split.splits > 1 ? ` split ${split.splits}` : ''}`,
    }),
  );
  return out;
}
