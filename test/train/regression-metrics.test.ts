// Regression metrics against values worked out by hand (numpy's corrcoef for Pearson; Spearman
// as the Pearson correlation of average ranks, scipy.stats.spearmanr's definition with ties).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { averageRanks, regressionMetrics } from '../../src/train/regression-metrics.js';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('MSE, Pearson and Spearman with ties on both sides', () => {
  const predicted = [0.1, 0.4, 0.35, 0.8, 0.8, 2.0];
  const actual = [0, 1, 1, 3, 2, 5];
  assert.equal(Array.from(averageRanks(predicted)), [1, 3, 2, 4.5, 4.5, 6]);
  assert.equal(Array.from(averageRanks(actual)), [1, 2.5, 2.5, 5, 4, 6]);
  const m = regressionMetrics(predicted, actual);
  close(m.mse, 2.67875, 'mse');
  close(m.pearson, 0.9702502130300378, 'pearson');
  close(m.spearman, 33 / 34, 'spearman');
  assert.is(m.examples, 6);
});

test('a perfectly ranked but nonlinear prediction: Spearman 1, Pearson below; reversed order: −1', () => {
  const x = [1, 2, 3, 4, 5];
  const m = regressionMetrics(x.map((v) => v ** 3), x);
  close(m.spearman, 1, 'spearman');
  assert.ok(m.pearson < 0.99 && m.pearson > 0.9, `pearson ${m.pearson}`);
  close(regressionMetrics(x.map((v) => -v), x).pearson, -1, 'reversed pearson');
});

test('a constant prediction has no correlation: 0, not NaN', () => {
  const m = regressionMetrics([2, 2, 2], [1, 2, 3]);
  assert.is(m.pearson, 0);
  assert.is(m.spearman, 0);
  close(m.mse, 2 / 3, 'mse');
  assert.throws(() => regressionMetrics([1, 2], [1]), /2 predictions for 1 targets/);
});

test.run();
