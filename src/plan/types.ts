// The KernelPlan data format: what the compiler produces and the runtime replays. Plain,
// JSON-able data only (no functions, no GPU objects), so a plan can be printed, diffed,
// snapshotted and executed by a runtime that knows nothing about BERT.

export type DType = 'f32' | 'f16';

/** The element-type aliases a kernel may use besides T (see PipelineSpec.types). */
export const ELEMENT_ALIASES = ['TC', 'TG', 'TI'] as const;
export type ElementAlias = (typeof ELEMENT_ALIASES)[number];

/** Optional WGSL features a kernel may use; the header enables them. */
export type ShaderFeature = 'shader-f16' | 'subgroups';

/** Everything that selects one compiled pipeline. Sizes are never here: they are uniforms. */
export interface PipelineSpec {
  /** Kernel family = file stem under kernels/, e.g. 'matmul'. */
  kernel: string;
  /** WGSL entry point. */
  entry: string;
  /** Element type of storage tensors (accumulation is always f32): the WGSL alias T. */
  dtype: DType;
  /**
   * Element types of the bindings a kernel declares with another alias (mixed precision): TC a
   * matmul's output, TG parameter-gradient outputs, TI a cast's input. Absent: the same as dtype.
   */
  types?: Partial<Record<ElementAlias, DType>>;
  /** WGSL `override` constants (tile sizes, workgroup size, transposes, epilogues). */
  overrides: Record<string, number>;
  features: ShaderFeature[];
}

/** A view of a buffer bound to one kernel binding. Offsets and sizes are in bytes. */
export interface BufferSlice {
  buffer: string;
  offset: number;
  size: number;
}

export interface Dispatch {
  /** Dotted path ending in the op, e.g. 'encoder.3.attention.softmax.bwd'. */
  label: string;
  pipeline: PipelineSpec;
  /**
   * Storage bindings in order: WGSL @group(0) @binding(1..n). Binding 0 is always the
   * uniform block built from `uniforms`.
   */
  bindings: BufferSlice[];
  /** The uniform block as 32-bit words (u32/i32 as integers, f32 through f32Bits()). */
  uniforms: number[];
  workgroups: [number, number, number];
  flops: number;
  bytes: number;
}

export type BufferRole = 'param' | 'grad' | 'optimizer' | 'activation' | 'scratch' | 'io' | 'state';

export interface BufferDecl {
  id: string;
  bytes: number;
  role: BufferRole;
  /**
   * Mixed-precision plans: the element types of the tensors placed in the buffer (an activation
   * buffer reused by liveness may hold both). Absent in f32 plans, where everything is f32 (and
   * i32 inputs).
   */
  dtypes?: Array<'f32' | 'f16' | 'i32'>;
}

/** Device limits the compiler plans against (a subset of GPUSupportedLimits plus features). */
export interface DeviceLimits {
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  minStorageBufferOffsetAlignment: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupStorageSize: number;
  maxStorageBuffersPerShaderStage: number;
  features: string[];
  /** Smallest subgroup size the adapter may use, when subgroups are supported. */
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  /** Adapter vendor/architecture/description, for heuristics (e.g. CPU rasterizers). */
  adapter?: { vendor: string; architecture: string; description: string; isCpu: boolean };
}

/** WebGPU's guaranteed minimum limits: what a plan may assume with no device at hand. */
export const DEFAULT_LIMITS: DeviceLimits = {
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
  minStorageBufferOffsetAlignment: 256,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBuffersPerShaderStage: 8,
  features: [],
};

const f32Scratch = new Float32Array(1);
const u32View = new Uint32Array(f32Scratch.buffer);

/** The bit pattern of x as an f32, for packing floats into the u32 uniform words. */
export function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32View[0]!;
}

/** Stable identity of a pipeline: kernel, entry, dtype, features and sorted overrides. */
export function pipelineKey(p: PipelineSpec): string {
  const overrides = Object.keys(p.overrides)
    .sort()
    .map((k) => `${k}=${p.overrides[k]}`)
    .join(',');
  const types = ELEMENT_ALIASES.filter((a) => p.types?.[a] !== undefined && p.types[a] !== p.dtype).map((a) => `${a}=${p.types![a]}`).join(',');
  return `${p.kernel}:${p.entry}:${p.dtype}:${[...p.features].sort().join('+')}:${overrides}${types ? `:${types}` : ''}`;
}

/**
 * Spreads `count` workgroups over x and y so no dimension exceeds the device limit.
 * Kernels recover the linear index as `wid.x + wid.y * num_workgroups.x` and guard the tail.
 */
export function grid1d(count: number, limits: Pick<DeviceLimits, 'maxComputeWorkgroupsPerDimension'>): [number, number, number] {
  const max = limits.maxComputeWorkgroupsPerDimension;
  if (count <= max) return [Math.max(1, count), 1, 1];
  const y = Math.ceil(count / max);
  if (y > max) throw new Error(`dispatch of ${count} workgroups exceeds ${max}² `);
  return [Math.ceil(count / y), y, 1];
}

/**
 * Workgroups for a grid-stride launch (kernels that loop `i += grid_invocations(nwg)`) that
 * needs `count` to give every invocation one item. A GPU gets them all; a CPU adapter gets at
 * most CPU_GRID_STRIDE_WORKGROUPS, because lavapipe pays a fixed cost per workgroup (about
 * 1.3 µs here, more than copying its 64 vec4s): a few workgroups per core, each looping, ran
 * copies of 0.5–2 MB 1.5–2.9× faster than one vec4 per invocation (docs/benchmarks.md).
 */
export function gridStride(count: number, limits: Pick<DeviceLimits, 'maxComputeWorkgroupsPerDimension' | 'adapter'>): [number, number, number] {
  return grid1d(limits.adapter?.isCpu ? Math.min(count, CPU_GRID_STRIDE_WORKGROUPS) : count, limits);
}

/** Enough for a 16-thread lavapipe; 4–16 measured alike on 2 cores. */
export const CPU_GRID_STRIDE_WORKGROUPS = 16;

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

/** Where a named host-visible tensor lives (inputs the runner uploads, metrics it reads). */
export interface IoSlot {
  buffer: string;
  offset: number;
  /** Bytes. */
  size: number;
  dtype: 'f32' | 'i32' | 'f16';
  /** Elements. */
  length: number;
}

/** A dispatch tagged with the stage it belongs to. */
export interface PlanStep extends Dispatch {
  /**
   * microbatch: forward + backward of one micro-batch; optimizer: once per step after
   * accumulation; copies: refreshes the f16 parameter copies from the masters (mixed precision:
   * after each optimizer stage, and once after the masters are loaded).
   */
  stage: 'microbatch' | 'optimizer' | 'copies';
  /** Micro-batch steps: index of the graph op this dispatch belongs to (validation, profiling). */
  op?: number;
}

export interface PlanParam {
  name: string;
  shape: number[];
  buffer: string;
  offset: number;
  size: number;
  init: { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' };
  decay: boolean;
  /** The gradient's slot (same offset in the mirrored grads arena), when training. */
  grad?: BufferSlice;
  /** Optimizer moments, by slot name ('m', 'v'), when training. */
  state?: Record<string, BufferSlice>;
}

export interface PlanSummary {
  steps: number;
  flops: { microbatch: number; optimizer: number };
  bytes: { params: number; grads: number; optimizer: number; activations_peak: number; activations_unplanned: number; inputs: number; param_copies?: number };
  params: number;
  dispatches: { microbatch: number; optimizer: number };
  pipelines: number;
}

/** Everything one program needs, as plain data. */
export interface KernelPlan {
  format: 'bert-webgpu.plan/1';
  name: string;
  training: boolean;
  shape: { batch: number; seq: number; predictions: number };
  buffers: BufferDecl[];
  pipelines: PipelineSpec[];
  steps: PlanStep[];
  inputs: Record<string, IoSlot>;
  metrics: Record<string, IoSlot>;
  /** Inference plans: readable outputs (mlm_logits, nsp_logits, pooled, hidden). */
  outputs: Record<string, IoSlot>;
  /** Training plans: the optimizer's norm state [global_norm, clip_scale, nonfinite, sumsq]. */
  norm?: IoSlot;
  params: PlanParam[];
  summary: PlanSummary;
}

/**
 * The limits `bert-run plan` assumes with no device at hand, and the golden plan snapshots use:
 * WebGPU's guaranteed minimums plus subgroups (sizes 8..64), as nearly every GPU offers.
 */
export const REFERENCE_LIMITS: DeviceLimits = {
  ...DEFAULT_LIMITS,
  features: ['subgroups'],
  subgroupMinSize: 8,
  subgroupMaxSize: 64,
  adapter: { vendor: 'reference', architecture: 'reference', description: 'WebGPU minimum limits + subgroups', isCpu: false },
};
