// CPU references for kernels/layernorm.wgsl, float64, plain loops. N rows (tokens), H columns
// (hidden). Stats are per row: mean, rstd = 1/sqrt(var + eps) with the biased variance.
import { dropoutKeep } from './rng.js';
import type { DropoutParams } from './elementwise.js';

export interface LayernormForward {
  y: Float64Array; // (N, H)
  mean: Float64Array; // (N)
  rstd: Float64Array; // (N)
}

/** y = (x − mean)·rstd·gamma + beta. x (N, H), gamma (H), beta (H). */
export function layernormForwardReference(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, N: number, H: number, eps: number): LayernormForward {
  const y = new Float64Array(N * H);
  const mean = new Float64Array(N);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let c = 0; c < H; c++) sum += x[n * H + c]!;
    const m = sum / H;
    let v = 0;
    for (let c = 0; c < H; c++) v += (x[n * H + c]! - m) ** 2;
    const r = 1 / Math.sqrt(v / H + eps);
    for (let c = 0; c < H; c++) y[n * H + c] = (x[n * H + c]! - m) * r * gamma[c]! + beta[c]!;
    mean[n] = m;
    rstd[n] = r;
  }
  return { y, mean, rstd };
}

/**
 * Post-LN BERT's "dropout → add → LayerNorm": s = residual + dropout(a), y = LN(s).
 * residual, a (N, H); dropout index = the element's linear index in a. Returns s as well.
 */
export function residualDropoutLayernormForwardReference(
  residual: ArrayLike<number>,
  a: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  N: number,
  H: number,
  eps: number,
  dropout: DropoutParams,
): LayernormForward & { s: Float64Array } {
  const s = new Float64Array(N * H);
  const scale = 1 / (1 - dropout.p);
  for (let i = 0; i < N * H; i++) {
    const kept = dropout.p === 0 ? a[i]! : dropoutKeep(dropout.seed, dropout.stream, dropout.microStep, i, dropout.p) ? a[i]! * scale : 0;
    s[i] = residual[i]! + kept;
  }
  return { s, ...layernormForwardReference(s, gamma, beta, N, H, eps) };
}

export interface LayernormBackward {
  dx: Float64Array; // (N, H)
  dgamma: Float64Array; // (H)
  dbeta: Float64Array; // (H)
}

/**
 * xhat = (x − mean)·rstd, g = dy·gamma:
 * dx = rstd·(g − mean_c(g) − xhat·mean_c(g·xhat)); dgamma = Σ_n dy·xhat; dbeta = Σ_n dy.
 */
export function layernormBackwardReference(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  mean: ArrayLike<number>,
  rstd: ArrayLike<number>,
  N: number,
  H: number,
): LayernormBackward {
  const dx = new Float64Array(N * H);
  const dgamma = new Float64Array(H);
  const dbeta = new Float64Array(H);
  for (let n = 0; n < N; n++) {
    const m = mean[n]!;
    const r = rstd[n]!;
    let gSum = 0;
    let gxSum = 0;
    for (let c = 0; c < H; c++) {
      const xhat = (x[n * H + c]! - m) * r;
      const g = dy[n * H + c]! * gamma[c]!;
      gSum += g;
      gxSum += g * xhat;
      dgamma[c] = dgamma[c]! + dy[n * H + c]! * xhat;
      dbeta[c] = dbeta[c]! + dy[n * H + c]!;
    }
    for (let c = 0; c < H; c++) {
      const xhat = (x[n * H + c]! - m) * r;
      const g = dy[n * H + c]! * gamma[c]!;
      dx[n * H + c] = r * (g - gSum / H - xhat * (gxSum / H));
    }
  }
  return { dx, dgamma, dbeta };
}
