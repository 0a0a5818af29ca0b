// The validation switch (BERT_VALIDATE=1): runs the first micro-batch op by op, reads every
// op's inputs and outputs back, recomputes the op on the CPU in float64 from the GPU's own
// inputs, and stops at the first op whose outputs diverge, naming its label. Each op is thus
// checked in isolation, so the first failure points at one kernel, not at accumulated drift.
import type { Compiled } from '../compiler/compile.js';
import type { PlanExecutor } from '../runtime/executor.js';
import type { StepState } from '../plan/step-state.js';
import { evaluate, type Values } from '../graph/cpu-eval.js';
import { UserError } from '../errors.js';
import { decodeHalves } from './f16.js';

export interface ValidationResult {
  ops: number;
  worst: { label: string; rel: number };
}

export async function validateMicroBatch(compiled: Compiled, exec: PlanExecutor, step: StepState, tolerance = 2e-3): Promise<ValidationResult> {
  const g = compiled.model.graph;
  const steps = compiled.plan.steps.filter((s) => s.stage === 'microbatch');
  const read = async (id: number): Promise<Float64Array> => {
    const t = g.get(id);
    const s = compiled.slice(id);
    const bytes = await exec.runtime.read(exec.pool.get(s.buffer), s.offset, s.size);
    return Float64Array.from(t.dtype === 'i32' ? new Int32Array(bytes) : t.dtype === 'f16' ? decodeHalves(bytes).subarray(0, g.size(id)) : new Float32Array(bytes));
  };
  let worst = { label: '', rel: 0 };
  let cursor = 0;
  for (let i = 0; i < g.ops.length; i++) {
    const op = g.ops[i]!;
    const values: Values = new Map();
    for (const id of Object.values(op.inputs)) values.set(id, await read(id));
    // The CPU needs these too for some ops (embedding backward reads the ids by name).
    values.set(g.named('input_ids'), await read(g.named('input_ids')));
    const outputs = op.outputs as Record<string, number>;
    for (const name of op.accumulate) values.set(outputs[name]!, await read(outputs[name]!));
    let end = cursor;
    while (end < steps.length && steps[end]!.op === i) end++;
    await exec.runRange('microbatch', cursor, end);
    cursor = end;
    evaluate(g, values, step, i, i + 1);
    for (const [name, id] of Object.entries(op.outputs)) {
      const ref = values.get(id)!;
      const got = await read(id);
      let scale = 0;
      for (const v of ref) scale = Math.max(scale, Math.abs(v));
      let maxDiff = 0;
      let at = 0;
      for (let k = 0; k < ref.length; k++) {
        const d = Math.abs(got[k]! - ref[k]!);
        if (!(d <= maxDiff)) {
          maxDiff = Number.isNaN(d) ? Infinity : d;
          at = k;
        }
      }
      const rel = maxDiff / Math.max(scale, 1e-6);
      if (rel > worst.rel) worst = { label: op.label, rel };
      if (!(rel <= tolerance)) {
        throw new UserError(
          `validation: ${op.label} (${op.kind}) diverges from the CPU reference in output ${name}: max |gpu − cpu| = ${maxDiff.toExponential(3)} at [${at}] (gpu ${got[at]}, cpu ${ref[at]}), ${(rel * 100).toFixed(3)}% of the output's scale`,
          'validation_failed',
          1,
        );
      }
    }
  }
  return { ops: g.ops.length, worst };
}

/**
 * Reruns an uploaded micro-batch op by op and returns the first op whose output holds a NaN or
 * an infinity: the diagnosis for a step whose loss or gradient norm went non-finite.
 */
export async function firstNonFinite(compiled: Compiled, exec: PlanExecutor): Promise<{ label: string; output: string; index: number } | undefined> {
  const g = compiled.model.graph;
  const steps = compiled.plan.steps.filter((s) => s.stage === 'microbatch');
  let cursor = 0;
  for (let i = 0; i < g.ops.length; i++) {
    let end = cursor;
    while (end < steps.length && steps[end]!.op === i) end++;
    await exec.runRange('microbatch', cursor, end);
    cursor = end;
    const op = g.ops[i]!;
    for (const [name, id] of Object.entries(op.outputs)) {
      const dtype = g.get(id).dtype;
      if (dtype === 'i32') continue;
      const s = compiled.slice(id);
      const bytes = await exec.runtime.read(exec.pool.get(s.buffer), s.offset, s.size);
      const values = dtype === 'f16' ? decodeHalves(bytes) : new Float32Array(bytes);
      const index = values.findIndex((v) => !Number.isFinite(v));
      if (index >= 0) return { label: op.label, output: name, index };
    }
  }
  return undefined;
}
