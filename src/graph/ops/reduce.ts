// CPU reference for kernels/reduce.wgsl: the sum (or sum of squares) of a flat array, float64.

export function reduceSumReference(x: ArrayLike<number>, square = false, alpha = 1): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += square ? x[i]! * x[i]! : x[i]!;
  return alpha * sum;
}
