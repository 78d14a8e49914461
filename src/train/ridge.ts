// Ridge regression in closed form: the linear map from inputs to targets that minimises
//   Σ_k ‖y_k − (x_k·W + b)‖² + λ‖W‖²,
// W = (X̃ᵀX̃ + λI)⁻¹ X̃ᵀỸ with X̃, Ỹ centred, b = ȳ − x̄·W. It fits a decoder's linear face space
// (DecoderConfig.linearLevels) on real faces before training: the best linear decoder of those faces.
import { cholesky } from './sampler.ts';

/** W [D×M] (row-major) and b [M] fitted to rows xs [n][D] → ys [n][M]. */
export function ridge(xs: ArrayLike<number>[], ys: ArrayLike<number>[], lambda: number): { weight: Float32Array; bias: Float32Array } {
  const n = xs.length;
  if (n < 2 || ys.length !== n) throw new RangeError(`ridge: needs as many targets as inputs (≥ 2), got ${n} and ${ys.length}`);
  if (!(lambda > 0)) throw new RangeError(`ridge: λ must be > 0, got ${lambda}`);
  const D = xs[0].length;
  const M = ys[0].length;
  const xm = new Float64Array(D);
  const ym = new Float64Array(M);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < D; i++) xm[i] += xs[k][i] / n;
    for (let j = 0; j < M; j++) ym[j] += ys[k][j] / n;
  }
  // A = X̃ᵀX̃ + λI (lower triangle), R = X̃ᵀỸ.
  const A = new Float64Array(D * D);
  const R = new Float64Array(D * M);
  const xc = new Float64Array(D);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < D; i++) xc[i] = xs[k][i] - xm[i];
    for (let i = 0; i < D; i++) for (let j = 0; j <= i; j++) A[i * D + j] += xc[i] * xc[j];
    const y = ys[k];
    for (let i = 0; i < D; i++) {
      const xi = xc[i];
      const row = i * M;
      for (let j = 0; j < M; j++) R[row + j] += xi * (y[j] - ym[j]);
    }
  }
  for (let i = 0; i < D; i++) A[i * D + i] += lambda;
  const L = cholesky(A, D);
  // L·Lᵀ·W = R: forward then back substitution, all M columns at once.
  for (let i = 0; i < D; i++) {
    for (let k = 0; k < i; k++) {
      const l = L[i * D + k];
      for (let j = 0; j < M; j++) R[i * M + j] -= l * R[k * M + j];
    }
    for (let j = 0; j < M; j++) R[i * M + j] /= L[i * D + i];
  }
  for (let i = D - 1; i >= 0; i--) {
    for (let k = i + 1; k < D; k++) {
      const l = L[k * D + i];
      for (let j = 0; j < M; j++) R[i * M + j] -= l * R[k * M + j];
    }
    for (let j = 0; j < M; j++) R[i * M + j] /= L[i * D + i];
  }
  const bias = new Float32Array(M);
  for (let j = 0; j < M; j++) {
    let b = ym[j];
    for (let i = 0; i < D; i++) b -= xm[i] * R[i * M + j];
    bias[j] = b;
  }
  return { weight: Float32Array.from(R), bias };
}
