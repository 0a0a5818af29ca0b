// Classification metrics against values worked out by hand from the confusion matrices (the same
// numbers scikit-learn's accuracy_score, f1_score (binary, macro) and matthews_corrcoef give).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classificationMetrics } from '../../src/train/classification-metrics.js';

const close = (a: number | undefined, b: number, what: string) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('binary: accuracy, F1 of class 1, macro F1, MCC', () => {
  // true:      1 1 1 1 0 0 0 0 0 0
  // predicted: 1 1 1 0 1 0 0 0 0 0   → TP 3, FN 1, FP 1, TN 5
  const m = classificationMetrics([1, 1, 1, 0, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0], 2);
  assert.equal(m.confusion, [[5, 1], [1, 3]]);
  close(m.accuracy, 0.8, 'accuracy');
  close(m.f1, 0.75, 'f1'); // precision 3/4, recall 3/4
  close(m.perClass[0]!.f1, 5 / 6, 'f1 of class 0');
  close(m.macro_f1, (0.75 + 5 / 6) / 2, 'macro f1');
  close(m.mcc, (3 * 5 - 1 * 1) / Math.sqrt(4 * 4 * 6 * 6), 'mcc'); // (TP·TN − FP·FN)/√((TP+FP)(TP+FN)(TN+FP)(TN+FN))
});

test('multiclass MCC (Gorodkin R_K) and macro F1; a class never predicted counts 0', () => {
  // true:      0 0 1 1 2 2
  // predicted: 0 1 1 1 0 0
  const m = classificationMetrics([0, 1, 1, 1, 0, 0], [0, 0, 1, 1, 2, 2], 3);
  assert.equal(m.confusion, [[1, 1, 0], [0, 2, 0], [2, 0, 0]]);
  close(m.accuracy, 0.5, 'accuracy');
  assert.is(m.f1, undefined);
  // class 0: P 1/3, R 1/2, F1 0.4; class 1: P 2/3, R 1, F1 0.8; class 2: never predicted, 0.
  close(m.macro_f1, (0.4 + 0.8 + 0) / 3, 'macro f1');
  // c = 3, s = 6, p = (3, 3, 0), t = (2, 2, 2): (18 − 12) / √((36 − 18)(36 − 12)).
  close(m.mcc, 6 / Math.sqrt(18 * 24), 'mcc');
});

test('degenerate cases: one predicted class gives MCC 0; perfect predictions give 1', () => {
  const flat = classificationMetrics([0, 0, 0, 0], [0, 1, 0, 1], 2);
  close(flat.mcc, 0, 'mcc of a constant predictor');
  close(flat.f1, 0, 'f1 when class 1 is never predicted');
  const perfect = classificationMetrics([2, 0, 1, 1], [2, 0, 1, 1], 3);
  close(perfect.mcc, 1, 'perfect mcc');
  close(perfect.macro_f1, 1, 'perfect macro f1');
  assert.throws(() => classificationMetrics([0, 3], [0, 1], 2), /class ids must be in \[0, 2\)/);
});

test.run();
