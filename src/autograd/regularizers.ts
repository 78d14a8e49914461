// Image regularisers of the paper: total variation (eq. 2, both forms), the Laplacian pyramid and its
// gradient normalisation (§3, §5.1), R_LP (appendix C, eq. 12) and the mirror regulariser.
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { tvKernel } from '../kernels/tv.ts';
import { resampleKernel, lapNormalizeKernel } from '../kernels/pyramid.ts';
import { record, noGrad } from './tape.ts';
import { add, sub, mul, div, pow, sum, mean, sqrt, square, maximum, full, slice, reshape, relu, clamp, tensor, clone } from './ops.ts';

export interface TvOptions {
  /** 'global': [Σ Δx² + Δy²]^(α/2) (the paper's eq. 2); 'pixel': Σ (Δx² + Δy² + ε)^(β/2) (Mahendran & Vedaldi). */
  form?: 'global' | 'pixel';
  /** Exponent α of the global form (default 2). */
  alpha?: number;
  /** Exponent β of the per-pixel form (default 2). */
  beta?: number;
  /** Added inside the per-pixel power so that β < 2 stays differentiable where the image is flat. */
  eps?: number;
  /** One value per image of the batch (axis 0), shape [N], instead of one scalar for the whole tensor. */
  perItem?: boolean;
}

/** Axes 1 … rank−1: everything of one batch item. */
const itemAxes = (x: Tensor) => Array.from({ length: x.rank - 1 }, (_, i) => i + 1);
/** [N] → [N, 1, …, 1] matching x's rank, to broadcast a per-item value over its item. */
const perItemShape = (x: Tensor) => [x.shape[0], ...itemAxes(x).map(() => 1)];


/**
 * Total variation of an image batch [..., H, W] summed over everything, as a scalar (or per batch item, [N]);
 * its gradient comes from the same pass.
 */
export function totalVariation(p: Tensor, opts: TvOptions = {}): Tensor {
  const op = 'totalVariation';
  p.assertLive(op);
  if (p.rank < 2) throw new RangeError(`${op}: needs an image [..., H, W], got ${fmt(p.shape)}`);
  if (opts.perItem && p.rank < 3) throw new RangeError(`${op}: perItem needs a batch [N, ..., H, W], got ${fmt(p.shape)}`);
  const form = opts.form ?? 'global';
  const beta = opts.beta ?? 2;
  const alpha = opts.alpha ?? 2;
  const [terms, grad] = tvKernel(p, form, beta, form === 'pixel' ? opts.eps ?? 1e-8 : 0);
  const total = noGrad(() => (opts.perItem ? sum(terms, itemAxes(p)) : sum(terms)));
  terms.dispose();
  // The output gradient, broadcast over each item when there is one value per item.
  const spread = (g: Tensor) => (opts.perItem ? reshape(g, perItemShape(p)) : g);
  if (form === 'pixel') {
    total.own(grad);
    return record(op, [p], total, (g) => [mul(grad, spread(g))]);
  }
  // R = S^(α/2), dR/dp = α/2 · S^(α/2 − 1) · dS/dp.
  const value = alpha === 2 ? total : noGrad(() => pow(total, alpha / 2));
  value.own(grad);
  if (value !== total) value.own(total);
  return record(op, [p], value, (g) => [mul(grad, spread(alpha === 2 ? g : mul(pow(total, alpha / 2 - 1), mul(g, alpha / 2))))]);
}

function checkImage(op: string, x: Tensor): [number, number] {
  x.assertLive(op);
  if (x.rank < 2) throw new RangeError(`${op}: needs an image [..., H, W], got ${fmt(x.shape)}`);
  return [x.shape[x.rank - 2], x.shape[x.rank - 1]];
}

/** Blur and halve: [...,H,W] → [...,ceil(H/2),ceil(W/2)] (differentiable). */
export function pyrDown(x: Tensor): Tensor {
  const [H, W] = checkImage('pyrDown', x);
  const y = resampleKernel('down', x, Math.ceil(H / 2), Math.ceil(W / 2), 1);
  return record('pyrDown', [x], y, (g) => [resampleKernel('up', g, H, W, 1)]);
}

/** Upsample to [outH, outW] with 4× the binomial kernel (differentiable; the transpose of pyrDown, ×4). */
export function pyrUp(x: Tensor, outH: number, outW: number): Tensor {
  const [h, w] = checkImage('pyrUp', x);
  if (Math.ceil(outH / 2) !== h || Math.ceil(outW / 2) !== w) {
    throw new RangeError(`pyrUp: ${fmt(x.shape)} is not the half-size level of ${outH}×${outW}`);
  }
  const y = resampleKernel('up', x, outH, outW, 4);
  return record('pyrUp', [x], y, (g) => [resampleKernel('down', g, h, w, 4)]);
}

/** [hi_0, …, hi_{n−1}, lo_n]: hi_i = level_i − up(down(level_i)); merge(split(x)) = x exactly in exact arithmetic. */
export function lapSplit(x: Tensor, levels = 4): Tensor[] {
  checkImage('lapSplit', x);
  const out: Tensor[] = [];
  let cur = x;
  for (let i = 0; i < levels; i++) {
    const [H, W] = cur.shape.slice(-2);
    if (H < 2 && W < 2) break;
    const lo = pyrDown(cur);
    out.push(sub(cur, pyrUp(lo, H, W)));
    cur = lo;
  }
  out.push(cur);
  return out;
}

/** Inverse of lapSplit. */
export function lapMerge(levels: Tensor[]): Tensor {
  if (levels.length === 0) throw new RangeError('lapMerge: no levels');
  let cur = levels[levels.length - 1];
  for (let i = levels.length - 2; i >= 0; i--) {
    const [H, W] = levels[i].shape.slice(-2);
    cur = add(levels[i], pyrUp(cur, H, W));
  }
  return cur;
}

/**
 * Deepdream's Laplacian-pyramid gradient normalisation: split, divide each level by max(RMS, eps), merge.
 * With `perItem` each batch item's levels are normalised by their own RMS; `weights` (finest level first, the
 * low-pass rest last; missing ones 1) then scale the levels before the merge. Not recorded on the tape (it
 * transforms a gradient).
 */
export function lapNormalize(g: Tensor, levels = 4, opts: { eps?: number; perItem?: boolean; weights?: number[] } = {}): Tensor {
  checkImage('lapNormalize', g);
  const w = (i: number) => opts.weights?.[i] ?? 1;
  const fused = lapNormalizeKernel(g, levels, { eps: opts.eps ?? 1e-10, perItem: !!opts.perItem, weight: w });
  if (fused) return fused;
  // One level (nothing to split): divided by its own RMS.
  return noGrad(() => {
    const rms = sqrt(opts.perItem ? mean(square(g), itemAxes(g), true) : mean(square(g)));
    return mul(div(g, maximum(rms, full([], opts.eps ?? 1e-10))), w(0));
  });
}

/**
 * Appendix A's normalisation as a layer: x unchanged going forward; going back, the gradient reaching it
 * pyramid-balanced (lapNormalize per item over `levels` levels) and scaled back to its own norm per item. Put
 * between a decoder's faces and the networks that score them, the networks' pull moves every scale alike —
 * as it does the iterative method's image — without changing how strongly it pulls against the other terms.
 * With `lum` (luminanceWeights) only the gradient's luminance is balanced and its colour passes as it came:
 * balanced whole, the coarse levels' colour pull paints the faces in blotches.
 */
export function lapBalanceGrad(x: Tensor, levels: number, lum?: Tensor): Tensor {
  checkImage('lapBalanceGrad', x);
  const out = noGrad(() => clone(x));
  const norm = (t: Tensor) => sqrt(sum(square(t), itemAxes(t), true));
  const balance = (g: Tensor) => {
    const n = lapNormalize(g, levels, { perItem: true });
    return mul(n, div(norm(g), maximum(norm(n), full([], 1e-30))));
  };
  return record('lap_balance_grad', [x], out, (g) => [noGrad(() => (lum ? add(chroma(g, lum), balance(luminance(g, lum))) : balance(g)))]);
}

/**
 * The level weights of a coarse-to-fine schedule at `progress` (0 … 1 of its span): `levels` band-pass levels,
 * finest first, fade in one after another over equal shares of the span, the coarsest first; the low-pass
 * rest is always on.
 */
export function coarseToFineWeights(levels: number, progress: number): number[] {
  const t = Math.min(Math.max(progress, 0), 1) * levels;
  return [...Array.from({ length: levels }, (_, i) => Math.min(Math.max(t - (levels - 1 - i), 0), 1)), 1];
}

/** ‖x‖₂ over everything, or per batch item ([N]). */
function norm(x: Tensor, perItem: boolean, eps = 0): Tensor {
  const s = perItem ? sum(square(x), itemAxes(x)) : sum(square(x));
  return sqrt(eps ? add(s, eps) : s);
}

/**
 * R_LP (appendix C, eq. 12): Σ_n (‖L_n(p)‖ − N_L · 2^(β n))² over the band-pass levels L_0 … L_{levels−1};
 * per batch item ([N]) with `perItem`.
 */
export function lapRegularizer(p: Tensor, opts: { levels?: number; NL: number; beta: number; perItem?: boolean }): Tensor {
  const bands = lapSplit(p, opts.levels ?? 4).slice(0, -1);
  let total: Tensor | null = null;
  bands.forEach((L, n) => {
    const term = square(sub(norm(L, !!opts.perItem), opts.NL * 2 ** (opts.beta * n)));
    total = total ? add(total, term) : term;
  });
  return total!;
}

/**
 * R_Mirror = ‖p − F_x p‖₂ with F_x the horizontal flip (per batch item with `perItem`); eps keeps the
 * gradient finite for a symmetric image.
 */
export function mirrorRegularizer(p: Tensor, opts: { eps?: number; perItem?: boolean } = {}): Tensor {
  const [, W] = checkImage('mirrorRegularizer', p);
  const axis = p.rank - 1;
  const flipped = slice(p, { starts: [W - 1], ends: [-W - 1], axes: [axis], steps: [-1] });
  return norm(sub(p, flipped), !!opts.perItem, opts.eps ?? 1e-12);
}

/** The [1, 3, 1, 1] tensor of the Rec. 601 luminance coefficients that `luminance` and its kin take (keep it). */
export const luminanceWeights = (): Tensor => tensor([0.299, 0.587, 0.114], [1, 3, 1, 1]);

/**
 * Luminance of an RGB batch [N, 3, H, W] as [N, 1, H, W], with `weights` the [1, 3, 1, 1] tensor of the
 * Rec. 601 coefficients (0.299, 0.587, 0.114; the caller keeps it, so a step allocates no constant).
 */

export function luminance(p: Tensor, weights: Tensor): Tensor {
  if (p.rank !== 4 || p.shape[1] !== 3) throw new RangeError(`luminance: needs RGB images [N, 3, H, W], got ${fmt(p.shape)}`);
  return sum(mul(p, weights), 1, true);
}

/**
 * Colour without brightness: p minus its luminance in every channel ([N, 3, H, W]). Total variation of this
 * penalises colour edges and speckle while leaving the light-dark detail that carries a face's features
 * alone (what JPEG and the eye also do: chroma is the part of a photo that may be smooth).
 */
export function chroma(p: Tensor, weights: Tensor): Tensor {
  return sub(p, luminance(p, weights));
}

/**
 * How far each image's contrast (the standard deviation of its luminance) falls short of `floor`, squared:
 * max(0, floor − σ)² per batch item ([N]). Zero for an image with at least that much contrast, so it only
 * lifts washed-out images and never flattens a contrasty one. With `mask` ([1, 1, H, W], weights summing to
 * one, e.g. 1/count inside a region) σ is that of the masked region: the face's own contrast, which a dark
 * background around a pale face does not supply.
 */
export function contrastDeficit(p: Tensor, weights: Tensor, floor: number, mask?: Tensor): Tensor {
  const { sigma } = luminanceSpread(p, weights, mask);
  return square(relu(add(mul(sigma, -1), floor)));
}

/** Each image's luminance minus its (masked) mean, [N, 1, H, W], and its standard deviation ([N], or [N, 1, 1, 1] with keepDims). */
function luminanceSpread(p: Tensor, weights: Tensor, mask?: Tensor, keepDims = false): { centred: Tensor; sigma: Tensor } {
  const lum = luminance(p, weights);
  const axes = itemAxes(lum);
  const average = (t: Tensor, keep = false) => (mask ? sum(mul(t, mask), axes, keep) : mean(t, axes, keep));
  const centred = sub(lum, average(lum, true));
  return { centred, sigma: sqrt(add(average(square(centred), keepDims), 1e-8)) };
}

/**
 * Photo contrast as a layer rather than a penalty: each image's luminance stretched about its mean until its σ
 * reaches `floor` (in the images' own units: 0.2 · 255 for 0..255 pixels), by at most `maxGain`×; an image
 * with that much contrast passes unchanged. Only the luminance is stretched (the same amount added to R, G and
 * B), so the colour about it is not amplified. p + (lum − mean) · clamp(floor / σ − 1, 0, maxGain − 1).
 */
export function contrastStretch(p: Tensor, weights: Tensor, floor: number, maxGain = 4): Tensor {
  const { centred, sigma } = luminanceSpread(p, weights, undefined, true);
  return add(p, mul(centred, clamp(sub(div(floor, sigma), 1), 0, maxGain - 1)));
}

/** A contrast floor: its weight and the luminance σ (0..1) below which it pushes. */
export interface ContrastFloor { weight: number; floor: number }

/** [1, 1, S, S]: 1/count on the chip's central 60 % (the face), 0 elsewhere. */
export function faceRegionMask(S: number): Tensor {
  const [lo, hi] = [Math.round(0.2 * S), Math.round(0.8 * S)];
  const w = 1 / (hi - lo) ** 2;
  return tensor(Float32Array.from({ length: S * S }, (_, i) => (i % S >= lo && i % S < hi && Math.floor(i / S) >= lo && Math.floor(i / S) < hi ? w : 0)), [1, 1, S, S]);
}

/**
 * The two contrast floors of a photo-like image, each [N] and weighted: the whole image's (`contrast`) and the
 * face region's (`faceContrast`, with `faceMask` from faceRegionMask); an absent floor adds no term.
 */
export function contrastFloors(p: Tensor, weights: Tensor, faceMask: Tensor | null, f: { contrast?: ContrastFloor | null; faceContrast?: ContrastFloor | null }): Tensor[] {
  const terms: Tensor[] = [];
  if (f.contrast) terms.push(mul(contrastDeficit(p, weights, f.contrast.floor), f.contrast.weight));
  if (f.faceContrast) terms.push(mul(contrastDeficit(p, weights, f.faceContrast.floor, faceMask!), f.faceContrast.weight));
  return terms;
}

/**
 * How far the mean colour of each image's face region is from a skin tone: ‖mean(chroma · mask) − target‖²
 * per batch item ([N]). `mask` is [1, 1, H, W] holding 1/count inside the region (so the masked sum is its
 * mean) and `target` [1, 3] the chroma (each channel minus the luminance, 0..1 units) of the skin tone; the
 * caller keeps both. Only the region's average hue is pulled: every local colour stays free.
 */
export function skinTone(p: Tensor, weights: Tensor, mask: Tensor, target: Tensor): Tensor {
  const means = sum(mul(chroma(p, weights), mask), [2, 3]);
  return sum(square(sub(means, target)), 1);
}
