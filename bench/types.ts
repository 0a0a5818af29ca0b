// What every bert-bench suite returns: one row per measured thing. Printed as a table, or
// with --json as one object per line.

export interface BenchRow {
  suite: string;
  /** What was measured, e.g. 'matmul', 'layernorm_forward', 'wordpiece'. */
  name: string;
  /** The kernel family, for kernel rows. */
  kernel?: string;
  /** Kernel variant or implementation, e.g. 'naive', 'blocked', 'hf-tokenizers'. */
  variant: string;
  /** Human-readable shape, e.g. '1024x1024x1024' or 'sotu (10.2 MB)'. */
  shape: string;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  gflops?: number;
  gbps?: number;
  /** Throughput for data suites. */
  tokens_per_s?: number;
  pct_of_peak?: number;
  /** Which measured peak pct_of_peak is against: 'fma' (GFLOP/s), 'copy' (GB/s) or 'matmul' (MFU). */
  peak?: 'fma' | 'copy' | 'matmul';
  /** Speed-up over the baseline variant at the same op and shape (baseline median ÷ this median). */
  vs_baseline?: number;
  /** Free-form extra numbers (e.g. tokens_per_s for steps, mfu). */
  extra?: Record<string, number | string>;
}

export interface BenchOptions {
  /** Reduced sizes and iteration counts, for smoke tests. */
  quick: boolean;
  /** The long form: three samples of every slow launch, naive baselines included, and the recipe's shapes on any adapter. */
  full?: boolean;
  recipe?: string;
  /** Forced kernel variants: kernel name -> variant. */
  variants?: Record<string, string>;
  /** Sequences per micro-batch for the kernels and step suites (default: the recipe's). */
  microBatch?: number;
  /** Progress and notes (shapes chosen, peaks) go here, never to stdout (which carries rows). */
  log?: (line: string) => void;
}

export interface BenchSuite {
  name: string;
  summary: string;
  run(options: BenchOptions, report: (row: BenchRow) => void): Promise<void>;
}
