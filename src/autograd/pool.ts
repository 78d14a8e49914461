// Differentiable pooling: maxPool2d, avgPool2d, globalAvgPool (NCHW).
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { poolKernel, poolGradKernel, type PoolGeometry, type PoolKind } from '../kernels/pool.ts';
import { record, gradFacts } from './tape.ts';
import { mean } from './ops.ts';

type Pair = number | [number, number];

export interface PoolOptions {
  kernel: Pair;
  /** Default: the kernel size. */
  stride?: Pair;
  /** A number or [top, left, bottom, right]. */
  padding?: number | [number, number, number, number];
  dilation?: Pair;
  /** ONNX ceil_mode: round the output size up (the last window may overhang the padding). */
  ceilMode?: boolean;
}

export interface AvgPoolOptions extends PoolOptions {
  /** Divide by the padded window size (ONNX count_include_pad = 1) instead of the real pixels in it. */
  countIncludePad?: boolean;
}

const pair = (v: Pair | undefined, d: [number, number]): [number, number] => (v === undefined ? d : typeof v === 'number' ? [v, v] : v);

function geometry(op: string, x: Tensor, o: PoolOptions): PoolGeometry {
  x.assertLive(op);
  if (x.rank !== 4) throw new RangeError(`${op}: input must be NCHW (rank 4), got ${fmt(x.shape)}`);
  const [N, C, H, W] = x.shape;
  const [KH, KW] = pair(o.kernel, [1, 1]);
  const [SH, SW] = pair(o.stride, [KH, KW]);
  const [DH, DW] = pair(o.dilation, [1, 1]);
  const pads = o.padding === undefined ? [0, 0, 0, 0] : typeof o.padding === 'number' ? [o.padding, o.padding, o.padding, o.padding] : o.padding;
  const [PT, PL, PB, PR] = pads;
  if ([KH, KW, SH, SW, DH, DW].some((v) => !Number.isInteger(v) || v < 1) || pads.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new RangeError(`${op}: kernel, stride and dilation must be positive integers and padding non-negative`);
  }
  const effH = (KH - 1) * DH + 1;
  const effW = (KW - 1) * DW + 1;
  if (effH > H + PT + PB || effW > W + PL + PR) {
    throw new RangeError(`${op}: window ${effH}×${effW} is larger than the padded input ${H + PT + PB}×${W + PL + PR} of ${fmt(x.shape)}`);
  }
  const size = (n: number, eff: number, s: number, lo: number, hi: number) => {
    const span = n + lo + hi - eff;
    let out = (o.ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    // A window must start inside the input or its leading padding (ONNX / PyTorch rule).
    if (o.ceilMode && (out - 1) * s >= n + lo) out--;
    return out;
  };
  return { N, C, H, W, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, OH: size(H, effH, SH, PT, PB), OW: size(W, effW, SW, PL, PR) };
}

function pool(kind: PoolKind, x: Tensor, o: PoolOptions, countPad: boolean): Tensor {
  const op = `${kind}Pool2d`;
  const g = geometry(op, x, o);
  const [y, arg] = poolKernel(kind, x, g, countPad);
  if (arg) y.own(arg);
  return record(op, [x], y, (dy) => {
    // x a ReLU's output: its gradient mask applied in the same pass (tape.ts gradFacts), the ReLU's skipped.
    const mask = gradFacts.fuse && gradFacts.reluOutputs.has(x) ? x : undefined;
    const dx = poolGradKernel(kind, dy, arg, g, countPad, mask);
    if (mask) gradFacts.maskedBy.set(dx, mask);
    return [dx];
  });
}

/** Max pooling; the gradient goes to the first maximum of each window; padding never wins. */
export function maxPool2d(x: Tensor, o: PoolOptions): Tensor {
  return pool('max', x, o, false);
}

/** Average pooling of x [N,C,H,W]; padding counts only with `countIncludePad`. */
export function avgPool2d(x: Tensor, o: AvgPoolOptions): Tensor {
  if (o.dilation !== undefined && pair(o.dilation, [1, 1]).some((d) => d !== 1)) throw new RangeError('avgPool2d: dilation is not supported');
  return pool('avg', x, o, o.countIncludePad ?? false);
}

/** [N,C,H,W] → [N,C,1,1] mean over each plane. */
export function globalAvgPool(x: Tensor): Tensor {
  x.assertLive('globalAvgPool');
  if (x.rank !== 4) throw new RangeError(`globalAvgPool: input must be NCHW (rank 4), got ${fmt(x.shape)}`);
  return mean(x, [2, 3], true);
}
