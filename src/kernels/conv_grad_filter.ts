// conv2d's filter gradient as a subgroup GEMM for lavapipe (shaders/conv_grad_filter_subgroup.wgsl): its
// operands padded into aligned rows first, its layout chosen per filter shape. conv.ts's conv2dGradFilterKernel
// calls it under the 'subgroup' variant.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { packParams, grid } from './params.ts';
import { SUBGROUP_WIDTH } from './subgroups.ts';
import { shaderPipeline } from './preprocess.ts';
import { withSplits, describe, type ConvGeometry, type Split } from './conv.ts';

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

/** Uniforms of shaders/conv_grad_filter_subgroup.wgsl: one struct for its GEMM and its PAD entry, unused fields 0. */
type GradFilterParams = Parameters<typeof packParams<'conv_grad_filter_subgroup'>>[1];
const GRAD_FILTER_UNUSED: GradFilterParams = {
  N: 0, C: 0, K: 0, CG: 0, KG: 0, OH: 0, OWp: 0, Hp: 0, Wp: 0, cols: 0, KW: 0, R: 0, SH: 0, DH: 0, band: 0,
  phases: 0, planes: 0, inH: 0, inW: 0, outH: 0, outW: 0, outRows: 0, offY: 0, offX: 0, shiftX: 0,
};

/** The PAD entry's defines: the GEMM's are never read there, but the preprocessor asks for every one. */
const PAD_DEFINES = {
  PAD: true, KH: 1, T: 1, XQ: 1, CW: 1, XS: 1, SW: 1, DW: 1, FRAGS: 1, NG: 1, V: 'f32',
  CW1: true, CW2: false, CW3: false, NG2: false, MORE_THAN_8_ROWS: false, MORE_THAN_16_ROWS: false,
};

/** Workgroups the filter gradient's GEMM should have at least, its reduction split if need be: all CPU threads busy. */
const GRAD_FILTER_WORKGROUPS = 8;

/**
 * [copies, phases, planes, outH, outW] with out[s, r, plane, y, t] = src[plane, y − offY, r + phases·(t + s·shiftX) − offX],
 * zero outside src (outW a multiple of 4): the filter gradient GEMM's aligned operands.
 */
function padPlanes(src: Tensor, copies: number, phases: number, planes: number, inH: number, inW: number, outH: number, outW: number, offY: number, offX: number, shiftX: number, label: string): Tensor {
  const out = Tensor.empty([copies, phases, planes, outH, outW]);
  const outRows = copies * phases * planes * outH;
  engine().dispatch({
    pipeline: shaderPipeline('conv_grad_filter_subgroup', PAD_DEFINES),
    buffers: [src.buffer, out.buffer],
    uniforms: packParams('conv_grad_filter_subgroup', { ...GRAD_FILTER_UNUSED, phases, planes, inH, inW, outH, outW, outRows, offY, offX, shiftX }),
    workgroups: grid(outRows, 64),
    label,
  });
  return out;
}

/**
 * How the filter gradient GEMM reads a filter row: in T column phases of x (T = SW where taps DW = 1 apart
 * would otherwise be read SW apart, each phase then a stride-1 conv over every SW-th column), each phase's taps
 * in XQ runs of CW ≤ 4, each run's 4 output columns from WL vec4s of x read SWe apart, its taps DWe apart.
 * Phases where they need fewer loads per filter row (7×7 and 5×5 at stride 2: 4 instead of 6), else one.
 */
export function gradFilterLayout(g: Pick<ConvGeometry, 'KW' | 'SW' | 'DW'>) {
  const layout = (T: number, SWe: number, DWe: number) => {
    const taps = Math.ceil(g.KW / T);
    const XQ = Math.ceil(taps / 4);
    const CW = Math.ceil(taps / XQ);
    // Runs that would start inside a vec4 of x read shifted copies of it instead.
    const XS = XQ > 1 && (CW * DWe) % 4 !== 0 ? XQ : 1;
    const WL = Math.floor((3 * SWe + (CW - 1) * DWe + 4) / 4);
    return { T, XQ, CW, XS, SWe, DWe, WL, loads: T * XQ * WL, slots: T * XQ * CW };
  };
  const plain = layout(1, g.SW, g.DW);
  if (g.SW === 1 || g.DW !== 1) return plain;
  const phased = layout(g.SW, 1, 1);
  return phased.loads < plain.loads || (phased.loads === plain.loads && phased.slots < plain.slots) ? phased : plain;
}

/**
 * The filter gradient on the subgroup GEMM (shaders/conv_grad_filter_subgroup.wgsl), x and dy padded into
 * aligned rows first; null where the grid or a padded operand would exceed the device's limits.
 */
export function gradFilterSubgroup(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor | null {
  const e = engine();
  const CG = g.C / g.G;
  const KG = g.K / g.G;
  const { T, XQ, CW, XS, SWe, DWe, WL } = gradFilterLayout(g);
  const OWp = roundUp(g.OW, 4);
  // x padded and cropped to what the windows read: rows up to the last tap's, columns up to the last step's
  // last vec4 (x as it is would rarely do: its rows would have to hold those vec4s and start on one).
  const Hp = (g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1;
  const Wp = roundUp((OWp - 4) * SWe + (XS === 1 ? (XQ - 1) * CW * DWe : 0) + 4 * WL, 4);
  const frags = KG <= 8 ? 1 : KG <= 16 ? 2 : 4;
  // Two column groups per invocation where their accumulators stay within 192 (see the shader).
  const NG = 8 * frags * CW * 2 <= 192 ? 2 : 1;
  const cols = CG * g.KH * T * XQ;
  const colBlocks = Math.ceil(cols / (SUBGROUP_WIDTH * NG));
  const rowBlocks = Math.ceil(KG / (8 * frags));
  const maxDim = e.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  const maxBinding = e.limits.maxStorageBufferBindingSize ?? 128 * 2 ** 20;
  if (colBlocks > maxDim || rowBlocks * g.G > maxDim || 4 * XS * T * g.N * g.C * Hp * Wp > maxBinding || 4 * g.N * g.K * g.OH * OWp > maxBinding) return null;
  // Bands of at least 4 (image, output row) pairs.
  const rows = g.N * g.OH;
  const wanted = Math.max(1, Math.min(Math.floor(GRAD_FILTER_WORKGROUPS / (colBlocks * rowBlocks * g.G)), Math.floor(rows / 4), maxDim));
  const band = Math.ceil(rows / wanted);
  const split: Split = { splits: Math.ceil(rows / band), chunk: band };

  const xp = padPlanes(x, XS, T, g.N * g.C, g.H, g.W, Hp, Wp, g.PT, g.PL, CW * DWe, `conv2d.gradFilter.padX(${describe(g)})`);
  const dyp = OWp === g.OW ? dy : padPlanes(dy, 1, 1, g.N * g.K, g.OH, g.OW, g.OH, OWp, 0, 0, 0, `conv2d.gradFilter.padDy(${describe(g)})`);
  const defines = {
    PAD: false, KH: g.KH, T, XQ, CW, XS, SW: SWe, DW: DWe, FRAGS: frags, NG, V: CW === 1 ? 'f32' : `vec${CW}<f32>`,
    CW1: CW === 1, CW2: CW === 2, CW3: CW === 3, NG2: NG === 2, MORE_THAN_8_ROWS: frags >= 2, MORE_THAN_16_ROWS: frags === 4,
  };
  const out = Tensor.empty([g.K, CG, g.KH, g.KW]);
  withSplits(out, split, null, 1, 1, false, (target) =>
    e.dispatch({
      pipeline: shaderPipeline('conv_grad_filter_subgroup', defines),
      buffers: [xp.buffer, dyp.buffer, target.buffer],
      uniforms: packParams('conv_grad_filter_subgroup', {
        ...GRAD_FILTER_UNUSED, N: g.N, C: g.C, K: g.K, CG, KG, OH: g.OH, OWp, Hp, Wp, cols, KW: g.KW, R: CG * g.KH * g.KW, SH: g.SH, DH: g.DH, band,
      }),
      workgroups: [colBlocks, rowBlocks * g.G, split.splits],
      label: `conv2d.gradFilter[subgroup](${describe(g)})${split.splits > 1 ? ` split ${split.splits}` : ''}`,
    }),
  );
  xp.dispose();
  if (dyp !== dy) dyp.dispose();
  return out;
}
