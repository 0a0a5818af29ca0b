// Graph-level fusion for forward-only graphs (evaluation, inference): a projection whose only
// reader is an activation becomes one matmul with the activation as its epilogue. Training
// graphs keep them apart: the activation's backward needs the pre-activation values, which the
// fused kernel never writes.
import type { Graph, Op } from './ir.js';

export function fuseForwardEpilogues(g: Graph): number {
  const readers = new Map<number, Op[]>();
  for (const op of g.ops) for (const id of Object.values(op.inputs)) readers.set(id, [...(readers.get(id) ?? []), op]);
  const removed = new Set<Op>();
  for (const op of g.ops) {
    if (op.kind !== 'linear' || (op as Op<'linear'>).attrs.epilogue) continue;
    const y = op.outputs.y!;
    const r = readers.get(y) ?? [];
    if (r.length !== 1 || r[0]!.kind !== 'activation' || g.get(y).keep) continue;
    const act = r[0] as Op<'activation'>;
    (op as Op<'linear'>).attrs = { epilogue: act.attrs.fn };
    op.outputs = { y: act.outputs.y! };
    op.label = `${op.label}+${act.attrs.fn}`;
    removed.add(act);
  }
  const kept = g.ops.filter((op) => !removed.has(op));
  g.ops.length = 0;
  g.ops.push(...kept);
  return removed.size;
}
