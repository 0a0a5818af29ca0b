// CPU reference for matmul: C = epilogue(alpha·op(A)·op(B) + bias) [+ C], float64, plain loops.
// Dims: batch, M rows of C, N columns of C, K the contracted dim.
import { activation, type ActivationName } from './activation.js';

export interface MatmulRefShape {
  M: number;
  N: number;
  K: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  strideA?: number;
  strideB?: number;
  alpha?: number;
  epilogue?: ActivationName | 'none';
}

/** a: (batch, M, K) or (batch, K, M) if transA; b: (batch, K, N) or (batch, N, K) if transB. */
export function matmulReference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: MatmulRefShape,
  bias?: ArrayLike<number>,
  accumulateInto?: ArrayLike<number>,
): Float64Array {
  const { M, N, K } = shape;
  const batch = shape.batch ?? 1;
  const strideA = shape.strideA ?? M * K;
  const strideB = shape.strideB ?? K * N;
  const out = new Float64Array(batch * M * N); // (batch, M, N)
  for (let p = 0; p < batch; p++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const av = a[p * strideA + (shape.transA ? k * M + m : m * K + k)]!;
          const bv = b[p * strideB + (shape.transB ? n * K + k : k * N + n)]!;
          sum += av * bv;
        }
        let x = sum * (shape.alpha ?? 1);
        if (bias) x += bias[n]!;
        if (shape.epilogue && shape.epilogue !== 'none') x = activation(shape.epilogue, x);
        const i = p * M * N + m * N + n;
        out[i] = x + (accumulateInto ? accumulateInto[i]! : 0);
      }
    }
  }
  return out;
}
