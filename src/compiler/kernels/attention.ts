// Launch definitions of kernels/attention.wgsl and kernels/attention-plain.wgsl: the self-attention
// The lowering of the attention ops sits at the end of this file.
// core as five launches, forward = scores → context, backward = grad_v → grad_scores → grad_qk (in
// that order: grad_scores overwrites `probs` with dS, which grad_qk reads). See the WGSL headers for
// layouts and semantics. The `subgroup` variants share loaded values through subgroups, so they need
// the `subgroups` feature; the `plain` variants (a separate file: a module that calls subgroup
// builtins does not compile without `enable subgroups;`) run on any adapter. All variants have the
// same stages, bindings, uniforms and in-place contract, so the compiler need not care which runs.
import { grid1d, f32Bits, ceilDiv } from '../../plan/types.js';
import type { DType, DeviceLimits, ShaderFeature } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';
import { chooseVariant, hasSubgroups } from './kernel.js';
import type { LowerContext, LoweringTable } from '../lower-context.js';
import type { AttentionAttrs } from '../../graph/ir.js';
import type { BufferSlice } from '../../plan/types.js';

export interface AttentionShape {
  /** Batch (sequences). */
  B: number;
  /** Sequence length. */
  T: number;
  /** Hidden size; heads·D. */
  H: number;
  heads: number;
  /** Attention-probability dropout p (0 = off). */
  dropout?: number;
  /** Per-site RNG stream the compiler assigns to this layer's attention dropout. */
  stream?: number;
  dtype?: DType;
}

export const ATTENTION_STAGES = ['scores', 'context', 'grad_v', 'grad_scores', 'grad_qk'] as const;
export type AttentionStage = (typeof ATTENTION_STAGES)[number];
export const ATTENTION_FORWARD_STAGES: readonly AttentionStage[] = ['scores', 'context'];
export const ATTENTION_BACKWARD_STAGES: readonly AttentionStage[] = ['grad_v', 'grad_scores', 'grad_qk'];

/** Storage bindings of each stage's entry point, in WGSL order from 1. */
export const ATTENTION_SCORES_BINDINGS = ['qkv', 'mask', 'probs'] as const;
export const ATTENTION_CONTEXT_BINDINGS = ['qkv', 'probs', 'step_state', 'out'] as const;
export const ATTENTION_GRAD_V_BINDINGS = ['d_out', 'probs', 'step_state', 'd_qkv'] as const;
export const ATTENTION_GRAD_SCORES_BINDINGS = ['d_out', 'probs', 'step_state', 'qkv', 'out'] as const;
export const ATTENTION_GRAD_QK_BINDINGS = ['qkv', 'probs', 'd_qkv'] as const;
export type AttentionBindingName = 'qkv' | 'mask' | 'probs' | 'step_state' | 'out' | 'd_out' | 'd_qkv';
export const ATTENTION_BINDINGS: Record<AttentionStage, readonly AttentionBindingName[]> = {
  scores: ATTENTION_SCORES_BINDINGS,
  context: ATTENTION_CONTEXT_BINDINGS,
  grad_v: ATTENTION_GRAD_V_BINDINGS,
  grad_scores: ATTENTION_GRAD_SCORES_BINDINGS,
  grad_qk: ATTENTION_GRAD_QK_BINDINGS,
};

/**
 * subgroup: scalar loads, any D. subgroup_vec4 (D % 4 == 0, and 16-byte-aligned binding offsets,
 * which minStorageBufferOffsetAlignment guarantees): where T % 4 == 0 too, scores and grad_scores
 * load q, k, v, dO and out 4 head dims at a time (4× fewer loads in their inner loops) and the
 * probabilities as vec4s, and context, grad_v and grad_qk take 4 sequence steps at a time; where
 * T % 4 != 0 every stage runs the scalar entries.
 * plain: no subgroups, no workgroup memory; each invocation loads all its operands itself (4 rows ×
 * 8 columns per invocation), scalar loads, any D. plain_vec4: the same with vec4 loads along the
 * head dims in all five stages (D % 4 == 0).
 */
export const ATTENTION_VARIANTS = ['subgroup', 'subgroup_vec4', 'plain', 'plain_vec4'] as const;
export type AttentionVariant = (typeof ATTENTION_VARIANTS)[number];

/** Rows of the tile one invocation owns, and the tile width (fixed in each WGSL file). */
interface TileGeometry {
  rows: number;
  columns: number;
}
const SUBGROUP_TILE: TileGeometry = { rows: 4, columns: 16 };
/** The tile width of subgroup_vec4's 4-step entries (context, grad_v, grad_qk): the matmul's 32. */
const SUBGROUP_SEQ_VEC4_COLUMNS = 32;
const PLAIN_TILE: TileGeometry = { rows: 4, columns: 8 };

function isPlain(variant: AttentionVariant): boolean {
  return variant === 'plain' || variant === 'plain_vec4';
}

/** Bytes of the saved probabilities (B, NH, T, T): the only (B, NH, T, T) tensor there is. */
export function attentionProbsBytes(shape: AttentionShape): number {
  return shape.B * shape.heads * shape.T * shape.T * (shape.dtype === 'f16' ? 2 : 4);
}

function workgroupSize(shape: AttentionShape, limits: DeviceLimits, variant: AttentionVariant): number {
  // subgroup: one subgroup at least (the broadcasts come from lanes 0..7 of each subgroup). plain:
  // 8 at least (lavapipe runs 8 lanes as one SIMD group; fewer only idles lanes). 64 at most
  // (lavapipe: bigger workgroups only add idle lanes); small T needs no more than ⌈T/rows⌉ lanes.
  const tile = isPlain(variant) ? PLAIN_TILE : SUBGROUP_TILE;
  const floor = isPlain(variant) ? 8 : Math.max(8, limits.subgroupMaxSize ?? 8);
  let wg = 8;
  while (wg < 64 && wg * tile.rows < shape.T) wg *= 2;
  return Math.min(Math.max(wg, floor), limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
}

function subgroupsFit(shape: AttentionShape, limits: DeviceLimits): boolean {
  return hasSubgroups(limits) && (limits.subgroupMinSize ?? 8) >= 8 && (limits.subgroupMaxSize ?? 8) <= workgroupSize(shape, limits, 'subgroup');
}

/** The variants valid for this shape and device: plain ones always, subgroup ones when they fit. */
export function usableAttentionVariants(shape: AttentionShape, limits: DeviceLimits): AttentionVariant[] {
  const vec4 = (shape.H / shape.heads) % 4 === 0;
  const usable: AttentionVariant[] = vec4 ? ['plain', 'plain_vec4'] : ['plain'];
  if (subgroupsFit(shape, limits)) usable.push(...(vec4 ? (['subgroup', 'subgroup_vec4'] as const) : (['subgroup'] as const)));
  return usable;
}

export function pickAttentionVariant(shape: AttentionShape, limits: DeviceLimits, forced?: Record<string, string>): AttentionVariant {
  const usable = usableAttentionVariants(shape, limits);
  // lavapipe: loads are the cost, so subgroup sharing wins wherever the device has it, and the vec4
  // loads win wherever D allows them (usable lists each family scalar first, then vec4).
  const family = usable.filter((v) => (subgroupsFit(shape, limits) ? !isPlain(v) : isPlain(v)));
  return chooseVariant('attention', usable, family[family.length - 1]!, forced);
}

const ENTRIES: Record<AttentionStage, string> = {
  scores: 'attention_scores',
  context: 'attention_context',
  grad_v: 'attention_grad_v',
  grad_scores: 'attention_grad_scores',
  grad_qk: 'attention_grad_qk',
};

export function attentionLaunch(
  shape: AttentionShape,
  limits: DeviceLimits,
  stage: AttentionStage,
  variant: AttentionVariant = pickAttentionVariant(shape, limits),
): KernelLaunch {
  const { B, T, H, heads } = shape;
  if (!ATTENTION_VARIANTS.includes(variant)) throw new Error(`attention: unknown variant ${variant}`);
  if (H % heads !== 0) throw new Error(`attention: hidden ${H} is not a multiple of heads ${heads}`);
  const D = H / heads;
  const p = shape.dropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new Error(`attention: dropout ${p} outside [0, 1)`);
  const plain = isPlain(variant);
  if (variant.endsWith('_vec4') && D % 4 !== 0) throw new Error(`attention: variant ${variant} needs D % 4 == 0 (D = ${D})`);
  const wg = workgroupSize(shape, limits, variant);
  const tile = plain ? PLAIN_TILE : SUBGROUP_TILE;
  const dtype = shape.dtype ?? 'f32';
  const el = dtype === 'f16' ? 2 : 4;
  // plain_vec4 has _vec4 entries for every stage; subgroup_vec4 where T % 4 == 0 too (else the
  // scalar entries): context, grad_v and grad_qk take 4 sequence steps at a time on tiles 32
  // columns wide (kernels/attention.wgsl seq_tile4), scores and grad_scores load and store the
  // (T × T) rows as vec4s.
  const vec4Entry = variant === 'plain_vec4' || (variant === 'subgroup_vec4' && T % 4 === 0);
  const columns = !plain && vec4Entry && (stage === 'context' || stage === 'grad_v' || stage === 'grad_qk') ? SUBGROUP_SEQ_VEC4_COLUMNS : tile.columns;
  const rowBlocks = B * heads * ceilDiv(T, wg * tile.rows);
  const colTiles = ceilDiv(D, columns);
  const tiles = stage === 'scores' || stage === 'grad_scores' ? rowBlocks : stage === 'grad_qk' ? 2 * rowBlocks * colTiles : rowBlocks * colTiles;
  const matmul = 2 * B * heads * T * T * D; // one (T × T × D) product per (b, h)
  const probs = B * heads * T * T;
  const act = B * T * H;
  // FLOPs: the products; bytes: each tensor touched once (probs twice where a pass rereads it).
  const work: Record<AttentionStage, { flops: number; bytes: number }> = {
    scores: { flops: matmul + 5 * probs, bytes: el * (2 * act + 3 * probs) + 4 * B * T },
    context: { flops: matmul, bytes: el * (2 * act + probs) },
    grad_v: { flops: matmul, bytes: el * (2 * act + probs) },
    grad_scores: { flops: matmul + 5 * probs + 2 * act, bytes: el * (4 * act + 2 * probs) },
    grad_qk: { flops: 2 * matmul, bytes: el * (4 * act + 2 * probs) },
  };
  const features: ShaderFeature[] = dtype === 'f16' ? ['shader-f16'] : [];
  return {
    pipeline: {
      kernel: plain ? 'attention-plain' : 'attention',
      entry: vec4Entry ? `${ENTRIES[stage]}_vec4` : ENTRIES[stage],
      dtype,
      features: plain ? features : [...features, 'subgroups'],
      overrides: { WG: wg },
    },
    uniforms: [B, T, H, heads, D, shape.stream ?? 0, f32Bits(p), f32Bits(1 / Math.sqrt(D))],
    workgroups: grid1d(tiles, limits),
    ...work[stage],
  };
}

export interface AttentionStageLaunch {
  stage: AttentionStage;
  launch: KernelLaunch;
  bindings: readonly AttentionBindingName[];
}

/** The forward's launches in order: scores (writes probs), context (writes out). */
export function attentionForwardLaunches(shape: AttentionShape, limits: DeviceLimits, variant?: AttentionVariant): AttentionStageLaunch[] {
  return ATTENTION_FORWARD_STAGES.map((stage) => ({ stage, launch: attentionLaunch(shape, limits, stage, variant), bindings: ATTENTION_BINDINGS[stage] }));
}

/** The backward's launches in order: grad_v, grad_scores (probs ← dS), grad_qk. */
export function attentionBackwardLaunches(shape: AttentionShape, limits: DeviceLimits, variant?: AttentionVariant): AttentionStageLaunch[] {
  return ATTENTION_BACKWARD_STAGES.map((stage) => ({ stage, launch: attentionLaunch(shape, limits, stage, variant), bindings: ATTENTION_BINDINGS[stage] }));
}

// ---------------------------------------------------------------------------------------------
// Lowering: the forward and backward stages in their required order (grad_scores overwrites
// probs with dS in place, which grad_qk then reads).

function attentionShapeOf(ctx: LowerContext, attrs: AttentionAttrs, qkv: number): AttentionShape {
  const H = ctx.g.get(qkv).shape[1]! / 3;
  return { B: attrs.batch, T: attrs.seq, H, heads: attrs.heads, dropout: attrs.p, stream: attrs.stream, dtype: ctx.dtype(qkv) };
}

/**
 * The variant of one attention op's dispatches (`stages`): forced, else timed, else the heuristic;
 * unforced ops are offered for timing as a whole (their stages share the probs buffer's layout,
 * so they change variant together).
 */
function attentionVariantFor(ctx: LowerContext, op: string, shape: AttentionShape, stages: readonly AttentionStage[], tensors: Record<string, BufferSlice>): AttentionVariant {
  const usable = usableAttentionVariants(shape, ctx.limits);
  const heuristic = pickAttentionVariant(shape, ctx.limits);
  const forced = ctx.variants.attention;
  if (forced !== undefined && forced !== 'auto' && usable.includes(forced as AttentionVariant)) return forced as AttentionVariant;
  const key = `attention ${op} B${shape.B} T${shape.T} H${shape.H} heads${shape.heads} ${shape.dtype ?? 'f32'}${(shape.dropout ?? 0) > 0 ? ' dropout' : ''}`;
  const tuned = ctx.tuned[key] as AttentionVariant | undefined;
  const variant = tuned !== undefined && usable.includes(tuned) ? tuned : heuristic;
  if (usable.length > 1) {
    const names = [...new Set(stages.flatMap((st) => ATTENTION_BINDINGS[st]))];
    const candidates = usable.map((v) => ({
      variant: v,
      launches: stages.map((stage) => {
        const l = attentionLaunch(shape, ctx.limits, stage, v);
        return { pipeline: l.pipeline, uniforms: l.uniforms, workgroups: l.workgroups, bindings: ATTENTION_BINDINGS[stage].map((b) => names.indexOf(b)) };
      }),
    }));
    const flops = stages.reduce((n, stage) => n + attentionLaunch(shape, ctx.limits, stage, heuristic).flops, 0);
    ctx.tuneSite({ key, kernel: 'attention', heuristic, chosen: variant, candidates, bufferBytes: names.map((n) => tensors[n]!.size), flops });
  }
  return variant;
}

export const ATTENTION_LOWERING: LoweringTable<'attention' | 'attention_backward'> = {
  attention(op, ctx) {
    const shape = attentionShapeOf(ctx, op.attrs, op.inputs.qkv);
    const tensors: Record<string, BufferSlice> = { qkv: ctx.slice(op.inputs.qkv), mask: ctx.slice(op.inputs.mask), probs: ctx.slice(op.outputs.probs), out: ctx.slice(op.outputs.out), step_state: ctx.stepState() };
    const variant = attentionVariantFor(ctx, 'forward', shape, ATTENTION_FORWARD_STAGES, tensors);
    for (const stage of ATTENTION_FORWARD_STAGES) {
      ctx.dispatch(op, attentionLaunch(shape, ctx.limits, stage, variant), ATTENTION_BINDINGS[stage].map((b) => tensors[b]!), stage);
    }
  },
  attention_backward(op, ctx) {
    const shape = attentionShapeOf(ctx, op.attrs, op.inputs.qkv);
    const tensors: Record<string, BufferSlice> = {
      qkv: ctx.slice(op.inputs.qkv),
      probs: ctx.slice(op.inputs.probs),
      out: ctx.slice(op.inputs.out),
      d_out: ctx.slice(op.inputs.dout),
      d_qkv: ctx.slice(op.outputs.dqkv),
      step_state: ctx.stepState(),
    };
    const variant = attentionVariantFor(ctx, 'backward', shape, ATTENTION_BACKWARD_STAGES, tensors);
    for (const stage of ATTENTION_BACKWARD_STAGES) {
      ctx.dispatch(op, attentionLaunch(shape, ctx.limits, stage, variant), ATTENTION_BINDINGS[stage].map((b) => tensors[b]!), stage);
    }
  },
};
