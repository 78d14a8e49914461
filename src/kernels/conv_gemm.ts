// The gathered GEMM behind the subgroup conv kernels (forward and input gradient): the problem, the choice
// between its two shaders and their block sizes.
import { engine } from '../tensor/engine.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { packParams, grid } from './params.ts';
import { SUBGROUP_WIDTH } from './subgroups.ts';
import { shaderPipeline } from './preprocess.ts';

/** What the input gradient's GEMM may fold into its output write: see shaders/conv_subgroup.wgsl. */
export interface GradEpilogue {
  /** A gradient already accumulated for dx, added to it. */
  prev?: Tensor;
  /** dx zeroed where this tensor (a ReLU's output, dx's shape) is not positive: the ReLU's gradient pass. */
  mask?: Tensor;
}

/** A conv (forward) or its input gradient (all stride phases) as a gathered GEMM: see shaders/conv_subgroup.wgsl. */
export interface GatheredGemm {
  G: number; M: number; TY: number; TX: number; N: number; colH: number; colW: number;
  srcC: number; srcCG: number; srcH: number; srcW: number;
  colStrideY: number; colStrideX: number; tapStrideY: number; tapStrideX: number; offY: number; offX: number;
  phaseRows: number; phasesX: number; dstC: number; dstH: number; dstW: number; dstSy: number; dstSx: number;
}

/**
 * out[n, g·M + row, …] = Σ_r A[g, row, r] · B[r, (n, pixel)] (+ bias) with A dense [G, M, R]: in blocks of 8,
 * 16 or 32 rows × 32 or 64 pixels, a quad of pixels per lane (gemmBlock), or where there are too few quads
 * for the subgroup's lanes, in blocks of 8–32 rows × up to 16 pixels, rows per lane (rowsBlock).
 */
export function gatheredGemm(src: Tensor, A: Tensor, bias: Tensor | null, out: Tensor, label: string, m: GatheredGemm, relu = false, epi: GradEpilogue = {}): void {
  const colQuads = Math.ceil(m.colW / 4);
  const quads = m.N * m.colH * colQuads;
  if (quads === 0) return;
  const TX = Math.max(m.TX, 1);
  const span = 3 * m.colStrideX + (TX - 1) * Math.abs(m.tapStrideX) + 1;
  const e = engine();
  const uniforms = packParams('conv_subgroup', { ...m, R: m.srcCG * m.TY * m.TX, quads, colQuads, hasBias: bias ? 1 : 0, relu: relu ? 1 : 0 });
  const defines = {
    TY: Math.max(m.TY, 1), TX, CSX: m.colStrideX, TSX: m.tapStrideX,
    EPILOGUE: !!(epi.prev || epi.mask), ADD_PREV: !!epi.prev, MASK: !!epi.mask,
  };
  const extra = defines.EPILOGUE ? [epi.prev?.buffer ?? e.scratch, epi.mask?.buffer ?? e.scratch] : [];
  const rows = rowsBlock(m.M, m.G, quads, span);
  const kernel = rows
    ? { shader: 'conv_subgroup_rows', defines: { ...defines, RPL: rows.RPL, QB: rows.QB }, quadsPerBlock: rows.QB, rowsPerBlock: SUBGROUP_WIDTH * rows.RPL }
    : ((b) => ({
        shader: 'conv_subgroup',
        defines: { ...defines, FRAGS: b.frags, MORE_THAN_8_ROWS: b.frags >= 2, MORE_THAN_16_ROWS: b.frags === 4, QPL: b.QPL },
        quadsPerBlock: SUBGROUP_WIDTH * b.QPL,
        rowsPerBlock: 8 * b.frags,
      }))(gemmBlock(m.M, TX, span, quads));
  const [wx, wy] = grid(quads, kernel.quadsPerBlock, e.limits.maxComputeWorkgroupsPerDimension ?? 65535);
  e.dispatch({
    pipeline: shaderPipeline(kernel.shader, kernel.defines),
    buffers: [src.buffer, A.buffer, bias ? bias.buffer : e.scratch, out.buffer, ...extra],
    uniforms,
    workgroups: [wx, wy, Math.ceil(m.M / kernel.rowsPerBlock) * m.G],
    label,
  });
}

/**
 * The rows-per-lane kernel's block (shaders/conv_subgroup_rows.wgsl), or null where the quads fill the pixel
 * kernel's 8 lanes (at 8 quads, 256 channels of 4×4 at batch 2, the pixel kernel with one quad per lane was
 * the faster; at 4, batch 1, the rows kernel): QB quads (up to 4, their windows of `span` values no more than
 * 40, so that the shader's loops unroll), and the most rows per lane (4, 2, 1) that still leave 8 workgroups
 * for the driver's threads.
 */
function rowsBlock(M: number, G: number, quads: number, span: number): { RPL: number; QB: number } | null {
  if (quads >= SUBGROUP_WIDTH) return null;
  const QB = Math.max(1, Math.min(quads, 4, Math.floor(40 / span)));
  const RPL = [4, 2, 1].find((r) => Math.ceil(M / (SUBGROUP_WIDTH * r)) * Math.ceil(quads / QB) * G >= 8) ?? 1;
  return { RPL, QB };
}

/**
 * The gathered GEMM's block: 8·frags rows (up to 32, no more than M needs) × 32·QPL pixels (QPL 1 or 2) of a
 * subgroup. Per (channel, tap row) pair of TX taps, whose source window spans `span` values, a lane makes
 * frags·TX loads of A and QPL·span of B for 8·frags·TX·QPL products: big blocks load less per product, but
 * their fully unrolled loop grows, and lavapipe runs a loop past its 32 KiB instruction cache slower than its
 * instruction count predicts (7×7 stride 2 forward: 16.5 ms with 32 rows × 64 pixels, 74 KiB of loop; 12.5 ms
 * with 16 × 32, 34 KiB). The loop's size as its machine code measured: about 1 KB per load (8 lanes) and 480
 * B per 8 products. The block that loads least per product made among those whose loop fits (2.4 → 1.9 ms
 * for 256 channels of 4×4 at batch 2, fwd + dx, where a QPL = 2 block left half its slots empty); the smallest
 * loop if none does.
 */
function gemmBlock(M: number, TX: number, span: number, quads: number): { frags: number; QPL: number } {
  const blocks = [1, 2, 4].filter((f) => f === 1 || M > 4 * f).flatMap((frags) => [1, 2].map((QPL) => ({ frags, QPL })));
  const bytes = (b: { frags: number; QPL: number }) => 1000 * (b.frags * TX + b.QPL * span) + 480 * b.frags * TX * b.QPL;
  // Loads per product over the share of the grid's quad slots that hold quads (8 quads fill one QPL = 1 block
  // and half a QPL = 2 one).
  const slots = (b: { QPL: number }) => SUBGROUP_WIDTH * b.QPL;
  const used = (b: { QPL: number }) => quads / (Math.ceil(quads / slots(b)) * slots(b));
  const loads = (b: { frags: number; QPL: number }) => (1 / b.QPL + span / (b.frags * TX)) / used(b);
  const fit = blocks.filter((b) => bytes(b) <= 36000);
  return fit.length ? fit.reduce((x, y) => (loads(y) < loads(x) ? y : x)) : blocks.reduce((x, y) => (bytes(y) < bytes(x) ? y : x));
}
