// embedding backward reference against central finite differences of the forward reference
// (all three tables), and groupRowsById's CSR grouping; float64, no device.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { embeddingForwardReference, embeddingBackwardReference, groupRowsById } from '../../src/graph/ops/embedding.js';
import { assertGradientFd, weightedSum, f64 } from '../support/finite-diff.js';
import { randomF32, randomInt } from '../support/random.js';

test('embedding backward = finite differences of the forward (word, position, type)', () => {
  const [B, seq, H, V, P, TV] = [2, 3, 4, 5, 4, 2];
  const N = B * seq;
  const ids = randomInt(N, 1, V);
  const types = randomInt(N, 2, TV);
  const word = f64(randomF32(V * H, 3));
  const pos = f64(randomF32(P * H, 4));
  const type = f64(randomF32(TV * H, 5));
  const w = f64(randomF32(N * H, 6));
  const g = embeddingBackwardReference(w, ids, types, N, H, seq, V, P, TV);
  assertGradientFd((v) => weightedSum(embeddingForwardReference(ids, types, v, pos, type, N, H, seq), w), word, g.dWord, 'dWord');
  assertGradientFd((v) => weightedSum(embeddingForwardReference(ids, types, word, v, type, N, H, seq), w), pos, g.dPos, 'dPos');
  assertGradientFd((v) => weightedSum(embeddingForwardReference(ids, types, word, pos, v, N, H, seq), w), type, g.dType, 'dType');
});

test('groupRowsById: sorted unique ids, CSR offsets, rows ascending within a group', () => {
  const g = groupRowsById([5, 2, 5, 0, 2, 5]);
  assert.equal(Array.from(g.unique), [0, 2, 5]);
  assert.equal(Array.from(g.offsets), [0, 1, 3, 6]);
  assert.equal(Array.from(g.rows), [3, 1, 4, 0, 2, 5]);
  const empty = groupRowsById([]);
  assert.equal([empty.unique.length, Array.from(empty.offsets), empty.rows.length], [0, [0], 0]);
});

test.run();
