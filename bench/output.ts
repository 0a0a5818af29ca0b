// Prints bench rows as an aligned table (streamed, one row at a time) or as JSON lines.
import type { BenchRow } from './types.js';

const COLUMNS: Array<[string, (r: BenchRow) => string]> = [
  ['suite', (r) => r.suite],
  ['kernel', (r) => r.name],
  ['variant', (r) => r.variant],
  ['shape', (r) => r.shape],
  ['min ms', (r) => r.min_ms.toFixed(3)],
  ['median ms', (r) => r.median_ms.toFixed(3)],
  ['max ms', (r) => r.max_ms.toFixed(3)],
  ['GFLOP/s', (r) => (r.gflops !== undefined ? r.gflops.toFixed(2) : '')],
  ['GB/s', (r) => (r.gbps !== undefined ? r.gbps.toFixed(2) : '')],
  ['tokens/s', (r) => (r.tokens_per_s !== undefined ? Math.round(r.tokens_per_s).toString() : '')],
  ['% peak', (r) => (r.pct_of_peak !== undefined ? r.pct_of_peak.toFixed(1) : '')],
];
const WIDTHS = [8, 28, 12, 22, 10, 10, 10, 9, 8, 10, 7];

export function rowPrinter(json: boolean): (row: BenchRow) => void {
  let headerDone = false;
  return (row) => {
    if (json) {
      console.log(JSON.stringify(row));
      return;
    }
    if (!headerDone) {
      console.log(COLUMNS.map(([h], i) => h.padEnd(WIDTHS[i]!)).join(' '));
      headerDone = true;
    }
    const extra = row.extra ? '  ' + Object.entries(row.extra).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(3) : v}`).join(' ') : '';
    console.log(COLUMNS.map(([, f], i) => f(row).padEnd(WIDTHS[i]!)).join(' ') + extra);
  };
}
