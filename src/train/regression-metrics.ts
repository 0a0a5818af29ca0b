// Regression metrics from predictions and targets, as GLUE reports STS-B and scipy computes them:
// mean squared error, Pearson's r, and Spearman's ρ (Pearson's r of the ranks, tied values
// sharing their average rank, as scipy.stats.spearmanr does). A correlation with a constant side
// is undefined; it counts as 0 here (as the classification metrics' zero_division=0), so a
// collapsed model never looks best. Pure.

export interface RegressionMetrics {
  mse: number;
  pearson: number;
  spearman: number;
  examples: number;
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** 1-based ranks; a run of equal values gets the mean of the ranks it spans. */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const ranks = new Float64Array(x.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && x[order[end]!] === x[order[start]!]) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

export function regressionMetrics(predicted: ArrayLike<number>, actual: ArrayLike<number>): RegressionMetrics {
  if (predicted.length !== actual.length) throw new Error(`metrics: ${predicted.length} predictions for ${actual.length} targets`);
  const n = actual.length;
  let se = 0;
  for (let i = 0; i < n; i++) se += (predicted[i]! - actual[i]!) ** 2;
  return { mse: n > 0 ? se / n : 0, pearson: pearson(predicted, actual), spearman: pearson(averageRanks(predicted), averageRanks(actual)), examples: n };
}
