// elementwise backward references against central finite differences of the forward
// references, float64, no device.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { activationForwardReference, activationBackwardReference, gegluForwardReference, gegluBackwardReference, dropoutReference, addReference, scaleReference } from '../../src/graph/ops/elementwise.js';
import type { ActivationName } from '../../src/graph/ops/activation.js';
import { dropoutKeep } from '../../src/graph/ops/rng.js';
import { assertGradientFd, weightedSum, f64 } from '../support/finite-diff.js';
import { randomF32 } from '../support/random.js';

const ACTS: ActivationName[] = ['gelu', 'gelu_tanh', 'relu', 'tanh'];

test('activation backward = finite differences of the forward (tanh from its output)', () => {
  for (const name of ACTS) {
    // Keep relu's inputs away from its kink at 0, where finite differences are meaningless.
    const x = f64(randomF32(23, 1, 3)).map((v) => (name === 'relu' && Math.abs(v) < 0.01 ? 0.5 : v));
    const w = f64(randomF32(23, 2));
    const saved = name === 'tanh' ? activationForwardReference('tanh', x) : x;
    const dx = activationBackwardReference(name, w, saved);
    assertGradientFd((v) => weightedSum(activationForwardReference(name, v), w), x, dx, `act ${name}`);
  }
});

test('GEGLU backward = finite differences of the forward, both halves', () => {
  for (const [rows, F] of [[1, 1], [3, 5], [2, 8]] as const) {
    for (const name of ['gelu', 'gelu_tanh'] as const) {
      const inp = f64(randomF32(rows * 2 * F, rows + F, 2));
      const w = f64(randomF32(rows * F, 7));
      const dIn = gegluBackwardReference(w, inp, rows, F, name);
      assertGradientFd((v) => weightedSum(gegluForwardReference(v, rows, F, name), w), inp, dIn, `geglu ${name} ${rows}x${F}`);
    }
  }
});

test('dropout backward = finite differences of the forward; mask is the shared RNG', () => {
  const d = { p: 0.3, seed: 42, stream: 5, microStep: 3 };
  const x = f64(randomF32(50, 3));
  const w = f64(randomF32(50, 4));
  assertGradientFd((v) => weightedSum(dropoutReference(v, d), w), x, dropoutReference(w, d), 'dropout');
  const y = dropoutReference(x, d);
  let dropped = 0;
  for (let i = 0; i < 50; i++) {
    const keep = dropoutKeep(d.seed, d.stream, d.microStep, i, d.p);
    if (!keep) dropped++;
    assert.ok(Math.abs(y[i]! - (keep ? x[i]! / 0.7 : 0)) < 1e-12);
  }
  assert.ok(dropped > 5 && dropped < 30, `dropped ${dropped} of 50 at p 0.3`);
});

test('add and scale are linear: gradients are 1 and alpha', () => {
  const a = f64(randomF32(9, 5));
  const b = f64(randomF32(9, 6));
  const w = f64(randomF32(9, 8));
  assertGradientFd((v) => weightedSum(addReference(v, b), w), a, w, 'add');
  assertGradientFd((v) => weightedSum(scaleReference(v, -1.5), w), a, scaleReference(w, -1.5), 'scale');
});

test.run();
