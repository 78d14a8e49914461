// Input diversity for reconstruction: the random transformations and tone changes the networks see each step
// (transformation robustness, mirror images, contrast and brightness), drawn from a seeded generator.
import type { Rng } from '../tensor/random.ts';
import type { Affine } from '../autograd/warp.ts';

export interface Jitter {
  /** Largest shift, in pixels of the image. */
  shift: number;
  /** Largest relative change of scale (0.05: 95 % … 105 %). */
  scale: number;
  /** Largest rotation, in radians. */
  rotate: number;
  /** Mirror each item left-right with probability ½ (a face is the same person in a mirror). */
  flip?: boolean;
  /** Largest relative change of contrast and brightness (0.1: gain 0.9 … 1.1 about mid-grey, offset ±10 % of it). */
  colour?: number;
  /**
   * Largest blur: each item's view is mixed toward its half-resolution version (down and up the Laplacian
   * pyramid's binomial kernel) by a random fraction up to this (0 … 1), so the identity must be legible at
   * the coarser scales other networks read faces at (112-px inputs, other training data), not only in the
   * fine detail of the model's 150 px.
   */
  blur?: number;
  /**
   * Standard deviation of fresh noise added to every pixel of each view, in pixel units (0…255): details
   * finer than the noise cannot carry the identity, so it must sit in what other networks read too.
   */
  noise?: number;
  seed?: number;
}

/** The random transformations of one step: per item, about the image centre. */
export function jitterAffines(rng: Rng, n: number, size: number, j: Jitter): Affine[] {
  const u = () => 2 * rng.uniform() - 1;
  return Array.from({ length: n }, () => {
    const k = 1 / (1 + j.scale * u());
    const a = j.rotate * u();
    const [cos, sin] = [Math.cos(a) * k, Math.sin(a) * k];
    const h = size / 2;
    const [dx, dy] = [j.shift * u(), j.shift * u()];
    const m: Affine = [cos, -sin, h - cos * h + sin * h + dx, sin, cos, h - sin * h - cos * h + dy];
    // Mirrored: the output's x is read at size − x, i.e. the first column negated and moved by size.
    if (j.flip && rng.uniform() < 0.5) return [-m[0], m[1], m[0] * size + m[2], -m[3], m[4], m[3] * size + m[5]];
    return m;
  });
}

/** The blur fractions of one step, one per item, uniform in 0 … amount. */
export function jitterBlurs(rng: Rng, n: number, amount: number, out: Float32Array): Float32Array {
  for (let i = 0; i < n; i++) out[i] = amount * rng.uniform();
  return out;
}

/** Zero-mean noise of one step, uniform with standard deviation `std` (cheaper to draw than normal, as good here). */
export function jitterNoise(rng: Rng, std: number, out: Float32Array): Float32Array {
  const half = std * Math.sqrt(3);
  for (let i = 0; i < out.length; i++) out[i] = half * (2 * rng.next() - 1);
  return out;
}

/** The colour changes of one step: per item a gain about mid-grey and an offset, as [gains…, offsets…]. */
export function jitterColours(rng: Rng, n: number, amount: number, out: Float32Array): Float32Array {
  for (let i = 0; i < n; i++) {
    out[i] = 1 + amount * (2 * rng.uniform() - 1);
    out[n + i] = 127.5 * (1 - out[i]) + 127.5 * amount * (2 * rng.uniform() - 1);
  }
  return out;
}

