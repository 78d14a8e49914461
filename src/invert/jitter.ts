// Input diversity for reconstruction: the random transformations and tone changes the networks see each step
// (transformation robustness, mirror images, contrast and brightness), drawn from a seeded generator.
import { Tensor, keep } from '../tensor/tensor.ts';
import type { Rng } from '../tensor/random.ts';
import * as O from '../autograd/ops.ts';
import { warp, packAffines, type Affine } from '../autograd/warp.ts';
import { pyrDown, pyrUp } from '../autograd/regularizers.ts';

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


/**
 * A batch of n images of `size` px seen through fresh draws of a Jitter each step: moved (and mirrored), then
 * re-toned, blurred and noised as the jitter asks, in that order. The draws are written into buffers made once,
 * so a step allocates nothing and reads nothing back. Reconstruction views its image this way, the decoder's
 * training its decoded faces, and real training faces are augmented with it (`clampTones`: kept in 0..255).
 */
export class JitterView {
  private readonly mats: Tensor;
  private readonly colours: Tensor | null;
  private readonly blurs: Tensor | null;
  private readonly noise: Tensor | null;
  private readonly matHost: Float32Array<ArrayBuffer>;
  private readonly colourHost: Float32Array<ArrayBuffer>;
  private readonly blurHost: Float32Array<ArrayBuffer>;
  private readonly noiseHost: Float32Array<ArrayBuffer> | null;

  constructor(
    readonly n: number,
    readonly size: number,
    readonly jitter: Jitter,
    readonly clampTones = false,
  ) {
    this.mats = keep(O.zeros([n, 12]));
    this.colours = jitter.colour ? keep(O.zeros([2, n, 1, 1, 1])) : null;
    this.blurs = jitter.blur ? keep(O.zeros([n, 1, 1, 1])) : null;
    this.noise = jitter.noise ? keep(O.zeros([n, 3, size, size])) : null;
    this.matHost = new Float32Array(n * 12);
    this.colourHost = new Float32Array(2 * n);
    this.blurHost = new Float32Array(n);
    this.noiseHost = this.noise ? new Float32Array(this.noise.size) : null;
  }

  /** The images [n, 3, size, size] through this step's draws from `rng` (call inside a tidy scope). */
  apply(image: Tensor, rng: Rng): Tensor {
    const { n: N, size: S, jitter: j } = this;
    this.mats.write(packAffines(jitterAffines(rng, N, S, j), this.matHost));
    if (this.colours) this.colours.write(jitterColours(rng, N, j.colour!, this.colourHost));
    if (this.blurs) this.blurs.write(jitterBlurs(rng, N, j.blur!, this.blurHost));
    if (this.noise) this.noise.write(jitterNoise(rng, j.noise!, this.noiseHost!));
    return this.replay(image);
  }

  /**
   * Other images [n, 3, size, size] through the draws of the last `apply` — the same move, tones, blur and
   * noise per item (decoder training sees each real face as its decoded face is seen).
   */
  replay(image: Tensor): Tensor {
    const { n: N, size: S } = this;
    let seen = warp(image, this.mats, S, S);
    if (this.colours) {
      const [gain, offset] = [0, 1].map((k) => O.reshape(O.slice(this.colours!, [k, 0, 0, 0, 0], [k + 1, N, 1, 1, 1]), [N, 1, 1, 1]));
      seen = O.add(O.mul(seen, gain), offset);
      if (this.clampTones) seen = O.clamp(seen, 0, 255);
    }
    if (this.blurs) seen = O.add(seen, O.mul(O.sub(pyrUp(pyrDown(seen), S, S), seen), this.blurs));
    if (this.noise) seen = O.add(seen, this.noise);
    return seen;
  }

  dispose(): void {
    for (const t of [this.mats, this.colours, this.blurs, this.noise]) t?.dispose();
  }
}
