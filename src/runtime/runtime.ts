// The thin runtime: buffers, a pipeline cache keyed by PipelineSpec, bind groups, dispatch,
// readback and GPU timestamps. It replays Dispatch records (src/plan/types.ts) and knows
// nothing about models: no shape arithmetic, no op semantics.
//
// Every Dawn call that can fail runs inside error scopes, and failures become GpuError
// naming the step label, instead of console noise.
import type { BufferSlice, Dispatch, PipelineSpec } from '../plan/types.js';
import { pipelineKey } from '../plan/types.js';
import type { Gpu } from './device.js';
import { shaderSource, sourceLocation } from './shader-source.js';
import { debugLog } from '../debug.js';
import { deviceWait } from './gpu-wait.js';
import { UserError } from '../errors.js';

export class GpuError extends Error {
  constructor(
    message: string,
    readonly label: string,
    readonly kind: 'validation' | 'out-of-memory' | 'internal' | 'device-lost',
  ) {
    super(`${label}: ${kind} error: ${message}`);
    this.name = 'GpuError';
  }
}

const STORAGE_USAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST
const UNIFORM_USAGE = 0x40 | 0x8; // UNIFORM | COPY_DST
const MAP_READ_USAGE = 0x1 | 0x8; // MAP_READ | COPY_DST

/** A dispatch with its GPU objects resolved, ready to encode any number of times. */
export interface PreparedDispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
}

export type BufferResolver = (id: string) => GPUBuffer;

export class Runtime {
  readonly device: GPUDevice;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private lostReason: string | undefined;
  private uncaptured: string | undefined;
  /**
   * Whether waits for the device poll Dawn's events paced (gpu-wait.ts): on a CPU adapter, whose
   * kernels run on the cores the polling would take. BERT_SPIN_WAITS=1 keeps Dawn's own polling.
   */
  readonly paceWaits: boolean;

  constructor(readonly gpu: Gpu) {
    this.device = gpu.device;
    const spin = process.env.BERT_SPIN_WAITS;
    if (spin !== undefined && spin !== '' && spin !== '0' && spin !== '1') {
      throw new UserError(`BERT_SPIN_WAITS must be 0 or 1 (got ${JSON.stringify(spin)})`, 'bad_env', 2);
    }
    this.paceWaits = gpu.report.isCpu && spin !== '1';
    void this.device.lost.then((info) => {
      if (info.reason !== 'destroyed') this.lostReason = info.message || String(info.reason);
    });
    this.device.onuncapturederror = (event: GPUUncapturedErrorEvent) => {
      this.uncaptured ??= event.error.message;
    };
  }

  get hasTimestamps(): boolean {
    return this.gpu.hasFeature('timestamp-query');
  }

  private checkAlive(label: string): void {
    if (this.lostReason !== undefined) throw new GpuError(this.lostReason, label, 'device-lost');
    if (this.uncaptured !== undefined) {
      const message = this.uncaptured;
      this.uncaptured = undefined;
      throw new GpuError(message, label, 'validation');
    }
  }

  /** Runs fn inside validation, out-of-memory and internal error scopes; throws the first error. */
  async scoped<R>(label: string, fn: () => R): Promise<R> {
    this.checkAlive(label);
    this.device.pushErrorScope('internal');
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let result: R;
    try {
      result = fn();
    } finally {
      const validation = await this.device.popErrorScope();
      const oom = await this.device.popErrorScope();
      const internal = await this.device.popErrorScope();
      const first = validation ?? oom ?? internal;
      if (first) {
        const kind = validation ? 'validation' : oom ? 'out-of-memory' : 'internal';
        throw new GpuError(first.message.trim().split('\n').slice(0, 4).join(' | '), label, kind);
      }
    }
    this.checkAlive(label);
    return result;
  }

  async createBuffer(label: string, bytes: number): Promise<GPUBuffer> {
    // WebGPU sizes are multiples of 4; a zero-size binding is invalid, so round up to 4.
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    return this.scoped(`buffer ${label}`, () => this.device.createBuffer({ label, size, usage: STORAGE_USAGE }));
  }

  write(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    let view = data;
    if (view.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(view.byteLength / 4) * 4);
      padded.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      view = padded;
    }
    this.device.queue.writeBuffer(buffer, byteOffset, view.buffer, view.byteOffset, view.byteLength);
  }

  /** Copies bytes out of a storage buffer. Awaiting it waits for all work submitted before. */
  async read(buffer: GPUBuffer, byteOffset = 0, bytes = buffer.size - byteOffset, label = `read ${buffer.label}`): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ label: `${label}.staging`, size, usage: MAP_READ_USAGE });
    try {
      await this.scoped(label, () => {
        const encoder = this.device.createCommandEncoder({ label });
        encoder.copyBufferToBuffer(buffer, byteOffset, staging, 0, size);
        this.device.queue.submit([encoder.finish()]);
      });
      await this.wait(() => staging.mapAsync(0x1));
      this.checkAlive(label);
      return staging.getMappedRange().slice(0, bytes);
    } finally {
      staging.destroy();
    }
  }

  async pipeline(spec: PipelineSpec, label = spec.kernel): Promise<GPUComputePipeline> {
    const key = pipelineKey(spec);
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    debugLog('wgsl', `pipeline ${key} (first used by ${label}):\n${shaderSource(spec)}`);
    const module = await this.shaderModule(spec, label);
    const pipeline = await this.scoped(`${label} (pipeline ${key})`, () =>
      this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module, entryPoint: spec.entry, constants: spec.overrides },
      }),
    );
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  /**
   * The spec's WGSL module, checked: a compile error names the kernel file and line. Creating a
   * module only parses and type-checks it (the driver compiles at pipeline creation), so a test
   * can check every kernel file for every element type cheaply.
   */
  async shaderModule(spec: PipelineSpec, label = spec.kernel): Promise<GPUShaderModule> {
    const code = shaderSource(spec);
    // The compilation messages carry the line, which maps back to the kernel file: read them
    // before the error scope's unlocated message.
    this.checkAlive(label);
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label: `${spec.kernel}.wgsl`, code });
    const scopeError = await this.device.popErrorScope();
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length > 0) {
      const first = errors[0]!;
      throw new GpuError(`${sourceLocation(spec, first.lineNum)}:${first.linePos}: ${first.message}`, label, 'validation');
    }
    if (scopeError) throw new GpuError(scopeError.message, `${label} (shader ${spec.kernel}.wgsl)`, 'validation');
    return module;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** Creates a uniform buffer holding the given 32-bit words. */
  uniformBuffer(label: string, words: number[]): GPUBuffer {
    const data = new Uint32Array(Math.max(4, Math.ceil(words.length / 4) * 4));
    for (let i = 0; i < words.length; i++) data[i] = words[i]! >>> 0;
    const buffer = this.device.createBuffer({ label: `${label}.uniforms`, size: data.byteLength, usage: UNIFORM_USAGE });
    this.device.queue.writeBuffer(buffer, 0, data);
    return buffer;
  }

  /** Resolves a Dispatch's pipeline and buffers into GPU objects (bind group created once). */
  async prepare(dispatch: Dispatch, resolve: BufferResolver, uniforms?: { buffer: GPUBuffer; offset: number }): Promise<PreparedDispatch> {
    const pipeline = await this.pipeline(dispatch.pipeline, dispatch.label);
    const uniform = uniforms ?? { buffer: this.uniformBuffer(dispatch.label, dispatch.uniforms), offset: 0 };
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: uniform.buffer, offset: uniform.offset, size: Math.max(16, Math.ceil(dispatch.uniforms.length / 4) * 16) } },
      ...dispatch.bindings.map((slice: BufferSlice, i) => ({
        binding: i + 1,
        resource: { buffer: resolve(slice.buffer), offset: slice.offset, size: Math.max(4, slice.size) },
      })),
    ];
    const bindGroup = await this.scoped(`${dispatch.label} (bind group)`, () =>
      this.device.createBindGroup({ label: dispatch.label, layout: pipeline.getBindGroupLayout(0), entries }),
    );
    return { label: dispatch.label, pipeline, bindGroup, workgroups: dispatch.workgroups };
  }

  /** Encodes the dispatches into one compute pass of a new command buffer and submits it. */
  async submit(steps: readonly PreparedDispatch[], label = steps[0]?.label ?? 'submit'): Promise<void> {
    await this.scoped(label, () => {
      const encoder = this.device.createCommandEncoder({ label });
      const pass = encoder.beginComputePass({ label });
      for (const step of steps) {
        pass.setPipeline(step.pipeline);
        pass.setBindGroup(0, step.bindGroup);
        pass.dispatchWorkgroups(step.workgroups[0], step.workgroups[1], step.workgroups[2]);
      }
      pass.end();
      this.device.queue.submit([encoder.finish()]);
    });
  }

  /** Starts a Dawn operation (mapAsync, onSubmittedWorkDone) and waits for it, paced on a CPU adapter. */
  wait<T>(start: () => Promise<T>): Promise<T> {
    return deviceWait(this.paceWaits, start);
  }

  /** Resolves when all submitted work is done; surfaces device loss. */
  async finish(label = 'finish'): Promise<void> {
    await this.wait(() => this.device.queue.onSubmittedWorkDone());
    this.checkAlive(label);
  }

  /**
   * Runs each dispatch in its own timestamped pass and returns GPU nanoseconds per step.
   * Falls back to wall-clock per-dispatch timing (submit + wait) without timestamp-query.
   */
  async profile(steps: readonly PreparedDispatch[]): Promise<number[]> {
    if (steps.length === 0) return [];
    if (!this.hasTimestamps) {
      const times: number[] = [];
      for (const step of steps) {
        const t0 = process.hrtime.bigint();
        await this.submit([step]);
        await this.finish(step.label);
        times.push(Number(process.hrtime.bigint() - t0));
      }
      return times;
    }
    const count = steps.length * 2;
    const querySet = this.device.createQuerySet({ type: 'timestamp', count });
    const resolveBuffer = this.device.createBuffer({ size: count * 8, usage: 0x200 | 0x4 }); // QUERY_RESOLVE | COPY_SRC
    const readBuffer = this.device.createBuffer({ size: count * 8, usage: MAP_READ_USAGE });
    try {
      await this.scoped('profile', () => {
        const encoder = this.device.createCommandEncoder({ label: 'profile' });
        steps.forEach((step, i) => {
          const pass = encoder.beginComputePass({
            label: step.label,
            timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
          });
          pass.setPipeline(step.pipeline);
          pass.setBindGroup(0, step.bindGroup);
          pass.dispatchWorkgroups(step.workgroups[0], step.workgroups[1], step.workgroups[2]);
          pass.end();
        });
        encoder.resolveQuerySet(querySet, 0, count, resolveBuffer, 0);
        encoder.copyBufferToBuffer(resolveBuffer, 0, readBuffer, 0, count * 8);
        this.device.queue.submit([encoder.finish()]);
      });
      await this.wait(() => readBuffer.mapAsync(0x1));
      const stamps = new BigInt64Array(readBuffer.getMappedRange().slice(0));
      return steps.map((_, i) => Math.max(0, Number(stamps[2 * i + 1]! - stamps[2 * i]!)));
    } finally {
      querySet.destroy();
      resolveBuffer.destroy();
      readBuffer.destroy();
    }
  }
}
