// CPU reference for the bias gradient of a dense layer y = x·Wᵀ + b: db[n] = Σ_m dY[m, n]
// (plus the accumulated value, when given). float64, plain loops. Dims: M rows (tokens),
// N columns (output features).

/** dy: (M, N) row-major → db: (N). */
export function biasGradReference(dy: ArrayLike<number>, M: number, N: number, accumulateInto?: ArrayLike<number>): Float64Array {
  const db = new Float64Array(N); // (N)
  for (let n = 0; n < N; n++) {
    let s = accumulateInto ? accumulateInto[n]! : 0;
    for (let m = 0; m < M; m++) s += dy[m * N + n]!;
    db[n] = s;
  }
  return db;
}
