// Replays a KernelPlan: creates its buffers (sharing those with the same id across plans, such
// as parameters between the training and evaluation programs), prepares every dispatch once
// (pipelines and bind groups), then per call uploads inputs and the step state and submits a
// stage. Knows the plan format (io slots, step state, norm state), nothing of what the steps compute.
import type { BufferDecl, KernelPlan, PlanStep } from '../plan/types.js';
import { encodeStepState, STEP_STATE_BUFFER, type StepState } from '../plan/step-state.js';
import { decodeNormState, NORM_STATE_WORDS, type NormState } from '../plan/norm-state.js';
import { Runtime, type PreparedDispatch } from './runtime.js';

export class BufferPool {
  private readonly buffers = new Map<string, { buffer: GPUBuffer; bytes: number }>();
  constructor(readonly runtime: Runtime) {}

  async ensure(decl: BufferDecl): Promise<GPUBuffer> {
    const existing = this.buffers.get(decl.id);
    if (existing && existing.bytes >= decl.bytes) return existing.buffer;
    if (existing) {
      if (decl.role === 'param' || decl.role === 'grad' || decl.role === 'optimizer') {
        throw new Error(`buffer ${decl.id}: plans disagree on its size (${existing.bytes} vs ${decl.bytes})`);
      }
      existing.buffer.destroy();
    }
    const buffer = await this.runtime.createBuffer(decl.id, decl.bytes);
    this.buffers.set(decl.id, { buffer, bytes: decl.bytes });
    return buffer;
  }

  get(id: string): GPUBuffer {
    const entry = this.buffers.get(id);
    if (!entry) throw new Error(`no buffer ${id}`);
    return entry.buffer;
  }

  size(id: string): number {
    const entry = this.buffers.get(id);
    if (!entry) throw new Error(`no buffer ${id}`);
    return entry.buffer.size;
  }

  has(id: string): boolean {
    return this.buffers.has(id);
  }

  release(ids: string[]): void {
    for (const id of ids) {
      this.buffers.get(id)?.buffer.destroy();
      this.buffers.delete(id);
    }
  }

  destroy(): void {
    this.release([...this.buffers.keys()]);
  }
}

export class PlanExecutor {
  private constructor(
    readonly plan: KernelPlan,
    readonly runtime: Runtime,
    readonly pool: BufferPool,
    private readonly prepared: Map<PlanStep['stage'], PreparedDispatch[]>,
    private readonly uniforms: GPUBuffer,
  ) {}

  /** Frees what this executor owns (its uniform block); the pool's buffers stay with the pool. */
  destroy(): void {
    this.uniforms.destroy();
    this.prepared.clear();
  }

  static async create(plan: KernelPlan, pool: BufferPool): Promise<PlanExecutor> {
    const runtime = pool.runtime;
    for (const decl of plan.buffers) await pool.ensure(decl);
    // All uniform blocks of the plan live in one buffer, each at an aligned offset.
    const align = Math.max(256, runtime.device.limits.minUniformBufferOffsetAlignment);
    const slotBytes = (n: number) => Math.ceil(Math.max(16, Math.ceil(n / 4) * 16) / align) * align;
    const total = plan.steps.reduce((s, step) => s + slotBytes(step.uniforms.length), 0);
    const words = new Uint32Array(Math.max(4, total / 4));
    let offset = 0;
    const offsets: number[] = [];
    for (const step of plan.steps) {
      offsets.push(offset);
      for (let i = 0; i < step.uniforms.length; i++) words[offset / 4 + i] = step.uniforms[i]! >>> 0;
      offset += slotBytes(step.uniforms.length);
    }
    const uniformBuffer = runtime.device.createBuffer({ label: `${plan.name}.uniforms`, size: words.byteLength, usage: 0x40 | 0x8 });
    runtime.device.queue.writeBuffer(uniformBuffer, 0, words);
    const prepared = new Map<PlanStep['stage'], PreparedDispatch[]>();
    for (let i = 0; i < plan.steps.length; i++) {
      const step = plan.steps[i]!;
      const p = await runtime.prepare(step, (id) => pool.get(id), { buffer: uniformBuffer, offset: offsets[i]! });
      const list = prepared.get(step.stage) ?? [];
      list.push(p);
      prepared.set(step.stage, list);
    }
    return new PlanExecutor(plan, runtime, pool, prepared, uniformBuffer);
  }

  /** Uploads the named inputs (typed arrays matching the plan's io slots). */
  upload(inputs: Record<string, Int32Array | Float32Array | Uint32Array>): void {
    for (const [name, data] of Object.entries(inputs)) {
      const slot = this.plan.inputs[name];
      if (!slot) throw new Error(`plan ${this.plan.name} has no input ${name}`);
      if (data.byteLength > slot.size) throw new Error(`input ${name}: ${data.byteLength} bytes for a ${slot.size}-byte slot`);
      this.runtime.write(this.pool.get(slot.buffer), data, slot.offset);
    }
  }

  /** Writes the step state every plan of the run reads (queued, in order with submitted work). */
  writeStepState(state: StepState): void {
    this.writeStepStateWords(encodeStepState(state));
  }

  /** The same, from already-encoded words (replaying a step exactly). */
  writeStepStateWords(words: Uint32Array): void {
    this.runtime.write(this.pool.get(STEP_STATE_BUFFER), words);
  }

  async run(stage: PlanStep['stage']): Promise<void> {
    const steps = this.prepared.get(stage) ?? [];
    if (steps.length > 0) await this.runtime.submit(steps, `${this.plan.name}.${stage}`);
  }

  /** GPU time per step of a stage (timestamp queries, or per-dispatch wall time without them). */
  async profile(stage: PlanStep['stage']): Promise<Array<{ label: string; ns: number }>> {
    const steps = this.prepared.get(stage) ?? [];
    const times = await this.runtime.profile(steps);
    return steps.map((s, i) => ({ label: s.label, ns: times[i]! }));
  }

  stageLength(stage: PlanStep['stage']): number {
    return this.prepared.get(stage)?.length ?? 0;
  }

  /** Runs dispatches [from, to) of a stage, in one submit. */
  async runRange(stage: PlanStep['stage'], from: number, to: number): Promise<void> {
    const steps = (this.prepared.get(stage) ?? []).slice(from, to);
    if (steps.length > 0) await this.runtime.submit(steps, `${this.plan.name}.${stage}[${from}..${to})`);
  }

  /** Runs the dispatches of a stage one by one, calling back after each (validation mode). */
  async runEach(stage: PlanStep['stage'], after: (index: number, label: string) => Promise<boolean>): Promise<void> {
    const steps = this.prepared.get(stage) ?? [];
    for (let i = 0; i < steps.length; i++) {
      await this.runtime.submit([steps[i]!]);
      if (!(await after(i, steps[i]!.label))) return;
    }
  }

  /** Reads a named plan output (or any io slot) as float32 values. */
  async readOutput(name: string): Promise<Float32Array> {
    const slot = this.plan.outputs[name];
    if (!slot) throw new Error(`plan ${this.plan.name} has no output ${name}`);
    return new Float32Array(await this.runtime.read(this.pool.get(slot.buffer), slot.offset, slot.size));
  }

  /** Reads a named plan output's bytes and element type (f16 outputs of mixed-precision plans stay halves). */
  async readOutputBytes(name: string): Promise<{ bytes: ArrayBuffer; dtype: string }> {
    const slot = this.plan.outputs[name];
    if (!slot) throw new Error(`plan ${this.plan.name} has no output ${name}`);
    return { bytes: await this.runtime.read(this.pool.get(slot.buffer), slot.offset, slot.size), dtype: slot.dtype };
  }

  /**
   * Starts copying the metrics (and the norm state, when the plan has one) to the host without
   * waiting: the copy is queued behind the work already submitted, and the promise resolves when
   * it lands, so a trainer can queue the next step before looking at this one's numbers.
   */
  snapshot(): Promise<{ metrics: Record<string, number>; norm?: NormState }> {
    const slots = Object.entries(this.plan.metrics);
    const metricsBuffer = slots[0]?.[1].buffer;
    const metricsBytes = metricsBuffer ? this.pool.size(metricsBuffer) : 0;
    const norm = this.plan.norm;
    const normBytes = NORM_STATE_WORDS * 4;
    const total = metricsBytes + (norm ? normBytes : 0);
    if (total === 0) return Promise.resolve({ metrics: {} });
    const device = this.runtime.device;
    const staging = device.createBuffer({ label: `${this.plan.name}.snapshot`, size: total, usage: 0x1 | 0x8 });
    const encoder = device.createCommandEncoder({ label: `${this.plan.name}.snapshot` });
    if (metricsBuffer) encoder.copyBufferToBuffer(this.pool.get(metricsBuffer), 0, staging, 0, metricsBytes);
    if (norm) encoder.copyBufferToBuffer(this.pool.get(norm.buffer), norm.offset, staging, metricsBytes, normBytes);
    device.queue.submit([encoder.finish()]);
    return this.runtime.wait(() => staging.mapAsync(0x1)).then(() => {
      const data = new Float32Array(staging.getMappedRange().slice(0));
      staging.destroy();
      const metrics: Record<string, number> = {};
      for (const [name, slot] of slots) metrics[name] = data[slot.offset / 4]!;
      return { metrics, norm: norm ? decodeNormState(data.slice(metricsBytes / 4, metricsBytes / 4 + NORM_STATE_WORDS)) : undefined };
    });
  }

  /** Zeroes the metric accumulators (queued, in order with submitted work). */
  resetMetrics(): void {
    const first = Object.values(this.plan.metrics)[0];
    if (!first) return;
    this.runtime.write(this.pool.get(first.buffer), new Uint8Array(this.pool.size(first.buffer)));
  }

  async readMetrics(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const slots = Object.entries(this.plan.metrics);
    if (slots.length === 0) return out;
    const buffer = slots[0]![1].buffer;
    const data = new Float32Array(await this.runtime.read(this.pool.get(buffer)));
    for (const [name, slot] of slots) out[name] = data[slot.offset / 4]!;
    return out;
  }
}
