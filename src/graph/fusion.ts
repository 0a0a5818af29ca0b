// Graph-level fusion: a projection whose only reader is an activation becomes one matmul with
// the activation as its epilogue. Forward-only graphs (evaluation, inference) drop the
// pre-activation; training graphs (before autodiff) keep it as the linear's second output
// `pre`, written by the same matmul, for the activation's backward (tanh's derivative comes
// from its output, so the tanh projection stores none).
import type { Graph, Op } from './ir.js';

export function fuseForwardEpilogues(g: Graph): number {
  return fuseEpilogues(g, false);
}

/** Training graphs, before appendBackward: outputs { y: activation's y, pre: linear's y }. */
export function fuseTrainingEpilogues(g: Graph): number {
  return fuseEpilogues(g, true);
}

function fuseEpilogues(g: Graph, training: boolean): number {
  const readers = new Map<number, Op[]>();
  for (const op of g.ops) for (const id of Object.values(op.inputs)) readers.set(id, [...(readers.get(id) ?? []), op]);
  const removed = new Set<Op>();
  for (const op of g.ops) {
    if (op.kind !== 'linear' || (op as Op<'linear'>).attrs.epilogue) continue;
    const y = op.outputs.y!;
    const r = readers.get(y) ?? [];
    if (r.length !== 1 || r[0]!.kind !== 'activation' || g.get(y).keep) continue;
    const act = r[0] as Op<'activation'>;
    const fn = act.attrs.fn;
    const storePre = training && fn !== 'tanh';
    (op as Op<'linear'>).attrs = storePre ? { epilogue: fn, storePre } : { epilogue: fn };
    op.outputs = storePre ? { y: act.outputs.y!, pre: y } : { y: act.outputs.y! };
    op.label = `${op.label}+${act.attrs.fn}`;
    removed.add(act);
  }
  const kept = g.ops.filter((op) => !removed.has(op));
  g.ops.length = 0;
  g.ops.push(...kept);
  return removed.size;
}
