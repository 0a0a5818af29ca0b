// Launch definitions of kernels/grad-norm.wgsl (global gradient norm, clipping, skip flag) and
// kernels/optimizer.wgsl (AdamW, LAMB). Every launch works on one (offset, length) range of the
// flat arenas, so the compiler may dispatch per parameter tensor or per contiguous run of
// same-decay tensors (LAMB: per tensor, its trust ratio is per tensor). The WGSL headers give the
// exact binding layouts; the *_BINDINGS lists name them in order from binding 1.
//
// Dispatch sequence for one optimizer step (after all micro-batches accumulated gradients):
//   for each gradient range r:  sumsqPartialLaunch({offset, length, slot: slot_r})   (slots from
//                               sumsqPartialSlots(r, limits), end to end in one partials buffer)
//   once:                       gradNormFinalizeLaunch({count: Σ slots, maxNorm})    → norm state
//   AdamW, for each range:      adamwUpdateLaunch(...)                               (1 dispatch)
//   LAMB, for each tensor:      lambMomentsLaunch(...), lambApplyLaunch(...)         (2 dispatches)
// Run the norm pass even without clipping (maxNorm 0): it is what makes a NaN/Inf gradient skip
// the step instead of poisoning the parameters. Partial slot counts depend on the device
// (sumsqPartialSlots, lambPartialSlots take the limits): plan them with the same limits.
//
// Layout preconditions (the launch cannot see bindings): p, g, m, v slices share one layout
// (element offset + i of each is element i of the tensor), and every vec4-typed binding's byte
// size is a multiple of 16 (pad arenas to 16 bytes): the vec4 kernels read and write back whole
// vec4s at the range's ends, leaving the neighbours' elements bit-identical.
import { ceilDiv, f32Bits, grid1d } from '../../plan/types.js';
import type { DType, DeviceLimits } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';
import { NORM_STATE_WORDS } from '../../plan/norm-state.js';
import { chooseVariant } from './kernel.js';

/** Elements [offset, offset + length) of the bound slices (all bound slices share the layout). */
export interface OptimizerRange {
  offset: number;
  length: number;
}

export { NORM_STATE, NORM_STATE_WORDS } from '../../plan/norm-state.js';

export const SUMSQ_PARTIAL_BINDINGS = ['x', 'partials'] as const;
export const GRAD_NORM_FINALIZE_BINDINGS = ['partials', 'norm_state', 'step_state'] as const;
export const ADAMW_BINDINGS = ['params', 'grads', 'm', 'v', 'step_state', 'norm_state'] as const;
/** Both LAMB stages bind the same list. */
export const LAMB_BINDINGS = ['params', 'grads', 'm', 'v', 'step_state', 'norm_state', 'partials'] as const;

export const ADAMW_VARIANTS = ['scalar', 'vec4'] as const;
export type AdamwVariant = (typeof ADAMW_VARIANTS)[number];

const WG = 64;
/**
 * Elementwise kernels (adamw_update_vec4, lamb_apply): workgroup w updates the vec4 chunk
 * [w·chunk, (w+1)·chunk), lanes strided by WG (coalesced on GPUs). GPUs get small chunks and
 * many workgroups. lavapipe pays per workgroup and per invocation (the step and norm state loads,
 * the bias corrections), so CPU adapters get a few big chunks: measured on 2 cores at 2.4M
 * elements, 16 workgroups ran ~3× faster than 4 vec4s per lane with thousands of workgroups.
 */
const ELEMENTWISE_MIN_CHUNK = WG * 4;
function elementwiseMaxWorkgroups(limits: DeviceLimits): number {
  return limits.adapter?.isCpu ? 16 : Number.POSITIVE_INFINITY;
}

/** The elementwise split of a range on this device: `count` workgroups of `chunk` vec4s. */
export function elementwiseChunks(r: OptimizerRange, limits: DeviceLimits): { chunk: number; count: number } {
  const span = vec4Span(r);
  const chunk = Math.max(ELEMENTWISE_MIN_CHUNK, ceilDiv(span, elementwiseMaxWorkgroups(limits)));
  return { chunk, count: Math.max(1, ceilDiv(span, chunk)) };
}

/** Smallest reduction chunk (sumsq_partial, lamb_moments), in vec4s per workgroup: 8 per lane. */
const MIN_CHUNK = WG * 8;
/**
 * Partial slots (= workgroups) per sumsq_partial range at most: bounds the finalize work. CPU
 * adapters pay ~8 µs per workgroup on lavapipe, so they get few big chunks.
 */
function sumsqMaxPartials(limits: DeviceLimits): number {
  return limits.adapter?.isCpu ? 16 : 1024;
}
/**
 * Partial slots per LAMB norm at most: every lamb_apply lane re-sums all 2·count of them (no
 * barrier), so fewer is cheaper there, while lamb_moments runs `count` workgroups per tensor.
 * CPU adapters (lavapipe: 2 cores) are busy with 8; GPUs need more workgroups per big tensor, and
 * their uniform-address loads are cache broadcasts.
 */
function lambMaxPartials(limits: DeviceLimits): number {
  return limits.adapter?.isCpu ? 8 : 64;
}

function vec4Span(r: OptimizerRange): number {
  return r.length === 0 ? 0 : Math.floor((r.offset + r.length + 3) / 4) - Math.floor(r.offset / 4);
}

/** The reduction split of a range: `count` workgroups of `chunk` vec4s each (count ≥ 1). */
export function reductionChunks(r: OptimizerRange, maxPartials: number): { chunk: number; count: number } {
  const span = vec4Span(r);
  const chunk = Math.max(MIN_CHUNK, ceilDiv(span, maxPartials));
  return { chunk, count: Math.max(1, ceilDiv(span, chunk)) };
}

function checkRange(r: OptimizerRange, what: string): void {
  if (!Number.isInteger(r.offset) || !Number.isInteger(r.length) || r.offset < 0 || r.length < 0) {
    throw new Error(`${what}: offset ${r.offset} and length ${r.length} must be non-negative integers`);
  }
  // The kernels index u32 elements and round the end up to a whole vec4.
  if (r.offset + r.length + 4 > 2 ** 32) throw new Error(`${what}: range end ${r.offset + r.length} exceeds u32 indexing`);
}

// ---------------------------------------------------------------------------------------------
// Global gradient norm

export interface SumsqShape extends OptimizerRange {
  /** First partials slot this range writes. */
  slot: number;
  dtype?: DType;
}

/** Partial slots one sumsq_partial of this range writes (assign `slot`s end to end). */
export function sumsqPartialSlots(r: OptimizerRange, limits: DeviceLimits): number {
  return reductionChunks(r, sumsqMaxPartials(limits)).count;
}

export function sumsqPartialLaunch(shape: SumsqShape, limits: DeviceLimits): KernelLaunch {
  checkRange(shape, 'sumsq_partial');
  const { chunk, count } = reductionChunks(shape, sumsqMaxPartials(limits));
  const dtype = shape.dtype ?? 'f32';
  const elementBytes = dtype === 'f16' ? 2 : 4;
  return {
    pipeline: { kernel: 'grad-norm', entry: 'sumsq_partial', dtype, features: dtype === 'f16' ? ['shader-f16'] : [], overrides: { WG } },
    uniforms: [shape.offset, shape.length, chunk, shape.slot, count, 0, 0, 0],
    workgroups: grid1d(count, limits),
    flops: 2 * shape.length,
    bytes: elementBytes * shape.length + 4 * count,
  };
}

/** Ranges one sumsq_partial_segments dispatch takes at most (kernels/grad-norm.wgsl MAX_SEGMENTS). */
export const SUMSQ_MAX_SEGMENTS = 64;

export interface SumsqSegment extends OptimizerRange {
  /** First partials slot of this range (it writes sumsqPartialSlots(range) slots from there). */
  slot: number;
}

export interface SumsqSegmentsShape {
  /** Ranges of the bound slice, in any order; every offset a multiple of 4 elements. */
  segments: SumsqSegment[];
  dtype?: DType;
}

/**
 * One dispatch for many ranges: each range's workgroups and partials are exactly those of
 * sumsqPartialLaunch for that range alone (same chunk, same lanes, same order), written at its
 * own slots, so the norm is bit-identical to one dispatch per range.
 */
export function sumsqSegmentsLaunch(shape: SumsqSegmentsShape, limits: DeviceLimits): KernelLaunch {
  const n = shape.segments.length;
  if (!(n >= 1 && n <= SUMSQ_MAX_SEGMENTS)) throw new Error(`sumsq_partial_segments: 1 to ${SUMSQ_MAX_SEGMENTS} ranges (got ${n})`);
  const words: number[] = [];
  const slots: number[] = [];
  let workgroups = 0;
  let length = 0;
  for (const r of shape.segments) {
    checkRange(r, 'sumsq_partial_segments');
    if (r.offset % 4 !== 0) throw new Error(`sumsq_partial_segments: range offset ${r.offset} is not a multiple of 4 elements`);
    const { chunk, count } = reductionChunks(r, sumsqMaxPartials(limits));
    words.push(r.offset, r.length, workgroups, chunk);
    slots.push(r.slot);
    workgroups += count;
    length += r.length;
  }
  while (words.length < 4 * SUMSQ_MAX_SEGMENTS) words.push(0);
  while (slots.length < SUMSQ_MAX_SEGMENTS) slots.push(0);
  const dtype = shape.dtype ?? 'f32';
  const elementBytes = dtype === 'f16' ? 2 : 4;
  return {
    pipeline: { kernel: 'grad-norm', entry: 'sumsq_partial_segments', dtype, features: dtype === 'f16' ? ['shader-f16'] : [], overrides: { WG } },
    uniforms: [n, workgroups, 0, 0, ...words, ...slots],
    workgroups: grid1d(workgroups, limits),
    flops: 2 * length,
    bytes: elementBytes * length + 4 * workgroups,
  };
}

export interface GradNormFinalizeShape {
  /** Partial slots [slot, slot + count) are summed; slot defaults to 0. */
  slot?: number;
  count: number;
  /** Clip threshold; 0 (or negative) disables clipping (clip_scale = 1). */
  maxNorm: number;
}

export function gradNormFinalizeLaunch(shape: GradNormFinalizeShape, _limits: DeviceLimits): KernelLaunch {
  return {
    pipeline: { kernel: 'grad-norm', entry: 'grad_norm_finalize', dtype: 'f32', features: [], overrides: { WG } },
    uniforms: [0, 0, 0, shape.slot ?? 0, shape.count, f32Bits(Math.max(0, shape.maxNorm)), 0, 0],
    workgroups: [1, 1, 1],
    flops: shape.count,
    bytes: 4 * (shape.count + NORM_STATE_WORDS),
  };
}

// ---------------------------------------------------------------------------------------------
// AdamW and LAMB

export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
  /** 0 for no-decay tensors (biases, LayerNorm). */
  weightDecay: number;
}

export interface AdamwShape extends OptimizerRange, AdamHyper {
  /** true: torch.optim.AdamW; false: Google BERT's AdamWeightDecayOptimizer. */
  biasCorrection: boolean;
  /** Zero the gradient range after the update (default true): saves a fill pass. */
  zeroGrad?: boolean;
  dtype?: DType;
}

export interface LambShape extends AdamwShape {
  /** First of the 2·lambPartialSlots(range, limits) partials slots this tensor uses. */
  slot: number;
  /**
   * Trust ratio for wd = 0 tensors too (the paper, NVLAMB); false follows apex FusedLAMB's
   * default (ratio 1 where weight decay is 0). Default true.
   */
  trustNoDecay?: boolean;
}

function hyperWords(h: AdamHyper, flags: number): number[] {
  // 1 − β in float64 then rounded: 1 − f32(0.999) would be off by 1.3e-5 relative.
  return [f32Bits(h.beta1), f32Bits(h.beta2), f32Bits(1 - h.beta1), f32Bits(1 - h.beta2), f32Bits(h.eps), f32Bits(h.weightDecay), flags];
}

function checkHyper(h: AdamHyper, what: string): void {
  if (!(h.beta1 >= 0 && h.beta1 < 1 && h.beta2 >= 0 && h.beta2 < 1)) throw new Error(`${what}: betas must be in [0, 1) (got ${h.beta1}, ${h.beta2})`);
  if (!(h.eps > 0)) throw new Error(`${what}: eps must be > 0 (got ${h.eps})`);
}

function features(dtype: DType): KernelLaunch['pipeline']['features'] {
  return dtype === 'f16' ? ['shader-f16'] : [];
}

/** Variants that can run this range: both, always (vec4 needs 16-byte-padded bindings, see WGSL). */
export function usableAdamwVariants(_shape: AdamwShape, _limits: DeviceLimits): AdamwVariant[] {
  return [...ADAMW_VARIANTS];
}

export function pickAdamwVariant(shape: AdamwShape, limits: DeviceLimits, forced?: Record<string, string>): AdamwVariant {
  // vec4 loads move 4 elements per load: 4× fewer loads is the whole cost on lavapipe and
  // wider transactions on GPUs. The scalar kernel stays as the obvious baseline.
  return chooseVariant('adamw_update', usableAdamwVariants(shape, limits), 'vec4', forced);
}

/** Bytes moved by one update of `length` elements: p, g, m, v read; p, m, v written; g zeroed. */
function updateBytes(length: number, elementBytes: number, zeroGrad: boolean): number {
  return elementBytes * length * (zeroGrad ? 8 : 7);
}

export function adamwUpdateLaunch(shape: AdamwShape, limits: DeviceLimits, variant: AdamwVariant = pickAdamwVariant(shape, limits)): KernelLaunch {
  checkRange(shape, 'adamw_update');
  checkHyper(shape, 'adamw_update');
  const dtype = shape.dtype ?? 'f32';
  const zeroGrad = shape.zeroGrad ?? true;
  const split = variant === 'scalar' ? { chunk: 0, count: ceilDiv(shape.length, WG) } : elementwiseChunks(shape, limits);
  return {
    pipeline: { kernel: 'optimizer', entry: `adamw_update_${variant}`, dtype, features: features(dtype), overrides: { WG, ZERO_GRAD: zeroGrad ? 1 : 0 } },
    uniforms: [shape.offset, shape.length, split.chunk, 0, split.count, ...hyperWords(shape, shape.biasCorrection ? 1 : 0), 0, 0],
    workgroups: grid1d(split.count, limits),
    flops: 16 * shape.length,
    bytes: updateBytes(shape.length, dtype === 'f16' ? 2 : 4, zeroGrad),
  };
}

/** Partial slots per norm of one LAMB tensor; the tensor uses 2× this many from `slot`. */
export function lambPartialSlots(r: OptimizerRange, limits: DeviceLimits): number {
  return reductionChunks(r, lambMaxPartials(limits)).count;
}

function lambUniforms(shape: LambShape, limits: DeviceLimits): number[] {
  const { chunk, count } = reductionChunks(shape, lambMaxPartials(limits));
  const apply = elementwiseChunks(shape, limits);
  const flags = (shape.biasCorrection ? 1 : 0) | ((shape.trustNoDecay ?? true) ? 2 : 0);
  return [shape.offset, shape.length, chunk, shape.slot, count, ...hyperWords(shape, flags), apply.chunk, apply.count];
}

/** LAMB stage 1: m, v and the per-workgroup Σp², Σu² partials. */
export function lambMomentsLaunch(shape: LambShape, limits: DeviceLimits): KernelLaunch {
  checkRange(shape, 'lamb_moments');
  checkHyper(shape, 'lamb_moments');
  const dtype = shape.dtype ?? 'f32';
  const count = lambPartialSlots(shape, limits);
  const e = dtype === 'f16' ? 2 : 4;
  return {
    pipeline: { kernel: 'optimizer', entry: 'lamb_moments', dtype, features: features(dtype), overrides: { WG } },
    uniforms: lambUniforms(shape, limits),
    workgroups: grid1d(count, limits),
    flops: 18 * shape.length,
    bytes: e * shape.length * 6 + 8 * count, // p, g, m, v read; m, v written
  };
}

/** LAMB stage 2: trust ratio from the partials, p ← p − lr·r·u, gradient zeroed. */
export function lambApplyLaunch(shape: LambShape, limits: DeviceLimits): KernelLaunch {
  checkRange(shape, 'lamb_apply');
  checkHyper(shape, 'lamb_apply');
  const dtype = shape.dtype ?? 'f32';
  const zeroGrad = shape.zeroGrad ?? true;
  const e = dtype === 'f16' ? 2 : 4;
  const { count } = elementwiseChunks(shape, limits);
  return {
    pipeline: { kernel: 'optimizer', entry: 'lamb_apply', dtype, features: features(dtype), overrides: { WG, ZERO_GRAD: zeroGrad ? 1 : 0 } },
    uniforms: lambUniforms(shape, limits),
    workgroups: grid1d(count, limits),
    flops: 10 * shape.length,
    bytes: e * shape.length * (zeroGrad ? 5 : 4), // p, m, v read; p written; g zeroed
  };
}

/** Both LAMB dispatches of one tensor, in order. */
export function lambUpdateLaunches(shape: LambShape, limits: DeviceLimits): [KernelLaunch, KernelLaunch] {
  return [lambMomentsLaunch(shape, limits), lambApplyLaunch(shape, limits)];
}
