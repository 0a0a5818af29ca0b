// Turns per-dispatch GPU times into the `--profile` report: time per op family (kernel file)
// and the slowest labels, with GFLOP/s from each step's FLOP count.
import type { KernelPlan } from '../plan/types.js';

export function profileReport(timings: Array<{ label: string; ns: number; kernel: string }>, plan: KernelPlan, timestamps: boolean): string {
  const total = timings.reduce((s, t) => s + t.ns, 0);
  const flops = new Map(plan.steps.map((s) => [s.label, s.flops]));
  const byFamily = new Map<string, number>();
  for (const t of timings) byFamily.set(t.kernel, (byFamily.get(t.kernel) ?? 0) + t.ns);
  const ms = (ns: number) => (ns / 1e6).toFixed(2).padStart(9);
  const lines = [`profile of one step (${timestamps ? 'GPU timestamps' : 'per-dispatch wall time: no timestamp-query on this adapter'}): ${(total / 1e6).toFixed(1)} ms over ${timings.length} dispatches`, '  by op family:'];
  for (const [family, ns] of [...byFamily].sort((a, b) => b[1] - a[1])) lines.push(`    ${family.padEnd(20)} ${ms(ns)} ms  ${((100 * ns) / Math.max(1, total)).toFixed(1).padStart(5)}%`);
  lines.push('  slowest dispatches:');
  for (const t of [...timings].sort((a, b) => b.ns - a.ns).slice(0, 12)) {
    const f = flops.get(t.label) ?? 0;
    lines.push(`    ${t.label.padEnd(52)} ${ms(t.ns)} ms${f > 0 && t.ns > 0 ? `  ${(f / t.ns).toFixed(2)} GFLOP/s` : ''}`);
  }
  return lines.join('\n');
}
