// scatter_rows_add is the adjoint of gather_rows on rows with weight ≠ 0: checked against
// central finite differences of the gather reference, float64, no device.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gatherRowsReference, scatterRowsAddReference } from '../../src/graph/ops/rows.js';
import { assertGradientFd, weightedSum, f64 } from '../support/finite-diff.js';
import { randomF32 } from '../support/random.js';

test('scatter_rows_add = gradient of gather_rows (unique rows, weight ≠ 0)', () => {
  const [N, H] = [6, 3];
  const idx = [4, 0, 2];
  const src = f64(randomF32(N * H, 1));
  const w = f64(randomF32(idx.length * H, 2));
  const grad = scatterRowsAddReference(w, idx, [1, 1, 1], N, H);
  assertGradientFd((v) => weightedSum(gatherRowsReference(v, idx, H), w), src, grad, 'scatter');
});

test('scatter_rows_add skips weight-0 rows and adds into existing values', () => {
  const out = scatterRowsAddReference([1, 2, 3, 4], [1, 0], [1, 0], 2, 2, [10, 10, 10, 10]);
  assert.equal(Array.from(out), [10, 10, 11, 12]);
});

test.run();
