// reduce reference: sums and sums of squares, float64, no device (the GPU test checks the tree).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { reduceSumReference } from '../../src/graph/ops/reduce.js';

test('reduce_sum and reduce_sumsq', () => {
  assert.is(reduceSumReference([1, 2, 3.5]), 6.5);
  assert.is(reduceSumReference([1, -2, 3], true), 14);
  assert.is(reduceSumReference([1, -2, 3], true, 0.5), 7);
  assert.is(reduceSumReference([]), 0);
});

test.run();
