// CPU references for kernels/rows.wgsl, float64, plain loops: row gather and its adjoint, the
// weighted scatter-add. src (N, H), idx (R), out (R, H).

/** out[r] = src[idx[r]]. */
export function gatherRowsReference(src: ArrayLike<number>, idx: ArrayLike<number>, H: number): Float64Array {
  const R = idx.length;
  const out = new Float64Array(R * H);
  for (let r = 0; r < R; r++) for (let c = 0; c < H; c++) out[r * H + c] = src[idx[r]! * H + c]!;
  return out;
}

/**
 * d_src[idx[r]] += d_out[r] for rows with weights[r] ≠ 0 only (padding predictions carry
 * weight 0 and are skipped). d_src (N, H) starts from `into` (zeros when omitted).
 */
export function scatterRowsAddReference(dOut: ArrayLike<number>, idx: ArrayLike<number>, weights: ArrayLike<number>, N: number, H: number, into?: ArrayLike<number>): Float64Array {
  const dSrc = new Float64Array(N * H);
  if (into) for (let i = 0; i < N * H; i++) dSrc[i] = into[i]!;
  for (let r = 0; r < idx.length; r++) {
    if (weights[r] === 0) continue;
    for (let c = 0; c < H; c++) dSrc[idx[r]! * H + c] = dSrc[idx[r]! * H + c]! + dOut[r * H + c]!;
  }
  return dSrc;
}
