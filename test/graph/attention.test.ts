// attention reference: the backward against central finite differences of Σ out·G (float64, no
// device), with and without dropout (the mask is a pure function of the index, so it is fixed),
// with padding keys; and the forward's probabilities sum to 1 and ignore padding keys.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attentionBackwardReference, attentionForwardReference, type AttentionDropout, type AttentionRefShape } from '../../src/graph/ops/attention.js';
import { randomF32 } from '../support/random.js';

function checkGradient(shape: AttentionRefShape, mask: number[], drop: AttentionDropout | undefined, seed: number): void {
  const { B, T, H } = shape;
  const qkv = Float64Array.from(randomF32(B * T * 3 * H, seed, 1.5));
  const g = Float64Array.from(randomF32(B * T * H, seed + 1));
  const objective = () => {
    const { out } = attentionForwardReference(qkv, mask, shape, drop);
    let total = 0;
    for (let i = 0; i < out.length; i++) total += out[i]! * g[i]!;
    return total;
  };
  const grad = attentionBackwardReference(g, qkv, mask, shape, drop);
  const h = 1e-6;
  for (let i = 0; i < qkv.length; i++) {
    const x = qkv[i]!;
    qkv[i] = x + h;
    const up = objective();
    qkv[i] = x - h;
    const down = objective();
    qkv[i] = x;
    const fd = (up - down) / (2 * h);
    assert.ok(Math.abs(fd - grad[i]!) <= 1e-7 + 1e-6 * Math.abs(fd), `${JSON.stringify(shape)} [${i}] fd ${fd} vs grad ${grad[i]}`);
  }
}

test('attention backward = finite differences (no dropout, padding keys)', () => {
  checkGradient({ B: 1, T: 1, H: 1, heads: 1 }, [1], undefined, 1);
  checkGradient({ B: 2, T: 3, H: 4, heads: 2 }, [1, 1, 0, 1, 1, 1], undefined, 2);
  checkGradient({ B: 1, T: 4, H: 5, heads: 1 }, [1, 0, 1, 1], undefined, 3);
});

test('attention backward = finite differences (with dropout)', () => {
  checkGradient({ B: 2, T: 3, H: 6, heads: 3 }, [1, 1, 1, 1, 0, 1], { p: 0.3, seed: 7, stream: 2, microStep: 5 }, 4);
});

test('attention probabilities sum to 1 and give padding keys ~0', () => {
  const shape = { B: 1, T: 5, H: 4, heads: 2 };
  const mask = [1, 1, 0, 1, 0];
  const { probs } = attentionForwardReference(randomF32(5 * 12, 9), mask, shape);
  for (let r = 0; r < 2 * 5; r++) {
    let sum = 0;
    for (let j = 0; j < 5; j++) {
      sum += probs[r * 5 + j]!;
      if (mask[j] === 0) assert.ok(probs[r * 5 + j]! < 1e-30, `padding key ${j} got ${probs[r * 5 + j]}`);
    }
    assert.ok(Math.abs(sum - 1) < 1e-12);
  }
});

test.run();
