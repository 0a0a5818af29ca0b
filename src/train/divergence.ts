// The divergence watch: a loss far above its recent median means the run is blowing up even when
// every value is still finite (a huge learning rate took one run from 8 to 19,000 with no NaN, so
// nothing was skipped and nothing said). Reports the first spike only; the runner decides whether
// that is a warning or the end of the run. Pure: no I/O.

export interface Spike {
  median: number;
  /** How many previous losses the median was taken over. */
  window: number;
}

/**
 * Judging starts from the second step: a blow-up often comes within the first few updates (a
 * huge learning rate without warmup), and a healthy run's loss does not jump 4× from one step to
 * the next even then.
 */
const MIN_HISTORY = 1;

export class DivergenceWatch {
  private readonly recent: number[] = [];
  private reported = false;

  /** factor 0 turns the watch off. */
  constructor(
    readonly factor: number,
    readonly window: number,
  ) {}

  /** Feeds one finite step loss; returns the spike the first time one exceeds factor × median. */
  observe(loss: number): Spike | undefined {
    let spike: Spike | undefined;
    if (this.factor > 0 && !this.reported && this.recent.length >= MIN_HISTORY) {
      const median = medianOf(this.recent);
      if (median > 0 && loss > this.factor * median) {
        spike = { median, window: this.recent.length };
        this.reported = true;
      }
    }
    this.recent.push(loss);
    if (this.recent.length > this.window) this.recent.shift();
    return spike;
  }
}

export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
