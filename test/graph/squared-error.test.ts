// squared_error reference: its gradient against central finite differences of Σ loss, float64,
// no device; and the loss against torch's MSELoss (mean) written out by hand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { squaredErrorLossSum, squaredErrorReference } from '../../src/graph/ops/squared-error.js';
import { randomF32 } from '../support/random.js';

function checkGradient(R: number, seed: number): void {
  const x = Float64Array.from(randomF32(R, seed, 3));
  const y = Array.from(randomF32(R, seed + 1, 2));
  const weights = Array.from({ length: R }, (_, r) => (r % 3 === 2 ? 0 : 0.5 + r / R));
  const scale = 0.7;
  const { dPredictions } = squaredErrorReference(x, y, weights, scale);
  const h = 1e-6;
  for (let i = 0; i < R; i++) {
    const v = x[i]!;
    x[i] = v + h;
    const up = squaredErrorLossSum(x, y, weights, scale);
    x[i] = v - h;
    const down = squaredErrorLossSum(x, y, weights, scale);
    x[i] = v;
    const fd = (up - down) / (2 * h);
    assert.ok(Math.abs(fd - dPredictions[i]!) <= 1e-7 + 1e-6 * Math.abs(fd), `R ${R} [${i}] fd ${fd} vs grad ${dPredictions[i]}`);
  }
}

test('squared_error gradient = finite differences of Σ loss (weight-0 rows: no loss, no gradient)', () => {
  checkGradient(1, 1);
  checkGradient(7, 2);
  checkGradient(33, 3);
});

test('squared_error with scale 1/B and unit weights is MSELoss: mean of (x − y)²', () => {
  const x = [0.5, -1, 2];
  const y = [1, -1, -0.5];
  const { losses, dPredictions } = squaredErrorReference(x, y, [1, 1, 1], 1 / 3);
  assert.ok(Math.abs(losses.reduce((a, b) => a + b, 0) - (0.25 + 0 + 6.25) / 3) < 1e-15);
  assert.equal(Array.from(dPredictions).map((v) => Number(v.toFixed(12))), [-1 / 3, 0, 5 / 3].map((v) => Number(v.toFixed(12))));
});

test.run();
