// Prints bench rows as an aligned table (streamed, one row at a time) or as JSON lines.
// JSON rows carry every field of BenchRow; the table shows the common ones and appends
// `extra` as key=value pairs.
import type { BenchRow } from './types.js';

const fixed = (x: number | undefined, digits: number) => (x === undefined ? '' : x.toFixed(digits));
// Significant figures suit numbers that span µs (GPU) to seconds (lavapipe).
const sig = (x: number) => (x >= 100 ? x.toFixed(1) : x >= 1 ? x.toFixed(3) : x.toPrecision(3));

const COLUMNS: Array<[string, number, (r: BenchRow) => string]> = [
  ['suite', 6, (r) => r.suite],
  ['name', 34, (r) => r.name],
  ['variant', 10, (r) => r.variant],
  ['shape', 22, (r) => r.shape],
  ['min ms', 9, (r) => sig(r.min_ms)],
  ['median ms', 9, (r) => sig(r.median_ms)],
  ['max ms', 9, (r) => sig(r.max_ms)],
  ['GFLOP/s', 9, (r) => fixed(r.gflops, 2)],
  ['GB/s', 8, (r) => fixed(r.gbps, 2)],
  ['tokens/s', 9, (r) => (r.tokens_per_s !== undefined ? Math.round(r.tokens_per_s).toString() : '')],
  ['% peak', 13, (r) => (r.pct_of_peak !== undefined ? `${r.pct_of_peak.toFixed(1)} ${r.peak ?? ''}`.trim() : '')],
  ['vs base', 7, (r) => (r.vs_baseline !== undefined ? `${r.vs_baseline.toFixed(2)}x` : '')],
];

export function rowPrinter(json: boolean): (row: BenchRow) => void {
  let headerDone = false;
  return (row) => {
    if (json) {
      console.log(JSON.stringify(row));
      return;
    }
    if (!headerDone) {
      console.log(COLUMNS.map(([h, w]) => h.padEnd(w)).join(' '));
      headerDone = true;
    }
    const extra = row.extra ? '  ' + Object.entries(row.extra).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(4) : v}`).join(' ') : '';
    console.log(COLUMNS.map(([, w, f]) => f(row).padEnd(w)).join(' ') + extra);
  };
}
