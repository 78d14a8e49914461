// Differentiable conv2d and convTranspose2d (the paper's deconvolution), NCHW with ONNX weight layouts.
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { conv2dKernel, conv2dResidualKernel, conv2dGradInputKernel, conv2dGradInputFused, conv2dGradFilterKernel, type ConvGeometry } from '../kernels/conv.ts';
import { record, gradFacts, reluGrad } from './tape.ts';
import { sum, add, addRelu } from './ops.ts';

export type Pair = number | [number, number];
/** A number (all sides), [top, left, bottom, right], or TensorFlow's 'same' (extra at bottom/right) / 'valid'. */
export type Padding = number | [number, number, number, number] | 'same' | 'valid';

export interface ConvOptions {
  stride?: Pair;
  dilation?: Pair;
  padding?: Padding;
  groups?: number;
}

export interface Conv2dOptions extends ConvOptions {
  /**
   * max(y, 0) written by the convolution itself (a following ReLU fused: one pass less each way). The gradient
   * is masked by y > 0, the same mask as a separate ReLU's.
   */
  relu?: boolean;
  /**
   * A tensor added to the output (before the ReLU, with `relu`): conv + bias + residual, a residual block's sum,
   * written by the convolution where its kernel can and the residual has y's shape (else conv, then add or
   * addRelu, which broadcast).
   */
  residual?: Tensor;
}

export interface ConvTransposeOptions extends ConvOptions {
  /** Extra rows/columns at the bottom/right of the output (e.g. 1 so that stride 2 maps 2ⁿ to 2ⁿ⁺¹). */
  outputPadding?: Pair;
}

const pair = (v: Pair | undefined, d: number): [number, number] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v);

function check(cond: boolean, op: string, msg: string): void {
  if (!cond) throw new RangeError(`${op}: ${msg}`);
}

function resolvePadding(op: string, p: Padding | undefined, H: number, W: number, k: [number, number], s: [number, number], d: [number, number]): [number, number, number, number] {
  if (p === undefined || p === 'valid') return [0, 0, 0, 0];
  if (p === 'same') {
    const total = (n: number, i: number) => Math.max((Math.ceil(n / s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - n, 0);
    const th = total(H, 0);
    const tw = total(W, 1);
    return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  }
  const pads = typeof p === 'number' ? [p, p, p, p] : p;
  check(pads.length === 4 && pads.every((v) => Number.isInteger(v) && v >= 0), op, `padding must be non-negative integers [top,left,bottom,right], got ${JSON.stringify(p)}`);
  return pads as [number, number, number, number];
}

function validate(op: string, x: Tensor, w: Tensor, bias: Tensor | undefined, groups: number): void {
  for (const t of [x, w, ...(bias ? [bias] : [])]) t.assertLive(op);
  check(x.rank === 4, op, `input must be NCHW (rank 4), got ${fmt(x.shape)}`);
  check(w.rank === 4, op, `weight must have rank 4, got ${fmt(w.shape)}`);
  check(Number.isInteger(groups) && groups >= 1, op, `groups must be a positive integer, got ${groups}`);
}

/** y = conv2d(x, w) + bias; x [N,C,H,W], w [K, C/groups, kh, kw], bias [K]. */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const op = opts.relu ? 'conv2d+relu' : 'conv2d';
  const G = opts.groups ?? 1;
  validate(op, x, w, bias, G);
  const [N, C, H, W] = x.shape;
  const [K, Cg, KH, KW] = w.shape;
  check(C % G === 0 && K % G === 0, op, `channels ${C} (input) and ${K} (output) must divide into ${G} groups`);
  check(Cg * G === C, op, `input ${fmt(x.shape)} has ${C} channels, weight ${fmt(w.shape)} expects ${Cg * G} (${Cg} per group × ${G} groups)`);
  check(!bias || (bias.rank === 1 && bias.shape[0] === K), op, `bias ${bias ? fmt(bias.shape) : ''} must be [${K}]`);
  const [SH, SW] = pair(opts.stride, 1);
  const [DH, DW] = pair(opts.dilation, 1);
  check(SH >= 1 && SW >= 1 && DH >= 1 && DW >= 1, op, 'stride and dilation must be ≥ 1');
  const [PT, PL, PB, PR] = resolvePadding(op, opts.padding, H, W, [KH, KW], [SH, SW], [DH, DW]);
  const effH = (KH - 1) * DH + 1;
  const effW = (KW - 1) * DW + 1;
  check(effH <= H + PT + PB && effW <= W + PL + PR, op, `kernel ${KH}×${KW} (dilated ${effH}×${effW}) is larger than the padded input ${H + PT + PB}×${W + PL + PR} of ${fmt(x.shape)}`);
  const g: ConvGeometry = {
    N, C, H, W, K, G, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR,
    OH: Math.floor((H + PT + PB - effH) / SH) + 1,
    OW: Math.floor((W + PL + PR - effW) / SW) + 1,
  };
  const r = opts.residual;
  r?.assertLive(op);
  // The kernel adds a residual of the output's own shape; one that broadcasts takes the separate sum.
  const fused = r && r.rank === 4 && [N, K, g.OH, g.OW].every((d, i) => r.shape[i] === d) ? conv2dResidualKernel(x, w, bias ?? null, g, r, !!opts.relu) : null;
  if (r && !fused) {
    const y = conv2d(x, w, bias, { ...opts, relu: false, residual: undefined });
    return opts.relu ? addRelu(y, r) : add(y, r);
  }
  const y = fused ?? conv2dKernel(x, w, bias ?? null, g, !!opts.relu);
  if (opts.relu) gradFacts.reluOutputs.add(y);
  const inputs = [x, w, ...(bias ? [bias] : []), ...(r ? [r] : [])];
  return record(r ? `conv2d+add${opts.relu ? '+relu' : ''}` : op, inputs, y, (dyOut, prior) => {
    const dy = opts.relu ? reluGrad(y, dyOut) : dyOut;
    const grads = [
      x.requiresGrad ? gradInput(dy, w, g, x, prior(0)) : null,
      w.requiresGrad ? conv2dGradFilterKernel(x, dy, g) : null,
      ...(bias ? [bias.requiresGrad ? sum(dy, [0, 2, 3]) : null] : []),
      // The sum's gradient to the residual is the masked gradient itself.
      ...(r ? [r.requiresGrad ? dy : null] : []),
    ];
    if (dy !== dyOut && !r?.requiresGrad) dy.dispose();
    return grads;
  });
}

/**
 * conv2d's input gradient with, where the kernel can fold them into its output write, the gradient x already
 * has (`prev`) added and the mask of the ReLU that made x applied: two element-wise passes fewer (tape.ts).
 */
function gradInput(dy: Tensor, w: Tensor, g: ConvGeometry, x: Tensor, prev: Tensor | undefined): Tensor {
  const mask = gradFacts.reluOutputs.has(x) ? x : undefined;
  const dx = gradFacts.fuse && (prev || mask) ? conv2dGradInputFused(dy, w, g, { prev, mask }) : null;
  if (!dx) return conv2dGradInputKernel(dy, w, null, g);
  if (prev) gradFacts.includes.set(dx, prev);
  if (mask) gradFacts.maskedBy.set(dx, mask);
  return dx;
}

/**
 * Transposed convolution (deconvolution): x [N,Cin,H,W], w [Cin, Cout/groups, kh, kw] (ONNX ConvTranspose),
 * bias [Cout]. Output size (H−1)·stride − padTop − padBottom + dilation·(k−1) + outputPadding + 1.
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias?: Tensor, opts: ConvTransposeOptions = {}): Tensor {
  const op = 'convTranspose2d';
  const G = opts.groups ?? 1;
  validate(op, x, w, bias, G);
  const [N, Cin, H, W] = x.shape;
  const [Cw, CoutG, KH, KW] = w.shape;
  check(Cw === Cin, op, `input ${fmt(x.shape)} has ${Cin} channels, weight ${fmt(w.shape)} expects ${Cw}`);
  check(Cin % G === 0, op, `input channels ${Cin} must divide into ${G} groups`);
  const Cout = CoutG * G;
  check(!bias || (bias.rank === 1 && bias.shape[0] === Cout), op, `bias ${bias ? fmt(bias.shape) : ''} must be [${Cout}]`);
  const [SH, SW] = pair(opts.stride, 1);
  const [DH, DW] = pair(opts.dilation, 1);
  const [OPH, OPW] = pair(opts.outputPadding, 0);
  check(OPH < Math.max(SH, DH) && OPW < Math.max(SW, DW) && OPH >= 0 && OPW >= 0, op, `outputPadding must be smaller than stride or dilation`);
  check(opts.padding !== 'same', op, `'same' padding is not defined for transposed convolution; give explicit pads`);
  const [PT, PL, PB, PR] = resolvePadding(op, opts.padding, H, W, [KH, KW], [SH, SW], [DH, DW]);
  const OH = (H - 1) * SH - PT - PB + DH * (KH - 1) + OPH + 1;
  const OW = (W - 1) * SW - PL - PR + DW * (KW - 1) + OPW + 1;
  check(OH > 0 && OW > 0, op, `output size ${OH}×${OW} is empty for input ${fmt(x.shape)}`);
  // The conv whose input gradient this is: input [N,Cout,OH,OW] → output [N,Cin,H,W] with weight w as
  // [Cin (its outputs), Cout/G (its inputs per group), kh, kw]; the bottom/right padding absorbs outputPadding.
  const g: ConvGeometry = { N, C: Cout, H: OH, W: OW, K: Cin, OH: H, OW: W, G, KH, KW, SH, SW, DH, DW, PT, PL, PB: PB - OPH, PR: PR - OPW };
  const y = conv2dGradInputKernel(x, w, bias ?? null, g);
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(op, inputs, y, (dy) => [
    x.requiresGrad ? conv2dKernel(dy, w, null, g) : null,
    w.requiresGrad ? conv2dGradFilterKernel(dy, x, g) : null,
    ...(bias ? [bias.requiresGrad ? sum(dy, [0, 2, 3]) : null] : []),
  ]);
}
