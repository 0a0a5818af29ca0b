// Runs a compiled training plan for one micro-batch on the test device and the same graph on
// the CPU in float64, so tests can compare losses and every parameter gradient.
import type { Compiled } from '../../src/compiler/compile.js';
import { BufferPool, PlanExecutor } from '../../src/runtime/executor.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { encodeStepState, type StepState } from '../../src/plan/step-state.js';
import { initParam } from '../../src/train/init.js';
import { evaluate, type Values } from '../../src/graph/cpu-eval.js';
import { batchToInputs, type PlanInputs } from '../../src/train/batch-inputs.js';
import { rng } from './random.js';
import { testGpu } from './gpu.js';

export interface RandomBatchShape {
  batch: number;
  seq: number;
  predictions: number;
  vocab: number;
}

/** A plausible batch: special ids avoided, the last tokens of odd sequences padded, some prediction slots empty. */
export function randomBatch(s: RandomBatchShape, seed: number): PlanInputs {
  const next = rng(seed);
  const { batch: B, seq: T, predictions: P, vocab: V } = s;
  const input_ids = new Int32Array(B * T);
  const token_type_ids = new Int32Array(B * T);
  const attention_mask = new Int32Array(B * T);
  const masked_positions = new Int32Array(B * P);
  const masked_ids = new Int32Array(B * P);
  const masked_weights = new Float32Array(B * P);
  const nsp_labels = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const length = b % 2 === 1 ? Math.max(3, T - 2) : T;
    for (let t = 0; t < T; t++) {
      const real = t < length;
      input_ids[b * T + t] = real ? 5 + Math.floor(next() * (V - 5)) : 0;
      token_type_ids[b * T + t] = real && t >= length / 2 ? 1 : 0;
      attention_mask[b * T + t] = real ? 1 : 0;
    }
    const used = b % 2 === 1 ? P - 1 : P;
    const positions = new Set<number>();
    while (positions.size < used) positions.add(1 + Math.floor(next() * (length - 1)));
    [...positions].forEach((pos, p) => {
      masked_positions[b * P + p] = pos;
      masked_ids[b * P + p] = 5 + Math.floor(next() * (V - 5));
      masked_weights[b * P + p] = 1;
    });
    nsp_labels[b] = next() < 0.5 ? 0 : 1;
  }
  return batchToInputs({ batchSize: B, seqLen: T, maxPredictions: P, input_ids, token_type_ids, attention_mask, masked_positions, masked_ids, masked_weights, nsp_labels }, V);
}

export interface PlanRun {
  metrics: Record<string, number>;
  /** Param name → gradient read back from the GPU. */
  grads: Map<string, Float32Array>;
  /** Param name → initial value. */
  params: Map<string, Float32Array>;
  executor: PlanExecutor;
  pool: BufferPool;
}

export function stepStateFor(inputs: PlanInputs, nspWeight: number, mlmWeight = 1): StepState {
  const predictions = (inputs.masked_weights as Float32Array).reduce((a, b) => a + b, 0);
  return { step: 1, lr: 1e-3, seed: 1234, microStep: 3, mlmScale: mlmWeight / Math.max(1, predictions), nspScale: nspWeight / (inputs.cls_rows as Int32Array).length };
}

/** `device` runs it on another device than testGpu()'s (e.g. one opened with features disabled). */
export async function runPlanOnce(compiled: Compiled, inputs: PlanInputs, step: StepState, seed = 99, device?: { runtime: Runtime }): Promise<PlanRun> {
  const { runtime } = device ?? (await testGpu());
  const { plan } = compiled;
  const pool = new BufferPool(runtime);
  const executor = await PlanExecutor.create(plan, pool);
  const params = new Map<string, Float32Array>();
  for (const p of plan.params) {
    const data = initParam(p, seed);
    params.set(p.name, data);
    runtime.write(pool.get(p.buffer), data, p.offset);
  }
  runtime.write(pool.get('step_state'), encodeStepState(step));
  executor.upload(inputs);
  await executor.run('microbatch');
  const metrics = await executor.readMetrics();
  const grads = new Map<string, Float32Array>();
  for (const p of plan.params) {
    if (!p.grad) continue;
    grads.set(p.name, new Float32Array(await runtime.read(pool.get(p.grad.buffer), p.grad.offset, p.grad.size)));
  }
  return { metrics, grads, params, executor, pool };
}

/** The same graph in float64 on the CPU: tensor values by id. */
export function evaluateOnCpu(compiled: Compiled, params: Map<string, Float32Array>, inputs: PlanInputs, step: StepState): Values {
  const g = compiled.model.graph;
  const values: Values = new Map();
  for (const t of g.tensors) {
    if (t.role === 'param') values.set(t.id, Float64Array.from(params.get(t.name)!));
    if (t.role === 'input') values.set(t.id, Float64Array.from(inputs[t.name]!));
  }
  return evaluate(g, values, step);
}
