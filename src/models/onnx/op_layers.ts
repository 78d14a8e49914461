// The ONNX ops that are layers of a network on the GPU (convolutions, pooling, reductions, resizing,
// normalisations, activations with attributes): how each reads its node's attributes and calls the engine.
// Their entries in op_table.ts name these functions.
import type { Tensor } from '../../tensor/tensor.ts';
import { fmt } from '../../tensor/shape.ts';
import * as O from '../../autograd/ops.ts';
import { conv2d, convTranspose2d, type Padding } from '../../autograd/conv.ts';
import { maxPool2d, avgPool2d } from '../../autograd/pool.ts';
import { affineAct } from '../../autograd/affine_act.ts';
import { warp, packAffines, type Affine } from '../../autograd/warp.ts';
import { OnnxError } from './load.ts';
import type { OpContext } from './op_table.ts';

export const fail = (c: OpContext, msg: string): never => {
  throw new OnnxError(`${c.where}: ${msg}`);
};

export const pair = (v: number[] | undefined, d = 1): [number, number] => (v && v.length >= 2 ? [v[0], v[1]] : [d, d]);

/** Axes of Squeeze/Unsqueeze/Reduce*: an input from `inputFrom` on, an attribute before. */
export const axesOf = (c: OpContext, inputFrom: number, input = 1) => (c.opset >= inputFrom ? c.ints(input) : c.intList('axes'));

/** ONNX pads / auto_pad → the engine's [top, left, bottom, right] or 'same'. */
export function convPadding(c: OpContext, kernel: number[], spatial?: number[], stride?: number[]): Padding {
  const auto = c.str('auto_pad', 'NOTSET');
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    if (!spatial) return auto === 'SAME_UPPER' ? 'same' : fail(c, 'auto_pad SAME_LOWER on a convolution is not supported; give explicit pads');
    const s = stride ?? [1, 1];
    const tot = spatial.map((n, i) => Math.max((Math.ceil(n / s[i]) - 1) * s[i] + kernel[i] - n, 0));
    const lo = tot.map((t) => (auto === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    return [lo[0], lo[1], tot[0] - lo[0], tot[1] - lo[1]];
  }
  if (auto !== 'NOTSET') fail(c, `auto_pad '${auto}' is not supported`);
  const pads = c.intList('pads');
  if (!pads) return [0, 0, 0, 0];
  if (pads.length !== 4) fail(c, `pads must have 4 values for a 2-D op, got ${pads.length}`);
  return [pads[0], pads[1], pads[2], pads[3]];
}

export function conv(c: OpContext, transpose: boolean, relu = false, residual?: Tensor): Tensor {
  const x = c.gpu(0);
  if (x.rank !== 4) fail(c, `only 2-D convolutions (NCHW input) are supported, got input ${fmt(x.shape)}`);
  const w = c.gpu(1);
  const b = c.has(2) ? c.gpu(2) : undefined;
  const kernel = c.intList('kernel_shape') ?? w.shape.slice(2);
  const common = { stride: pair(c.intList('strides')), dilation: pair(c.intList('dilations')), groups: c.int('group', 1), padding: convPadding(c, kernel) };
  if (!transpose) return conv2d(x, w, b, { ...common, relu, residual });
  if (c.intList('output_shape')) fail(c, 'ConvTranspose with output_shape is not supported; give pads and output_padding');
  return convTranspose2d(x, w, b, { ...common, outputPadding: pair(c.intList('output_padding'), 0) });
}

export function pool(c: OpContext, max: boolean): Tensor {
  const x = c.gpu(0);
  if (x.rank !== 4) fail(c, `only 2-D pooling (NCHW input) is supported, got ${fmt(x.shape)}`);
  const kernel = c.intList('kernel_shape');
  if (!kernel || kernel.length !== 2) fail(c, 'kernel_shape must have 2 values');
  const padding = convPadding(c, kernel!, x.shape.slice(2), c.intList('strides')) as [number, number, number, number];
  const o = { kernel: pair(kernel), stride: pair(c.intList('strides')), padding, ceilMode: c.int('ceil_mode', 0) === 1, dilation: pair(c.intList('dilations')) };
  if (max) {
    if (c.outputs.length > 1 && c.outputs[1]) fail(c, 'the Indices output of MaxPool is not supported');
    return maxPool2d(x, o);
  }
  return avgPool2d(x, { ...o, dilation: undefined, countIncludePad: c.int('count_include_pad', 0) === 1 });
}

export function reduce(kind: 'mean' | 'sum' | 'max' | 'l2' | 'sumsquare', axesInputFrom: number) {
  return (c: OpContext) => {
    const x = c.gpu(0);
    let axes = axesOf(c, axesInputFrom);
    const keep = c.int('keepdims', 1) === 1;
    if (!axes || axes.length === 0) {
      if (c.int('noop_with_empty_axes', 0) === 1) return x;
      axes = undefined;
    }
    if (kind === 'mean') return O.mean(x, axes, keep);
    if (kind === 'sum') return O.sum(x, axes, keep);
    if (kind === 'max') return O.max(x, axes, keep);
    const ss = O.sum(O.square(x), axes, keep);
    return kind === 'l2' ? O.sqrt(ss) : ss;
  };
}

/** Resize/Upsample of NCHW maps in H and W: linear through the warp (every coordinate mode is affine), nearest by repetition at integer scales. */
export function resize(c: OpContext, upsample: boolean): Tensor {
  const x = c.gpu(0);
  if (x.rank !== 4) fail(c, `only NCHW inputs are supported, got ${fmt(x.shape)}`);
  const [N, C, H, W] = x.shape;
  // Opsets 11+ (OPSET_FLOOR): Upsample(X, scales), Resize(X, roi, scales, sizes).
  const given = (i: number) => (c.has(i) && c.host(i).data.length ? Array.from(c.host(i).data, Number) : undefined);
  let scales = given(upsample ? 1 : 2);
  const sizes = upsample ? undefined : given(3);
  if (sizes) scales = sizes.map((s, i) => s / x.shape[i]);
  if (!scales || scales.length !== 4) return fail(c, 'needs 4 scales or sizes');
  if (scales[0] !== 1 || scales[1] !== 1) fail(c, `only H and W can be resized, got scales [${scales}]`);
  const OH = sizes ? sizes[2] : Math.floor(H * scales[2]);
  const OW = sizes ? sizes[3] : Math.floor(W * scales[3]);
  const mode = c.str('mode', 'nearest');
  const ct = c.opset >= 11 ? c.str('coordinate_transformation_mode', 'half_pixel') : 'asymmetric';
  if (mode === 'nearest') {
    // Repetition is exact when every output pixel picks floor(o / s), as torch's exports (asymmetric, floor)
    // and half-pixel rounding do at integer scales; other maps are refused by name.
    const [sy, sx] = [OH / H, OW / W];
    const nm = c.str('nearest_mode', 'round_prefer_floor');
    const pick = (o: number, s: number, n: number, on: number) => {
      const u = ct === 'asymmetric' ? o / s : ct === 'align_corners' ? (on > 1 ? (o * (n - 1)) / (on - 1) : 0) : (o + 0.5) / s - 0.5;
      const k = nm === 'floor' ? Math.floor(u) : nm === 'ceil' ? Math.ceil(u) : nm === 'round_prefer_ceil' ? Math.round(u) : Math.ceil(u - 0.5);
      return Math.min(Math.max(k, 0), n - 1);
    };
    const repeats = (s: number, n: number, on: number) => Number.isInteger(s) && Array.from({ length: on }, (_, o) => pick(o, s, n, on) === Math.floor(o / s)).every(Boolean);
    if (!repeats(sy, H, OH) || !repeats(sx, W, OW)) {
      fail(c, `nearest resizing ${H}×${W} → ${OH}×${OW} (${ct}, ${nm}) is supported only where it repeats pixels (integer scales)`);
    }
    const rep = O.expand(O.reshape(x, [N, C, H, 1, W, 1]), [N, C, H, sy, W, sx]);
    return O.reshape(rep, [N, C, OH, OW]);
  }
  if (mode !== 'linear') fail(c, `Resize mode '${mode}' is not supported (nearest, linear)`);
  // Input pixel-centre coordinate (k + ½) as an affine map of the output's, per axis.
  const axis = (n: number, o: number, s: number): [number, number] => {
    switch (ct) {
      case 'half_pixel':
        return [1 / s, 0];
      case 'pytorch_half_pixel':
        return o > 1 ? [1 / s, 0] : [0, 0.5];
      case 'align_corners':
        return o > 1 ? [(n - 1) / (o - 1), 0.5 - (0.5 * (n - 1)) / (o - 1)] : [0, 0.5];
      case 'asymmetric':
        return [1 / s, 0.5 - 0.5 / s];
      default:
        return fail(c, `coordinate_transformation_mode '${ct}' is not supported`);
    }
  };
  const [ay, by] = axis(H, OH, sizes ? OH / H : scales[2]);
  const [ax, bx] = axis(W, OW, sizes ? OW / W : scales[3]);
  const m: Affine = [ax, 0, bx, 0, ay, by];
  if (ax === 0 || ay === 0) fail(c, 'resizing to a single row or column is not supported');
  const mats = c.constant(`resize:${N}`, packAffines(Array.from({ length: N }, () => m)), [N, 12]);
  return warp(x, mats, OH, OW);
}

export function batchNorm(c: OpContext): Tensor {
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => (c.has(i) && c.isHost(i) ? c.host(i) : undefined));
  if (!scale || !bias || !mean || !variance) fail(c, 'BatchNormalization parameters must be constants (inference mode)');
  const eps = c.float('epsilon', 1e-5);
  const x = c.gpu(0);
  const C = scale!.data.length;
  if (x.rank < 2 || x.shape[1] !== C) fail(c, `${C} channels of parameters for input ${fmt(x.shape)}`);
  const s = Float32Array.from(scale!.data, (v, k) => Number(v) / Math.sqrt(Number(variance!.data[k]) + eps));
  const params = {
    bias: c.constant('neg_mean', Float32Array.from(mean!.data, (v) => -Number(v)), [C]),
    scale: c.constant('scale', s, [C]),
    shift: c.constant('shift', Float32Array.from(bias!.data, Number), [C]),
    relu: false,
  };
  if (x.rank === 4) return affineAct(x, params);
  // [N, C] or [N, C, L]: view as NCHW.
  return O.reshape(affineAct(O.reshape(x, [x.shape[0], C, x.size / (x.shape[0] * C), 1]), params), x.shape);
}

export function instanceNorm(c: OpContext): Tensor {
  const x = c.gpu(0);
  if (x.rank < 3) fail(c, `needs [N, C, …] input, got ${fmt(x.shape)}`);
  const axes = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
  const centred = O.sub(x, O.mean(x, axes, true));
  const norm = O.div(centred, O.sqrt(O.add(O.mean(O.square(centred), axes, true), c.float('epsilon', 1e-5))));
  const perChannel = [x.shape[1], ...axes.map(() => 1)];
  return O.add(O.mul(norm, O.reshape(c.gpu(1), perChannel)), O.reshape(c.gpu(2), perChannel));
}

export function prelu(c: OpContext): Tensor {
  const x = c.gpu(0);
  let slope = c.gpu(1);
  // A 1-D slope of one value per channel that would not broadcast onto the last axis is meant per channel
  // (some converters write [C] where the spec wants [C,1,1]).
  if (slope.rank === 1 && x.rank >= 3 && slope.shape[0] === x.shape[1] && slope.shape[0] !== x.shape[x.rank - 1] && slope.shape[0] !== 1) {
    slope = O.reshape(slope, [slope.shape[0], ...Array(x.rank - 2).fill(1)]);
  }
  // The slope broadcasts unidirectionally onto x.
  return O.prelu(x, slope);
}

/**
 * erf from engine ops: Numerical Recipes' erfc Chebyshev fit (fractional error < 1.2e-7), odd by a sign that is
 * a clamp of a huge multiple of x (its gradient is zero wherever x ≠ 0, as the sign's is).
 */
export function erf(x: Tensor): Tensor {
  const z = O.abs(x);
  const t = O.div(1, O.add(O.mul(z, 0.5), 1));
  const coeffs = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
  let poly = O.mul(t, coeffs[9]);
  for (let k = 8; k >= 1; k--) poly = O.mul(t, O.add(poly, coeffs[k]));
  const erfc = O.mul(t, O.exp(O.sub(O.add(poly, coeffs[0]), O.square(z))));
  return O.mul(O.clamp(O.mul(x, 1e30), -1, 1), O.sub(1, erfc));
}

export function gelu(c: OpContext): Tensor {
  const x = c.gpu(0);
  if (c.str('approximate', 'none') === 'tanh') {
    const inner = O.mul(O.add(x, O.mul(O.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return O.mul(O.mul(x, 0.5), O.add(O.tanh(inner), 1));
  }
  return O.mul(O.mul(x, 0.5), O.add(erf(O.mul(x, Math.SQRT1_2)), 1));
}

export function clipBounds(c: OpContext): [number, number] {
  const bound = (i: number, name: string, d: number) => {
    if (c.opset < 11) return c.float(name, d);
    if (!c.has(i)) return d;
    if (!c.isHost(i)) fail(c, `the ${name} input must be a constant`);
    return Number(c.host(i).data[0]);
  };
  return [Math.max(bound(1, 'min', -Infinity), -3.4e38), Math.min(bound(2, 'max', Infinity), 3.4e38)];
}
