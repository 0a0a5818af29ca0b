// crossentropy reference: its gradient against central finite differences of Σ loss, float64,
// no device; and the loss against a direct evaluation of −log softmax.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crossentropyLossSum, crossentropyReference } from '../../src/graph/ops/crossentropy.js';
import { randomF32, randomInt } from '../support/random.js';

function checkGradient(R: number, V: number, seed: number, labelsOverride?: number[]): void {
  const logits = Float64Array.from(randomF32(R * V, seed, 2));
  const labels = labelsOverride ?? Array.from(randomInt(R, seed + 1, V));
  const weights = Array.from({ length: R }, (_, r) => (r % 3 === 2 ? 0 : 0.5 + r / R));
  const scale = 0.7;
  const { dLogits } = crossentropyReference(logits, labels, weights, { R, V }, scale);
  const h = 1e-6;
  for (let i = 0; i < R * V; i++) {
    const x = logits[i]!;
    logits[i] = x + h;
    const up = crossentropyLossSum(logits, labels, weights, { R, V }, scale);
    logits[i] = x - h;
    const down = crossentropyLossSum(logits, labels, weights, { R, V }, scale);
    logits[i] = x;
    const fd = (up - down) / (2 * h);
    assert.ok(Math.abs(fd - dLogits[i]!) <= 1e-7 + 1e-6 * Math.abs(fd), `R ${R} V ${V} [${i}] fd ${fd} vs grad ${dLogits[i]}`);
  }
}

test('crossentropy gradient = finite differences of Σ loss', () => {
  checkGradient(1, 1, 1);
  checkGradient(4, 2, 2);
  checkGradient(5, 9, 3);
  checkGradient(3, 6, 4, [-1, 2, 6]); // out-of-range labels: no loss, no gradient
});

test('crossentropy loss = weight·scale·(−log softmax[label]); correct = argmax hit', () => {
  const logits = [1, 3, 2, 0.5, 0.5, -1];
  const { losses, correct } = crossentropyReference(logits, [1, 0], [2, 1], { R: 2, V: 3 }, 0.5);
  const p = Math.exp(3) / (Math.exp(1) + Math.exp(3) + Math.exp(2));
  assert.ok(Math.abs(losses[0]! - 2 * 0.5 * -Math.log(p)) < 1e-12);
  assert.equal(Array.from(correct), [1, 1]); // row 1: a tie at 0 and 1 picks the lowest index
});

test.run();
