// Central finite differences in float64 (STYLE.md 14): a backward reference is checked as the
// gradient of a scalar loss L(x) = Σ_i w_i·f(x)_i with random upstream weights w.
import * as assert from 'uvu/assert';

/** Σ_i w_i·y_i: the scalar loss whose gradient with respect to y is w. */
export function weightedSum(y: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
  return s;
}

/**
 * Asserts grad[i] ≈ (L(x + h·e_i) − L(x − h·e_i)) / 2h for every i; x is restored after.
 * Tolerance |fd − grad| ≤ atol + rtol·|fd|.
 */
export function assertGradientFd(loss: (x: Float64Array) => number, x: Float64Array, grad: ArrayLike<number>, context: string, tol = { atol: 1e-7, rtol: 1e-6 }, h = 1e-6): void {
  assert.is(grad.length, x.length, `${context}: gradient has ${grad.length} values for ${x.length} inputs`);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i]!;
    x[i] = x0 + h;
    const up = loss(x);
    x[i] = x0 - h;
    const down = loss(x);
    x[i] = x0;
    const fd = (up - down) / (2 * h);
    const g = grad[i]!;
    assert.ok(Math.abs(fd - g) <= tol.atol + tol.rtol * Math.abs(fd), `${context}: [${i}] finite difference ${fd} vs gradient ${g}`);
  }
}

export function f64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a as ArrayLike<number>);
}
