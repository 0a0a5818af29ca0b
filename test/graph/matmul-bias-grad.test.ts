// The bias-gradient reference against central finite differences of the forward matmul
// reference (float64, no device): for L = Σ G ⊙ matmul(x, W, bias), dL/dbias = biasGrad(G).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matmulReference } from '../../src/graph/ops/matmul.js';
import { biasGradReference } from '../../src/graph/ops/matmul-bias-grad.js';
import { assertGradientFd, f64, weightedSum } from '../support/finite-diff.js';
import { randomF32 } from '../support/random.js';

test('biasGradReference matches finite differences of matmulReference', () => {
  for (const [M, N, K] of [[1, 1, 1], [5, 3, 4], [7, 6, 2]] as const) {
    const x = f64(randomF32(M * K, 1)); // (M, K)
    const w = f64(randomF32(N * K, 2)); // (N, K): weights [out, in]
    const bias = f64(randomF32(N, 3)); // (N)
    const g = f64(randomF32(M * N, 4)); // dL/dY (M, N)
    const loss = (b: Float64Array) => weightedSum(matmulReference(x, w, { M, N, K, transB: true }, b), g);
    assertGradientFd(loss, bias, biasGradReference(g, M, N), `bias_grad M ${M} N ${N} K ${K}`);
  }
});

test('biasGradReference accumulates into the previous value', () => {
  assert.equal(Array.from(biasGradReference([1, 2, 3, 4], 2, 2, [1, -2])), [5, 4]);
});

test.run();
