// Classification metrics from predicted and true class ids, as GLUE reports them and
// scikit-learn computes them: accuracy; per-class precision, recall and F1; binary F1 (the
// positive class is class 1, as in MRPC and QQP); macro F1 (the unweighted mean over classes);
// and the Matthews correlation coefficient (CoLA), in its multiclass form (Gorodkin's R_K), which
// is the familiar (TP·TN − FP·FN) / √(…) for two classes. Undefined ratios (a class never
// predicted or never present) count as 0, as scikit-learn's zero_division=0 does. Pure.

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Examples whose true class this is. */
  support: number;
}

export interface ClassificationMetrics {
  accuracy: number;
  /** F1 of class 1; only for two classes. */
  f1?: number;
  macro_f1: number;
  mcc: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted] */
  confusion: number[][];
  examples: number;
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);

export function classificationMetrics(predicted: ArrayLike<number>, actual: ArrayLike<number>, classes: number): ClassificationMetrics {
  if (predicted.length !== actual.length) throw new Error(`metrics: ${predicted.length} predictions for ${actual.length} labels`);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < actual.length; i++) {
    const t = actual[i]!;
    const p = predicted[i]!;
    if (!(t >= 0 && t < classes && p >= 0 && p < classes)) throw new Error(`metrics: class ids must be in [0, ${classes}) (got true ${t}, predicted ${p})`);
    confusion[t]![p]!++;
  }
  const n = actual.length;
  const correct = confusion.reduce((s, row, k) => s + row[k]!, 0);
  const truePer = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const predPer = confusion[0]!.map((_, k) => confusion.reduce((s, row) => s + row[k]!, 0));
  const perClass = confusion.map((row, k): ClassMetrics => {
    const precision = ratio(row[k]!, predPer[k]!);
    const recall = ratio(row[k]!, truePer[k]!);
    return { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support: truePer[k]! };
  });
  // Gorodkin: (c·s − Σ p_k·t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)).
  const sumPT = predPer.reduce((s, p, k) => s + p * truePer[k]!, 0);
  const denominator = Math.sqrt((n * n - predPer.reduce((s, p) => s + p * p, 0)) * (n * n - truePer.reduce((s, t) => s + t * t, 0)));
  const out: ClassificationMetrics = {
    accuracy: ratio(correct, n),
    macro_f1: perClass.reduce((s, c) => s + c.f1, 0) / Math.max(1, classes),
    mcc: denominator > 0 ? (correct * n - sumPT) / denominator : 0,
    perClass,
    confusion,
    examples: n,
  };
  if (classes === 2) out.f1 = perClass[1]!.f1;
  return out;
}
