// CPU references for kernels/elementwise.wgsl, float64, plain loops: add, scale, activations,
// GEGLU and dropout, forward and backward. n = elements; GEGLU rows × F outputs from rows × 2F.
import { activation, activationGrad, type ActivationName } from './activation.js';
import { dropoutKeep } from './rng.js';

/** out = a + b [+ into]. (n) */
export function addReference(a: ArrayLike<number>, b: ArrayLike<number>, into?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]! + (into ? into[i]! : 0);
  return out;
}

/** out = alpha·x [+ into]. (n) */
export function scaleReference(x: ArrayLike<number>, alpha: number, into?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = alpha * x[i]! + (into ? into[i]! : 0);
  return out;
}

/** y = act(x). (n) */
export function activationForwardReference(name: ActivationName, x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = activation(name, x[i]!);
  return out;
}

/**
 * dx = dy·act'(x). For 'tanh' pass the forward OUTPUT y as `saved` (act' = 1 − y²), as the
 * kernel does; for the others pass the pre-activation x.
 */
export function activationBackwardReference(name: ActivationName, dy: ArrayLike<number>, saved: ArrayLike<number>): Float64Array {
  const out = new Float64Array(dy.length);
  for (let i = 0; i < dy.length; i++) {
    const s = saved[i]!;
    out[i] = dy[i]! * (name === 'tanh' ? 1 - s * s : activationGrad(name, s));
  }
  return out;
}

/** GEGLU (Cramming): inp (rows, 2F), row = [x | gate]; out (rows, F) = x · act(gate). */
export function gegluForwardReference(inp: ArrayLike<number>, rows: number, F: number, name: ActivationName = 'gelu'): Float64Array {
  const out = new Float64Array(rows * F);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < F; j++) out[r * F + j] = inp[r * 2 * F + j]! * activation(name, inp[r * 2 * F + F + j]!);
  }
  return out;
}

/** d_in (rows, 2F) = [dy · act(gate) | dy · x · act'(gate)], dy (rows, F). */
export function gegluBackwardReference(dy: ArrayLike<number>, inp: ArrayLike<number>, rows: number, F: number, name: ActivationName = 'gelu'): Float64Array {
  const dIn = new Float64Array(rows * 2 * F);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < F; j++) {
      const x = inp[r * 2 * F + j]!;
      const g = inp[r * 2 * F + F + j]!;
      const d = dy[r * F + j]!;
      dIn[r * 2 * F + j] = d * activation(name, g);
      dIn[r * 2 * F + F + j] = d * x * activationGrad(name, g);
    }
  }
  return dIn;
}

export interface DropoutParams {
  p: number;
  seed: number;
  stream: number;
  microStep: number;
}

/**
 * out = x · keep(i)/(1 − p), i the linear index. The backward is the same map applied to dy
 * (the mask is regenerated from the counter-based RNG), so this serves both directions.
 */
export function dropoutReference(x: ArrayLike<number>, d: DropoutParams): Float64Array {
  const out = new Float64Array(x.length);
  const scale = 1 / (1 - d.p);
  for (let i = 0; i < x.length; i++) out[i] = dropoutKeep(d.seed, d.stream, d.microStep, i, d.p) ? x[i]! * scale : 0;
  return out;
}
