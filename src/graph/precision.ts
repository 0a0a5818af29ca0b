// Mixed precision as a graph rewrite (runtime.precision f16): activations and their gradients
// become f16 and every op reads f16 copies of the parameters; what sums many terms or must not
// lose range stays f32: parameter masters, their gradients (accumulated over micro-batches and
// fed to the optimizer), and the outputs each op's definition names (f32Outputs: LayerNorm
// statistics, per-row losses) and the metrics. Kernels accumulate
// in f32 whatever they store. The copies are refreshed from the masters after every update (the
// compiler's `copies` stage). Pure: no kernels, no memory, only tensor dtypes and op inputs.
import type { Graph, Op } from './ir.js';
import type { OpDef } from './op-def.js';
import { OP_DEFS } from './ops/index.js';

export function applyMixedPrecision(g: Graph): void {
  // f16 copies of every parameter, read by the ops in place of the masters.
  const copyOf = new Map<number, number>();
  for (const p of g.params()) {
    copyOf.set(p.id, g.tensor(`${p.name}.f16`, [...p.shape], 'param_copy', 'f16', { copyOf: p.id }));
  }
  const keepF32 = new Set<number>();
  for (const op of g.ops) {
    const outputs = op.outputs as Record<string, number | undefined>;
    for (const name of (OP_DEFS[op.kind] as OpDef<Op['kind']>).f32Outputs ?? []) if (outputs[name] !== undefined) keepF32.add(outputs[name]!);
    const inputs = op.inputs as Record<string, number | undefined>;
    for (const [name, id] of Object.entries(inputs)) {
      const copy = id === undefined ? undefined : copyOf.get(id);
      if (copy !== undefined) inputs[name] = copy;
    }
  }
  for (const t of g.tensors) {
    if (t.role !== 'activation' || t.dtype !== 'f32' || keepF32.has(t.id)) continue;
    // An in-place output (dlogits over logits) takes its base's type.
    t.dtype = 'f16';
  }
}
