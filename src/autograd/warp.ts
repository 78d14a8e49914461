// Differentiable affine resampling of image batches: crops, zooms, shifts and small rotations, one 2×3 matrix
// per item, bilinear with repeated edges. Used to feed a face model whose crop differs from the image's
// (judges, ensemble members) and for the random transformations of transformation robustness.
import { Tensor } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import { warpKernel, warpGradKernel } from '../kernels/warp.ts';
import { record } from './tape.ts';

/** u = a·x + b·y + c, v = d·x + e·y + f: output pixel centre (x, y) → input coordinates (pixel centres at k + ½). */
export type Affine = [number, number, number, number, number, number];

export function invertAffine([a, b, c, d, e, f]: Affine): Affine {
  const det = a * e - b * d;
  if (!(Math.abs(det) > 1e-12)) throw new RangeError(`warp: the matrix [${[a, b, c, d, e, f]}] is not invertible`);
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** Packs matrices as the kernel reads them: 12 floats per item, the matrix then its inverse. */
export function packAffines(ms: Affine[], out = new Float32Array(ms.length * 12)): Float32Array {
  ms.forEach((m, i) => {
    out.set(m, i * 12);
    out.set(invertAffine(m), i * 12 + 6);
  });
  return out;
}

/**
 * The matrix that takes the square box (x0, y0, size), in fractions of an S_in-pixel image (may reach past it),
 * to an S_out-pixel output, optionally rotated by `angle` radians about the box centre.
 */
export function boxAffine(box: [number, number, number], sIn: number, sOut: number, angle = 0): Affine {
  const k = (box[2] * sIn) / sOut;
  const cx = (box[0] + box[2] / 2) * sIn;
  const cy = (box[1] + box[2] / 2) * sIn;
  const cos = Math.cos(angle) * k;
  const sin = Math.sin(angle) * k;
  const h = sOut / 2;
  return [cos, -sin, cx - cos * h + sin * h, sin, cos, cy - sin * h - cos * h];
}

/**
 * Resamples x [N,C,H,W] to [N,C,OH,OW]; `mats` [N,12] from packAffines (a tensor, so it can be rewritten in
 * place each step without a new allocation). Differentiable in x.
 */
export function warp(x: Tensor, mats: Tensor, OH: number, OW: number): Tensor {
  const op = 'warp';
  x.assertLive(op);
  mats.assertLive(op);
  if (x.rank !== 4) throw new RangeError(`${op}: input must be NCHW, got ${fmt(x.shape)}`);
  if (mats.size !== x.shape[0] * 12) throw new RangeError(`${op}: needs 12 matrix values per item (${x.shape[0]} items), got ${fmt(mats.shape)}`);
  if (!(Number.isInteger(OH) && Number.isInteger(OW) && OH > 0 && OW > 0)) throw new RangeError(`${op}: bad output size ${OH}×${OW}`);
  const [H, W] = x.shape.slice(2);
  return record(op, [x], warpKernel(x, mats, OH, OW), (g) => [warpGradKernel(g, mats, H, W)]);
}
