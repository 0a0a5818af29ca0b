// Graph-level fusion: a projection whose only reader is an activation becomes one matmul with
// the activation as its epilogue. Forward-only graphs (evaluation, inference) drop the
// pre-activation; training graphs (before autodiff) keep it as the linear's second output
// `pre`, written by the same matmul, for the activation's backward (tanh's derivative comes
// from its output, so the tanh projection stores none).
//
// Training graphs after autodiff: a dense layer's bias gradient db = Σ_tokens dY joins the weight
// gradient's product dW = dYᵀ·X, which reads the same dY as its A (fuseBiasGradients), and an
// activation's backward joins the product that makes its dy (fuseActivationBackward), and a
// dropout's backward joins the LayerNorm backward that makes its dy (fuseDropoutBackward); a
// dropout of a LayerNorm's output joins the LayerNorm (fuseLayernormDropout).
import { tensorsOf, type Graph, type Op } from './ir.js';

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
  return removeOps(g, removed);
}

/**
 * Training graphs, after appendBackward: each bias_grad (db = column sums of dY) whose dY is the
 * A of a weight-gradient product C = dYᵀ·X (transA, not transB) becomes that matmul's `rowSum`
 * output, `+=` where the bias_grad accumulated. The lowering computes it in the product's own
 * loop where the chosen kernel can, else with the bias-gradient kernel right after it.
 */
export function fuseBiasGradients(g: Graph): number {
  const products = new Map<number, number>(); // dY → index of the first product reading it as A
  g.ops.forEach((op, i) => {
    if (op.kind !== 'matmul') return;
    const mm = op as Op<'matmul'>;
    if (mm.attrs.transA && !mm.attrs.transB && !products.has(mm.inputs.a)) products.set(mm.inputs.a, i);
  });
  const removed = new Set<Op>();
  g.ops.forEach((op, i) => {
    if (op.kind !== 'bias_grad') return;
    const bg = op as Op<'bias_grad'>;
    const at = products.get(bg.inputs.dy);
    if (at === undefined) return;
    const mm = g.ops[at] as Op<'matmul'>;
    // Moving db's write to the product must not reorder it with another op that reads or writes it.
    const between = g.ops.slice(Math.min(at, i) + 1, Math.max(at, i));
    if (mm.outputs.rowSum !== undefined || between.some((o) => touches(o, bg.outputs.db))) return;
    mm.outputs = { ...mm.outputs, rowSum: bg.outputs.db };
    if (bg.accumulate.includes('db')) mm.accumulate = [...mm.accumulate, 'rowSum'];
    mm.label = mm.label.replace(/(\.bwd)?$/, '+db$1');
    removed.add(bg);
  });
  return removeOps(g, removed);
}

/**
 * Training graphs, after appendBackward: an activation_backward (dx = dy ⊙ act′(x); not tanh,
 * whose derivative comes from its output) whose dy is made by a matmul (`=`, no other reader)
 * becomes that matmul's epilogue: it writes dx = product ⊙ act′(x) directly (`+=` where the
 * activation backward accumulated), and dy is never stored. In BERT: the FFN's GELU backward
 * joins the dX product of the FFN's down projection.
 */
export function fuseActivationBackward(g: Graph): number {
  const readers = new Map<number, number>();
  const producer = new Map<number, number>();
  g.ops.forEach((op, i) => {
    for (const [, id] of tensorsOf(op.inputs)) readers.set(id, (readers.get(id) ?? 0) + 1);
    for (const [, id] of tensorsOf(op.outputs)) producer.set(id, i);
  });
  const removed = new Set<Op>();
  g.ops.forEach((op, i) => {
    if (op.kind !== 'activation_backward') return;
    const act = op as Op<'activation_backward'>;
    if (act.attrs.fn === 'tanh') return;
    const dy = act.inputs.dy;
    const at = producer.get(dy);
    if (at === undefined || at >= i || readers.get(dy) !== 1 || g.get(dy).keep) return;
    const mm = g.ops[at]!;
    if (mm.kind !== 'matmul') return;
    const product = mm as Op<'matmul'>;
    if (product.attrs.actGrad !== undefined || product.accumulate.includes('c') || product.outputs.rowSum !== undefined) return;
    const dx = act.outputs.dx;
    if (g.ops.slice(at + 1, i).some((o) => touches(o, dx))) return;
    product.inputs = { ...product.inputs, actPre: act.inputs.x };
    product.attrs = { ...product.attrs, actGrad: act.attrs.fn };
    product.outputs = { ...product.outputs, c: dx };
    if (act.accumulate.includes('dx')) product.accumulate = [...product.accumulate, 'c'];
    product.label = product.label.replace(/(\.bwd)?$/, `+${act.attrs.fn}$1`);
    removed.add(act);
  });
  return removeOps(g, removed);
}

/**
 * Training graphs, after appendBackward: a dropout_backward (`=`) whose dy is the dx a
 * layernorm_backward makes (`=`) becomes that op's `dropped` output, written by the same kernel
 * from the dx it stores. In post-LN BERT: the gradient of each sublayer's output, dropped before
 * the residual add, comes from the LayerNorm backward of that add without re-reading its dx.
 */
export function fuseDropoutBackward(g: Graph): number {
  const writes = (op: Op, id: number) => tensorsOf(op.outputs).some(([, t]) => t === id);
  const removed = new Set<Op>();
  g.ops.forEach((op, i) => {
    if (op.kind !== 'dropout_backward' || op.accumulate.length > 0) return;
    const drop = op as Op<'dropout_backward'>;
    // The last write of dy before the dropout reads it (later ops may still add into dy: in
    // post-LN BERT it is also the residual's gradient).
    let at = i - 1;
    while (at >= 0 && !writes(g.ops[at]!, drop.inputs.dy)) at--;
    if (at < 0) return;
    const ln = g.ops[at]!;
    if (ln.kind !== 'layernorm_backward') return;
    const back = ln as Op<'layernorm_backward'>;
    if (back.outputs.dx !== drop.inputs.dy || back.outputs.dropped !== undefined || back.accumulate.includes('dx')) return;
    // Writing dx's dropped copy earlier must not reorder it with another op that touches it.
    const dropped = drop.outputs.dx;
    if (g.ops.slice(at + 1, i).some((o) => touches(o, dropped))) return;
    back.outputs = { ...back.outputs, dropped };
    back.attrs = { dropout: { p: drop.attrs.p, stream: drop.attrs.stream } };
    back.label = back.label.replace(/(\.bwd)?$/, '+dropout$1');
    removed.add(drop);
  });
  return removeOps(g, removed);
}

/**
 * Training graphs, after appendBackward: a dropout whose input is a LayerNorm's output y, read by
 * nothing else, becomes that LayerNorm's: y is then the dropped output, and the LayerNorm output
 * before the dropout is never stored (its backward reads x and the statistics, not y). In BERT:
 * the embeddings' LayerNorm and dropout.
 */
export function fuseLayernormDropout(g: Graph): number {
  const readers = new Map<number, number>();
  for (const op of g.ops) for (const [, id] of tensorsOf(op.inputs)) readers.set(id, (readers.get(id) ?? 0) + 1);
  const byOutput = new Map<number, Op>();
  for (const op of g.ops) if (op.kind === 'layernorm') byOutput.set(op.outputs.y!, op);
  const removed = new Set<Op>();
  for (const op of g.ops) {
    if (op.kind !== 'dropout' || op.accumulate.length > 0) continue;
    const drop = op as Op<'dropout'>;
    const ln = byOutput.get(drop.inputs.x) as Op<'layernorm'> | undefined;
    if (!ln || ln.attrs.dropout || readers.get(drop.inputs.x) !== 1 || g.get(drop.inputs.x).keep || ln.accumulate.length > 0) continue;
    // Writing the dropped output earlier must not reorder it with another op that touches it.
    const between = g.ops.slice(g.ops.indexOf(ln) + 1, g.ops.indexOf(drop));
    if (between.some((o) => touches(o, drop.outputs.y))) continue;
    ln.attrs = { ...ln.attrs, dropout: { p: drop.attrs.p, stream: drop.attrs.stream } };
    ln.outputs = { ...ln.outputs, y: drop.outputs.y };
    ln.label = `${ln.label}+dropout`;
    removed.add(drop);
  }
  return removeOps(g, removed);
}

/** Whether the op reads or writes the tensor. */
function touches(op: Op, id: number): boolean {
  return [...tensorsOf(op.inputs), ...tensorsOf(op.outputs)].some(([, t]) => t === id);
}

/** Drops the fused-away ops, keeping the others' order; returns how many went. */
function removeOps(g: Graph, removed: ReadonlySet<Op>): number {
  const kept = g.ops.filter((op) => !removed.has(op));
  g.ops.length = 0;
  g.ops.push(...kept);
  return removed.size;
}
