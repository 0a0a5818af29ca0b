// layernorm backward reference against central finite differences of the forward reference
// (x, gamma and beta), float64, no device; the fused residual+dropout+LN forward against its parts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { layernormForwardReference, layernormBackwardReference, residualDropoutLayernormForwardReference } from '../../src/graph/ops/layernorm.js';
import { dropoutReference } from '../../src/graph/ops/elementwise.js';
import { assertGradientFd, weightedSum, f64 } from '../support/finite-diff.js';
import { randomF32 } from '../support/random.js';

const EPS = 1e-5;

test('layernorm backward = finite differences of the forward (dx, dgamma, dbeta)', () => {
  for (const [N, H] of [[1, 2], [3, 5], [2, 9]] as const) {
    const x = f64(randomF32(N * H, N * 10 + H, 2));
    const gamma = f64(randomF32(H, 3)).map((v) => 1 + 0.5 * v);
    const beta = f64(randomF32(H, 4));
    const w = f64(randomF32(N * H, 5));
    const { mean, rstd } = layernormForwardReference(x, gamma, beta, N, H, EPS);
    const { dx, dgamma, dbeta } = layernormBackwardReference(w, x, gamma, mean, rstd, N, H);
    const ctx = `N ${N} H ${H}`;
    const tol = { atol: 1e-6, rtol: 1e-5 };
    assertGradientFd((v) => weightedSum(layernormForwardReference(v, gamma, beta, N, H, EPS).y, w), x, dx, `${ctx} dx`, tol);
    assertGradientFd((v) => weightedSum(layernormForwardReference(x, v, beta, N, H, EPS).y, w), gamma, dgamma, `${ctx} dgamma`, tol);
    assertGradientFd((v) => weightedSum(layernormForwardReference(x, gamma, v, N, H, EPS).y, w), beta, dbeta, `${ctx} dbeta`, tol);
  }
});

test('H = 1: y = beta, dx = 0', () => {
  const { y } = layernormForwardReference([3, -2], [2], [0.25], 2, 1, EPS);
  assert.equal(Array.from(y), [0.25, 0.25]);
  const { mean, rstd } = layernormForwardReference([3, -2], [2], [0.25], 2, 1, EPS);
  assert.equal(Array.from(layernormBackwardReference([1, 1], [3, -2], [2], mean, rstd, 2, 1).dx), [0, 0]);
});

test('residual_dropout_layernorm = LN(residual + dropout(a)); p = 0 is a plain add', () => {
  const N = 3;
  const H = 7;
  const res = f64(randomF32(N * H, 1));
  const a = f64(randomF32(N * H, 2));
  const gamma = f64(randomF32(H, 3));
  const beta = f64(randomF32(H, 4));
  const d = { p: 0.25, seed: 9, stream: 2, microStep: 4 };
  const fused = residualDropoutLayernormForwardReference(res, a, gamma, beta, N, H, EPS, d);
  const dropped = dropoutReference(a, d);
  const s = res.map((v, i) => v + dropped[i]!);
  assert.equal(Array.from(fused.s), Array.from(s));
  assert.equal(Array.from(fused.y), Array.from(layernormForwardReference(s, gamma, beta, N, H, EPS).y));
  const plain = residualDropoutLayernormForwardReference(res, a, gamma, beta, N, H, EPS, { ...d, p: 0 });
  assert.equal(Array.from(plain.s), Array.from(res.map((v, i) => v + a[i]!)));
});

test.run();
