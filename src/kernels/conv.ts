// conv2d forward, backward-data (= transposed conv) and backward-filter kernels, NCHW.
// Shapes travel as uniforms, so one pipeline per block-size choice serves every layer.
import { engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { Params, grid } from './params.ts';

export type ConvVariant = 'shared' | 'register';

let override: ConvVariant | null = null;

/** Forces the forward kernel variant (tests, benchmarks); null restores the per-adapter choice. */
export function setConvVariant(v: ConvVariant | null): void {
  override = v;
}

/** Workgroup-shared tiles on GPUs; register blocks without barriers on CPU drivers (barriers are costly there). */
export function convVariant(): ConvVariant {
  return override ?? (engine().adapter.isCpu ? 'register' : 'shared');
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

function params(g: ConvGeometry, hasBias: boolean): Uint32Array {
  return new Params()
    .u(g.N, g.C, g.H, g.W, g.K, g.OH, g.OW, g.G, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.PT, g.PL)
    .u(g.C / g.G, g.K / g.G, hasBias ? 1 : 0, 0)
    .build();
}

/**
 * Workgroup size: small layers (the 256×4×4 stage has 64 invocations) would otherwise fit in one workgroup,
 * which a CPU driver runs on one thread.
 */
const wgFor = (invocations: number) => (invocations < 4096 ? 16 : 64);

/** Register-block height: as many channels as the group has, up to 8 (3 RGB channels → a block of 3). */
const block = (n: number) => Math.min(n, 8);

const describe = (g: ConvGeometry) =>
  `x [${g.N},${g.C},${g.H},${g.W}] w [${g.K},${g.C / g.G},${g.KH},${g.KW}] stride ${g.SH}×${g.SW} dil ${g.DH}×${g.DW} pad ${g.PT},${g.PL},${g.PB},${g.PR} groups ${g.G}`;

/** y[N,K,OH,OW] = conv(x[N,C,H,W], w[K,C/G,KH,KW]) + bias[K]. */
export function conv2dKernel(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const e = engine();
  const out = Tensor.empty([g.N, g.K, g.OH, g.OW]);
  // A group too thin for a 64-row tile (depthwise) is better served by the register kernel everywhere.
  if (convVariant() === 'shared' && g.K / g.G >= 16) {
    e.dispatch({
      pipeline: e.pipeline('conv2d_shared', {}, ['read', 'read', 'read', 'write', 'uniform']),
      buffers: [x.buffer, w.buffer, bias ? bias.buffer : e.scratch, out.buffer],
      uniforms: params(g, !!bias),
      workgroups: [Math.ceil((g.N * g.OH * g.OW) / 64), Math.ceil(g.K / g.G / 64), g.G],
      label: `conv2d[shared](${describe(g)})`,
    });
    return out;
  }
  const TCO = block(g.K / g.G);
  const TP = 8;
  const invocations = Math.ceil((g.OH * g.OW) / TP) * Math.ceil(g.K / g.G / TCO) * g.G * g.N;
  const WG = wgFor(invocations);
  const pipe = e.pipeline('conv2d', { TCO, TP, TCOTP: TCO * TP, WG }, ['read', 'read', 'read', 'write', 'uniform']);
  e.dispatch({
    pipeline: pipe,
    buffers: [x.buffer, w.buffer, bias ? bias.buffer : e.scratch, out.buffer],
    uniforms: params(g, !!bias),
    workgroups: grid(invocations, WG),
    label: `conv2d(${describe(g)})`,
  });
  return out;
}

/**
 * dx[N,C,H,W] from dy[N,K,OH,OW] and w[K,C/G,KH,KW]: conv2d's input gradient, which is also
 * convTranspose2d's forward (then `bias` is added per output channel C).
 */
export function conv2dGradInputKernel(dy: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const e = engine();
  const out = Tensor.empty([g.N, g.C, g.H, g.W]);
  const TCI = block(g.C / g.G);
  const TP = 8;
  const invocations = Math.ceil(Math.ceil(g.W / g.SW) / TP) * g.SW * g.H * Math.ceil(g.C / g.G / TCI) * g.G * g.N;
  const WG = wgFor(invocations);
  const pipe = e.pipeline('conv_transpose2d', { TCI, TP, TCITP: TCI * TP, WG }, ['read', 'read', 'read', 'write', 'uniform']);
  e.dispatch({
    pipeline: pipe,
    buffers: [dy.buffer, w.buffer, bias ? bias.buffer : e.scratch, out.buffer],
    uniforms: params(g, !!bias),
    workgroups: grid(invocations, WG),
    label: `conv2d.gradInput(${describe(g)})`,
  });
  return out;
}

/** dw[K,C/G,KH,KW] = Σ over batch and output pixels of dy ⊗ input patches. */
export function conv2dGradFilterKernel(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const e = engine();
  const out = Tensor.empty([g.K, g.C / g.G, g.KH, g.KW]);
  const TCO = block(g.K / g.G);
  const TR = 8;
  const pipe = e.pipeline('conv2d_grad_filter', { TCO, TR, TCOTR: TCO * TR }, ['read', 'read', 'write', 'uniform']);
  const invocations = Math.ceil(((g.C / g.G) * g.KH * g.KW) / TR) * Math.ceil(g.K / g.G / TCO) * g.G;
  e.dispatch({
    pipeline: pipe,
    buffers: [x.buffer, dy.buffer, out.buffer],
    uniforms: params(g, false),
    workgroups: grid(invocations, 16),
    label: `conv2d.gradFilter(${describe(g)})`,
  });
  return out;
}

export { fmt };
