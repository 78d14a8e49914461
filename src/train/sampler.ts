// Random embeddings for decoder training: a Gaussian fitted to the embeddings of real faces (paper §4: the
// decoder is trained on random input embeddings). With fewer faces than dimensions the sample covariance is
// singular, so it is shrunk toward its diagonal: Σ' = (1 − λ)Σ + λ·diag(Σ).
import { Rng } from '../tensor/random.ts';

/** A Gaussian fitted to a set of embeddings (shrunk covariance); draws random embeddings like them. */
export class GaussianSampler {
  private constructor(
    readonly mean: Float64Array,
    /** Lower-triangular L with L·Lᵀ = Σ', row-major D×D. */
    readonly chol: Float64Array,
    readonly dim: number,
    readonly count: number,
    readonly shrinkage: number,
  ) {}

  static fit(embeddings: ArrayLike<number>[], shrinkage = 0.1): GaussianSampler {
    const n = embeddings.length;
    if (n < 2) throw new RangeError(`GaussianSampler: fitting needs at least 2 embeddings, got ${n}`);
    const D = embeddings[0].length;
    if (embeddings.some((e) => e.length !== D)) throw new RangeError('GaussianSampler: embeddings differ in length');
    if (!(shrinkage > 0 && shrinkage <= 1)) throw new RangeError(`GaussianSampler: shrinkage must be in (0, 1], got ${shrinkage}`);
    const mean = new Float64Array(D);
    for (const e of embeddings) for (let i = 0; i < D; i++) mean[i] += e[i] / n;
    const cov = new Float64Array(D * D);
    for (const e of embeddings)
      for (let i = 0; i < D; i++) {
        const di = e[i] - mean[i];
        for (let j = 0; j <= i; j++) cov[i * D + j] += (di * (e[j] - mean[j])) / (n - 1);
      }
    for (let i = 0; i < D; i++) for (let j = 0; j < i; j++) cov[i * D + j] *= 1 - shrinkage;
    return new GaussianSampler(mean, cholesky(cov, D), D, n, shrinkage);
  }

  /** `n` embeddings drawn with `rng`, as one [n·D] array (row-major). */
  sample(rng: Rng, n: number): Float32Array {
    const D = this.dim;
    const out = new Float32Array(n * D);
    const z = new Float64Array(D);
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < D; i++) z[i] = rng.normal();
      for (let i = 0; i < D; i++) {
        let v = this.mean[i];
        for (let j = 0; j <= i; j++) v += this.chol[i * D + j] * z[j];
        out[k * D + i] = v;
      }
    }
    return out;
  }

  /** The fitted Gaussian as plain JSON (fromJSON reads it back). */
  toJSON(): { dim: number; count: number; shrinkage: number; mean: number[]; chol: number[] } {
    return { dim: this.dim, count: this.count, shrinkage: this.shrinkage, mean: Array.from(this.mean), chol: Array.from(this.chol) };
  }

  static fromJSON(j: { dim: number; count: number; shrinkage: number; mean: number[]; chol: number[] }): GaussianSampler {
    if (j.mean.length !== j.dim || j.chol.length !== j.dim * j.dim) throw new RangeError('GaussianSampler: inconsistent saved sampler');
    return new GaussianSampler(Float64Array.from(j.mean), Float64Array.from(j.chol), j.dim, j.count, j.shrinkage);
  }
}

/** Cholesky factor of a symmetric positive-definite matrix given by its lower triangle (row-major). */
export function cholesky(a: Float64Array, D: number): Float64Array {
  const L = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * D + j];
      for (let k = 0; k < j; k++) s -= L[i * D + k] * L[j * D + k];
      if (i === j) {
        if (!(s > 0)) throw new RangeError(`cholesky: the matrix is not positive definite (pivot ${i} is ${s})`);
        L[i * D + i] = Math.sqrt(s);
      } else L[i * D + j] = s / L[j * D + j];
    }
  }
  return L;
}
