// The terms of the reconstruction loss (paper §2, §5.1, appendices A and C), each one value per batch item
// ([N]) so that a batch of reconstructions optimised together gets, item by item, the gradient it would get
// alone.
import { Tensor, keep, tidy } from '../tensor/tensor.ts';
import { fmt } from '../tensor/shape.ts';
import * as O from '../autograd/ops.ts';
import { noGrad } from '../autograd/tape.ts';
import { lapSplit } from '../autograd/regularizers.ts';

export type Distance = 'l2' | 'dot';

export interface EmbeddingLossOptions {
  /** 'l2': ‖F(p) − s·e‖² (the paper's default); 'dot': −F(p)·(s·e) (§2, Fig. 1(g)). */
  distance: Distance;
  /** Compare unit-length embeddings instead of the raw ones (the paper found this much worse; §5.1). */
  normalize: boolean;
  /** s: the target is scaled by this before the comparison (Fig. 8). */
  scale: number;
}

/** Axes 1 … rank−1: everything of one batch item. */
export const itemAxes = (x: Tensor) => Array.from({ length: x.rank - 1 }, (_, i) => i + 1);

/** Rows scaled to unit length (eps keeps a zero row finite). */
export function unitRows(e: Tensor, eps = 1e-12): Tensor {
  return O.div(e, O.sqrt(O.add(O.sum(O.square(e), 1, true), eps)));
}

/** d[F(p), e] per item: embeddings and targets are [N, D]. */
export function embeddingLoss(emb: Tensor, target: Tensor, o: EmbeddingLossOptions): Tensor {
  if (emb.rank !== 2 || target.rank !== 2 || emb.shape[0] !== target.shape[0] || emb.shape[1] !== target.shape[1]) {
    throw new RangeError(`embeddingLoss: embeddings ${fmt(emb.shape)} and targets ${fmt(target.shape)} must both be [N, D]`);
  }
  const a = o.normalize ? unitRows(emb) : emb;
  let t = o.normalize ? unitRows(target) : target;
  if (o.scale !== 1) t = O.mul(t, o.scale);
  return o.distance === 'l2' ? O.sum(O.square(O.sub(a, t)), 1) : O.neg(O.sum(O.mul(a, t), 1));
}

/** Euclidean distance per item between embeddings [N, D] (the same-person test of the model). */
export function embeddingDistance(emb: Tensor, target: Tensor): Tensor {
  return O.sqrt(O.sum(O.square(O.sub(emb, target)), 1));
}

/**
 * Guiding-image term of one layer: the mean over the item's activations of (a(p) − a(p_G))², so that one
 * weight means the same on a layer of 150×150×3 values and one of 3×3×256. (The paper writes the plain sum
 * ‖a(p) − a(p_G)‖²; dividing by the layer size only rescales its w_G.)
 */
export function guideLoss(a: Tensor, guide: Tensor): Tensor {
  return O.mean(O.square(O.sub(a, guide)), itemAxes(a));
}

/**
 * The Gaussian activation prior of appendix A (eq. 5), fitted on the activations of a set of images sharing a
 * pose: R(p) = Σ_n ν (a_n − v_n)² σ_max² / (σ_n² + ν σ_max²), with v_n and σ_n each unit's mean and standard
 * deviation over the set.
 */
export class GaussianPrior {
  private constructor(
    readonly layer: string,
    /** v: [1, …] per-unit means. */
    readonly mean: Tensor,
    /** ν σ_max² / (σ_n² + ν σ_max²): [1, …]. */
    readonly coef: Tensor,
    readonly images: number,
  ) {}

  /** Fits the prior on `activations` [M, …] of M ≥ 2 images at `layer`. */
  static fit(layer: string, activations: Tensor, nu: number): GaussianPrior {
    if (activations.shape[0] < 2) throw new RangeError(`GaussianPrior: fitting needs at least 2 images, got ${activations.shape[0]}`);
    if (!(nu > 0 && Number.isFinite(nu))) throw new RangeError(`GaussianPrior: ν must be a finite number > 0, got ${nu}`);
    const [mean, coef] = noGrad(() => {
      const v = O.mean(activations, 0, true);
      const variance = O.mean(O.square(O.sub(activations, v)), 0, true);
      const nuMax = O.mul(O.max(variance), nu);
      return [keep(v), keep(O.div(nuMax, O.add(variance, nuMax)))];
    });
    return new GaussianPrior(layer, mean, coef, activations.shape[0]);
  }

  /** R_Gauss per item of activations [N, …] of the prior's layer. */
  loss(a: Tensor): Tensor {
    return O.sum(O.mul(O.square(O.sub(a, this.mean)), this.coef), itemAxes(a));
  }

  dispose(): void {
    this.mean.dispose();
    this.coef.dispose();
  }
}

/**
 * N_L and β of R_LP (appendix C) fitted to an image [1, C, H, W]: least squares of log ‖L_n‖ = log N_L + β·n·log 2
 * over its band-pass levels, so that the regulariser favours that image's spectrum. Reads back once.
 */
export async function fitLapSpectrum(image: Tensor, levels: number): Promise<{ NL: number; beta: number }> {
  const norms = tidy(() => noGrad(() => O.concat(lapSplit(image, levels).slice(0, -1).map((L) => O.reshape(O.sqrt(O.sum(O.square(L))), [1])), 0)));
  const v = Array.from(await norms.data());
  norms.dispose();
  const n = v.length;
  if (n < 2 || v.some((x) => !(x > 0))) return { NL: v[0] ?? 1, beta: 0 };
  const xs = v.map((_, i) => i * Math.LN2);
  const ys = v.map(Math.log);
  const mx = xs.reduce((a, b) => a + b) / n;
  const my = ys.reduce((a, b) => a + b) / n;
  const beta = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return { NL: Math.exp(my - beta * mx), beta };
}
