// Runs a compiled training plan for one micro-batch on the test device and the same graph on
// the CPU in float64, so tests can compare losses and every parameter gradient.
import type { Compiled } from '../../src/compiler/compile.js';
import { BufferPool, PlanExecutor } from '../../src/runtime/executor.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { encodeStepState, type StepState } from '../../src/plan/step-state.js';
import { initParam } from '../../src/train/init.js';
import { evaluate, type Values } from '../../src/graph/cpu-eval.js';
import type { PlanInputs } from '../../src/train/batch-inputs.js';
import { testGpu } from './gpu.js';
import { assertClose } from './harness.js';
import * as assert from 'uvu/assert';

/** A valid random micro-batch (src/train/synthetic-batch.ts). */
export { randomBatch } from '../../src/train/synthetic-batch.js';

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

/**
 * Asserts the GPU run matches the float64 CPU evaluation of the same graph: every metric
 * (losses, accuracies) and every parameter gradient, each tensor within 2e-3 of its own scale.
 */
export function assertMatchesCpu(name: string, compiled: Compiled, run: PlanRun, values: Values): void {
  const g = compiled.model.graph;
  for (const [metric, id] of Object.entries(compiled.model.metrics)) {
    if (id === undefined) continue;
    assertClose([run.metrics[metric]!], [values.get(id)![0]!], { atol: 1e-4, rtol: 1e-4 }, `${name}: ${metric}`);
  }
  const loss = run.metrics.mlm_loss ?? run.metrics.cls_loss!;
  assert.ok(loss > 0.5, `${name}: implausible loss ${loss}`);
  let checked = 0;
  for (const t of g.tensors) {
    if (t.role !== 'grad') continue;
    const param = g.get(t.gradOf!);
    const ref = values.get(t.id);
    assert.ok(ref, `${name}: CPU evaluation produced no gradient for ${param.name}`);
    const scale = Math.max(...Array.from(ref!, Math.abs));
    assertClose(run.grads.get(param.name)!, ref!, { atol: 1e-5 + 2e-3 * scale, rtol: 2e-3 }, `${name}: grad of ${param.name}`);
    checked++;
  }
  assert.is(checked, compiled.plan.params.length, `${name}: every parameter has a checked gradient`);
}
