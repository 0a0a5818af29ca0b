// Launch definition of the matmul family: C = epilogue(alpha·op(A)·op(B) + bias) [+ C], and
// The lowering of the linear and matmul ops sits at the end of this file.
// with storePre also PRE = alpha·op(A)·op(B) + bias (the pre-activation, for training plans
// that fuse the activation: its backward needs it). Every variant has the same bindings
// (a, b, bias, c, pre; pre is always bound, a spare writable buffer when not stored), uniforms
// and overrides, so the compiler need not care which one runs; the variants differ in kernel
// file, entry point and which shapes/devices they accept (usableMatmulVariants). Also the bias
// gradient (column sums), the reduction every dense layer's backward needs:
// kernels/reduce-columns.wgsl.
import { grid1d, f32Bits, ceilDiv } from '../../plan/types.js';
import type { DType, DeviceLimits, ShaderFeature } from '../../plan/types.js';
import type { KernelLaunch } from './kernel.js';
import { chooseVariant, hasSubgroups, otherTypes } from './kernel.js';
import type { LowerContext, LoweringTable } from '../lower-context.js';
import type { Op } from '../../graph/ir.js';
import { matmulDims } from '../../graph/ops/matmul.js';
import { dispatchBiasGrad } from './matmul-bias-grad.js';

/**
 * The activation applied in C's store; the `_grad` forms are backward epilogues: C = x·act′(pre),
 * pre read from binding `pre` (kernels/matmul-common.wgsl).
 */
export type Epilogue = 'none' | 'gelu' | 'gelu_tanh' | 'relu' | 'tanh' | 'gelu_grad' | 'gelu_tanh_grad' | 'relu_grad';
const EPILOGUE_CODES: Record<Epilogue, number> = { none: 0, gelu: 1, gelu_tanh: 2, relu: 3, tanh: 4, gelu_grad: 5, gelu_tanh_grad: 6, relu_grad: 7 };

/** The backward epilogue of an activation (tanh has none: its derivative comes from its output). */
export function gradEpilogue(fn: string): Epilogue | undefined {
  return fn === 'gelu' || fn === 'gelu_tanh' || fn === 'relu' ? (`${fn}_grad` as Epilogue) : undefined;
}

function isGradEpilogue(e: Epilogue | undefined): boolean {
  return e !== undefined && e.endsWith('_grad');
}

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  /** Batch strides in elements; default dense, 0 broadcasts. */
  strideA?: number;
  strideB?: number;
  strideC?: number;
  alpha?: number;
  bias?: boolean;
  epilogue?: Epilogue;
  /** Also write the value before the epilogue (after alpha and bias) to binding `pre`. */
  storePre?: boolean;
  accumulate?: boolean;
  dtype?: DType;
  /** Element type of C (alias TC), when it differs: f32 where an f16 plan accumulates a parameter gradient. */
  cDtype?: DType;
  /**
   * Also Σ_k op(A)[m, k] into binding `row_sum` (element type TC), `+=` with rowSumAccumulate: the
   * subgroup variant only, batch 1, K not split (matmulRowSumFits).
   */
  rowSum?: boolean;
  rowSumAccumulate?: boolean;
}

/**
 * naive: one invocation per element (the baseline). blocked: 4×4 per invocation, scalar loads,
 * any shape. vec4: 4×8 per invocation with vec4 loads (aligned shapes). subgroup: 4×32 per
 * lane, B shared by subgroupBroadcast (the lavapipe winner). subgroup_scalar_a: the same with A
 * read one element at a time, for shapes whose A is not vec4-aligned (BERT's 30,522-word
 * decoder gradients). tiled: 64×64 workgroup-memory tiles (real GPUs).
 */
export const MATMUL_VARIANTS = ['naive', 'blocked', 'vec4', 'subgroup', 'subgroup_scalar_a', 'tiled'] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];
export const MATMUL_BINDINGS = ['a', 'b', 'bias', 'c', 'pre'] as const;
/** The subgroup variants also bind the partial accumulators of a K chunk (matmulKChunk). */
export const MATMUL_SUBGROUP_BINDINGS = [...MATMUL_BINDINGS, 'partial'] as const;

/** With MatmulShape.rowSum, the subgroup variant binds the row sums' output last. */
export const MATMUL_ROW_SUM_BINDINGS = [...MATMUL_SUBGROUP_BINDINGS, 'row_sum'] as const;

export function matmulBindings(variant: MatmulVariant, rowSum = false): readonly string[] {
  if (rowSum) return MATMUL_ROW_SUM_BINDINGS;
  return isSubgroupVariant(variant) ? MATMUL_SUBGROUP_BINDINGS : MATMUL_BINDINGS;
}

/**
 * Whether this variant sums op(A)'s rows in the product's own launch (MatmulShape.rowSum): the
 * subgroup kernel, in one launch (K not split), unbatched. Elsewhere the lowering runs the
 * bias-gradient kernel after the product.
 */
export function matmulRowSumFits(shape: MatmulShape, limits: DeviceLimits, variant: MatmulVariant): boolean {
  return variant === 'subgroup' && (shape.batch ?? 1) === 1 && matmulKChunk(shape, limits, variant) >= shape.K;
}

function isSubgroupVariant(variant: MatmulVariant): boolean {
  return variant === 'subgroup' || variant === 'subgroup_scalar_a';
}

/** Invocations per workgroup of every variant except tiled (fixed 256 = 16×16). */
const WG = 64;
const TILED_WG = 256;

/**
 * The vec4 and subgroup variants bind a and b as array<vec4<T>>: the contiguous dim of each
 * operand (A: K, or M with transA; B: N, or K with transB) and its batch stride must be
 * multiples of 4 (the bound slices must also be 16-byte aligned: the plan's offsets are).
 */
export function matmulVec4Aligned(shape: MatmulShape): boolean {
  const { M, N, K } = shape;
  const aContig = shape.transA ? M : K;
  const bContig = shape.transB ? K : N;
  const strideA = shape.strideA ?? M * K;
  const strideB = shape.strideB ?? K * N;
  return aContig % 4 === 0 && bContig % 4 === 0 && strideA % 4 === 0 && strideB % 4 === 0;
}

/** subgroup_scalar_a binds only B as vec4s: B's contiguous dim and batch stride multiples of 4. */
export function matmulBAligned(shape: MatmulShape): boolean {
  const { N, K } = shape;
  const bContig = shape.transB ? K : N;
  const strideB = shape.strideB ?? K * N;
  return bContig % 4 === 0 && strideB % 4 === 0;
}

/**
 * The subgroup kernel shares a k-slice's B vec4s from lanes 0..7 (4 each) and needs full subgroups:
 * every subgroup size the device may use must be ≥ 8 and divide the workgroup (64).
 */
export function matmulSubgroupsFit(limits: DeviceLimits): boolean {
  if (!hasSubgroups(limits)) return false;
  const min = limits.subgroupMinSize;
  const max = limits.subgroupMaxSize;
  if (min === undefined || max === undefined) return false;
  return min >= 8 && max <= WG && WG % max === 0;
}

/** Variants that can run this shape on this device, in MATMUL_VARIANTS order. */
export function usableMatmulVariants(shape: MatmulShape, limits: DeviceLimits): MatmulVariant[] {
  const aligned = matmulVec4Aligned(shape);
  return MATMUL_VARIANTS.filter((v) => {
    if (v === 'vec4') return aligned;
    if (v === 'subgroup') return aligned && matmulSubgroupsFit(limits);
    if (v === 'subgroup_scalar_a') return matmulBAligned(shape) && matmulSubgroupsFit(limits);
    if (v === 'tiled') return limits.maxComputeInvocationsPerWorkgroup >= TILED_WG && limits.maxComputeWorkgroupSizeX >= TILED_WG;
    return true;
  });
}

/**
 * The variants worth timing for a shape (src/tune): every usable one except naive, the baseline,
 * which only competes on the slivers the heuristic gives it.
 */
export function tunableMatmulVariants(shape: MatmulShape, limits: DeviceLimits): MatmulVariant[] {
  const usable = usableMatmulVariants(shape, limits);
  // subgroup_scalar_a is subgroup with 4× the A loads: only where subgroup cannot run.
  const worth = usable.includes('subgroup') ? usable.filter((v) => v !== 'subgroup_scalar_a') : usable;
  return shape.M < 4 || shape.N < 4 ? worth : worth.filter((v) => v !== 'naive');
}

/** The tune-site key of a shape: everything that changes the work or the code that does it. */
export function matmulTuneKey(shape: MatmulShape): string {
  const dtype = shape.dtype ?? 'f32';
  const parts = [
    `matmul ${shape.M}x${shape.N}x${shape.K}`,
    (shape.batch ?? 1) > 1 ? `batch ${shape.batch} strides ${shape.strideA ?? shape.M * shape.K}/${shape.strideB ?? shape.K * shape.N}/${shape.strideC ?? shape.M * shape.N}` : '',
    `${shape.transA ? 'T' : 'N'}${shape.transB ? 'T' : 'N'}`,
    shape.cDtype && shape.cDtype !== dtype ? `${dtype}->${shape.cDtype}` : dtype,
    shape.bias ? 'bias' : '',
    shape.epilogue && shape.epilogue !== 'none' ? shape.epilogue : '',
    shape.storePre ? 'pre' : '',
    shape.accumulate ? 'accumulate' : '',
  ];
  return parts.filter(Boolean).join(' ');
}

export function pickMatmulVariant(shape: MatmulShape, limits: DeviceLimits, forced?: Record<string, string>): MatmulVariant {
  const usable = usableMatmulVariants(shape, limits);
  let heuristic: MatmulVariant;
  if (shape.M < 4 || shape.N < 4) {
    // A sliver of output: nothing to block over, and the blocked tiles would be mostly idle.
    heuristic = 'naive';
  } else if (limits.adapter?.isCpu) {
    // CPU rasterizers (lavapipe): the cost is storage loads per FLOP and workgroup memory plus
    // barriers cost more than they save (DESIGN.md); sharing loads by subgroup broadcast is
    // the fastest (≈2× vec4), also with A read as scalars (an unaligned A: 2.5-3.3× blocked at
    // BERT's decoder; not for a K of a few k-slices, e.g. the NSP head's K = 2, where blocked
    // is 2.4× faster), then vec4 loads, then the scalar 4×4 block.
    const scalarA = usable.includes('subgroup_scalar_a') && shape.K >= 16;
    heuristic = usable.includes('subgroup') ? 'subgroup' : scalarA ? 'subgroup_scalar_a' : usable.includes('vec4') ? 'vec4' : 'blocked';
  } else {
    // Real GPUs: workgroup-memory tiling is what makes a matmul fast there (coalesced loads,
    // reuse from on-chip memory); fall back to register blocking if 256 invocations won't fit.
    heuristic = usable.includes('tiled') ? 'tiled' : usable.includes('vec4') ? 'vec4' : 'blocked';
  }
  return chooseVariant('matmul', usable, heuristic, forced);
}

interface VariantGeometry {
  kernel: string;
  features: ShaderFeature[];
  wg: number;
  /** Output tile of one workgroup. */
  rows: number;
  cols: number;
}

/**
 * Workgroup size of the subgroup variant: the fewest invocations, a multiple of the largest
 * subgroup size and at most 64, that cover M in as many row tiles as 64 would. Each invocation
 * owns 4 rows, so a 64-wide workgroup covers 256 rows: a 32-row matmul such as BERT's pooler
 * would compute 7/8 clamped duplicates, and M = 384 (BERT-tiny's QKV gradient) or 640 (BERT-base's
 * masked rows) would pay for 512 or 768 rows; with 48 or 56 invocations the row tiles fit M
 * (384 or 672 rows). Each output element is the same sum whatever the tile, so results do not
 * change.
 */
export function matmulSubgroupWorkgroup(M: number, limits: DeviceLimits): number {
  const sg = limits.subgroupMaxSize ?? WG;
  const quads = ceilDiv(M, 4);
  const rowTiles = ceilDiv(quads, WG);
  return Math.min(WG, Math.max(sg, ceilDiv(ceilDiv(quads, rowTiles), sg) * sg));
}

/**
 * Entry point of a variant: the subgroup kernel stores C as vec4s (matmul_subgroup_c4) when
 * every row and batch of C starts on a vec4 (N and the C batch stride multiples of 4).
 */
export function matmulEntry(variant: MatmulVariant, shape: MatmulShape): string {
  const c4 = shape.N % 4 === 0 && (shape.strideC ?? shape.M * shape.N) % 4 === 0;
  if (shape.rowSum) return `matmul_subgroup_row_sum${c4 ? '_c4' : ''}`;
  if ((variant === 'subgroup' || variant === 'subgroup_scalar_a') && c4) return `matmul_${variant}_c4`;
  return `matmul_${variant}`;
}

function geometry(variant: MatmulVariant, M: number, limits: DeviceLimits): VariantGeometry {
  switch (variant) {
    case 'naive':
      return { kernel: 'matmul', features: [], wg: WG, rows: 1, cols: WG };
    case 'blocked':
      return { kernel: 'matmul', features: [], wg: WG, rows: (WG / 8) * 4, cols: 32 };
    case 'vec4':
      // 4 rows × 8 columns per invocation, 8 invocations across a 64-column strip.
      return { kernel: 'matmul', features: [], wg: WG, rows: (WG / 8) * 4, cols: 64 };
    case 'subgroup':
    case 'subgroup_scalar_a': {
      // 4 rows per invocation, all invocations on the same 32 columns (kernels/matmul-subgroup.wgsl).
      const wg = matmulSubgroupWorkgroup(M, limits);
      return { kernel: 'matmul-subgroup', features: ['subgroups'], wg, rows: wg * 4, cols: 32 };
    }
    case 'tiled':
      return { kernel: 'matmul', features: [], wg: TILED_WG, rows: 64, cols: 64 };
  }
}

/**
 * K above which a CPU adapter's subgroup matmul runs in chunks of CPU_K_CHUNK (one launch each,
 * accumulators carried between them in the partial buffer; the same sums in the same order):
 * a subgroup streams its A rows and the tile's B columns over all of K before the next one
 * re-reads B. Chunked, BERT-base's decoder dX (K = 30,522) ran 1.37–1.7× faster and its dW
 * products (K = 4,096) 1.07–1.3×; at K = 3,072 (the FFN's down projection) chunks gained
 * nothing beyond this machine's drift, so it stays whole (docs/benchmarks.md).
 */
export const CPU_SPLIT_K_ABOVE = 3072;
export const CPU_K_CHUNK = 1024;

/** The k range one launch of this variant sums: K itself, or CPU_K_CHUNK for a long K on a CPU. */
export function matmulKChunk(shape: MatmulShape, limits: DeviceLimits, variant: MatmulVariant): number {
  const split = isSubgroupVariant(variant) && limits.adapter?.isCpu === true && shape.K > CPU_SPLIT_K_ABOVE;
  return split ? CPU_K_CHUNK : shape.K;
}

/** Bytes of the subgroup kernel's accumulators over all its tiles (4 rows × 32 f32 per invocation): what K chunks carry. */
export function matmulTileAccumulatorBytes(shape: MatmulShape, limits: DeviceLimits): number {
  const wg = matmulSubgroupWorkgroup(shape.M, limits);
  const tiles = ceilDiv(shape.M, wg * 4) * ceilDiv(shape.N, 32);
  return (shape.batch ?? 1) * tiles * wg * 4 * 32 * 4;
}

/** Bytes of the partial-accumulator binding: matmulTileAccumulatorBytes when K is split, else 16. */
export function matmulPartialBytes(shape: MatmulShape, limits: DeviceLimits, variant: MatmulVariant): number {
  return matmulKChunk(shape, limits, variant) >= shape.K ? 16 : matmulTileAccumulatorBytes(shape, limits);
}

/**
 * The launches of one product: one, or one per K chunk (matmulKChunk) in k order, the first
 * storing its accumulators to the partial binding, the last applying the epilogue to C.
 */
export function matmulLaunches(shape: MatmulShape, limits: DeviceLimits, variant: MatmulVariant = pickMatmulVariant(shape, limits)): KernelLaunch[] {
  const chunk = matmulKChunk(shape, limits, variant);
  if (chunk >= shape.K) return [matmulLaunch(shape, limits, variant)];
  const launches: KernelLaunch[] = [];
  const partialBytes = matmulPartialBytes(shape, limits, variant);
  for (let begin = 0; begin < shape.K; begin += chunk) {
    const end = Math.min(shape.K, begin + chunk);
    launches.push(matmulLaunch(shape, limits, variant, { begin, end, partialIn: begin > 0, partialOut: end < shape.K, partialBytes }));
  }
  return launches;
}

interface KRange {
  begin: number;
  end: number;
  partialIn: boolean;
  partialOut: boolean;
  partialBytes: number;
}

export function matmulLaunch(shape: MatmulShape, limits: DeviceLimits, variant: MatmulVariant = pickMatmulVariant(shape, limits), range?: KRange): KernelLaunch {
  const { M, N, K } = shape;
  if (!(M >= 1 && N >= 1 && K >= 1)) throw new Error(`matmul needs M, N, K ≥ 1 (got ${M}×${N}×${K})`);
  if ((variant === 'vec4' || variant === 'subgroup') && !matmulVec4Aligned(shape)) {
    throw new Error(`matmul ${variant} needs 4-aligned contiguous dims and batch strides (got ${JSON.stringify(shape)})`);
  }
  if (variant === 'subgroup_scalar_a' && !matmulBAligned(shape)) {
    throw new Error(`matmul subgroup_scalar_a needs B's contiguous dim and batch stride 4-aligned (got ${JSON.stringify(shape)})`);
  }
  const batch = shape.batch ?? 1;
  if (isGradEpilogue(shape.epilogue) && shape.storePre) throw new Error(`matmul: the ${shape.epilogue} epilogue reads pre, it cannot also store it`);
  if (shape.rowSum && (variant !== 'subgroup' || batch !== 1 || range)) {
    throw new Error(`matmul row sums need the subgroup variant, batch 1 and K in one launch (got ${variant}, batch ${batch}${range ? ', a K chunk' : ''})`);
  }
  const g = geometry(variant, M, limits);
  const tiles = ceilDiv(M, g.rows) * ceilDiv(N, g.cols);
  const [x, y] = grid1d(tiles, limits);
  if (batch > limits.maxComputeWorkgroupsPerDimension) throw new Error(`matmul batch ${batch} exceeds the device's workgroup limit`);
  const dtype = shape.dtype ?? 'f32';
  const elementBytes = dtype === 'f16' ? 2 : 4;
  const features: ShaderFeature[] = [...g.features];
  if (dtype === 'f16') features.unshift('shader-f16');
  const overrides: Record<string, number> = {
    TRANS_A: shape.transA ? 1 : 0,
    TRANS_B: shape.transB ? 1 : 0,
    HAS_BIAS: shape.bias ? 1 : 0,
    ACCUMULATE: shape.accumulate ? 1 : 0,
    EPILOGUE: EPILOGUE_CODES[shape.epilogue ?? 'none'],
    STORE_PRE: shape.storePre ? 1 : 0,
  };
  // tiled's workgroup size is a const in WGSL (its workgroup arrays are sized by it).
  if (variant !== 'tiled') overrides.WG = g.wg;
  // The subgroup kernel skips clamping k when every 4-deep slice is whole.
  if (isSubgroupVariant(variant)) {
    overrides.K_ALIGNED = K % 4 === 0 ? 1 : 0;
    overrides.PARTIAL_IN = range?.partialIn ? 1 : 0;
    overrides.PARTIAL_OUT = range?.partialOut ? 1 : 0;
    if (shape.rowSum) {
      overrides.ROW_SUM = 1;
      overrides.ROW_SUM_ACCUMULATE = shape.rowSumAccumulate ? 1 : 0;
    }
  } else if (range) {
    throw new Error(`matmul ${variant} sums all of K: only the subgroup variants take a K chunk`);
  }
  const begin = range?.begin ?? 0;
  const end = range?.end ?? K;
  if (begin % 4 !== 0 || !(begin < end && end <= K) || (end < K && end % 4 !== 0)) throw new Error(`matmul K chunk ${begin}..${end} of ${K}: chunks start and end on multiples of 4`);
  const depth = end - begin;
  const partialTraffic = range ? (range.partialIn ? range.partialBytes : 0) + (range.partialOut ? range.partialBytes : 0) : 0;
  const last = !range?.partialOut;
  return {
    pipeline: { kernel: g.kernel, entry: matmulEntry(variant, shape), dtype, ...otherTypes(dtype, { TC: shape.cDtype }), features, overrides },
    uniforms: [M, N, K, batch, shape.strideA ?? M * K, shape.strideB ?? K * N, shape.strideC ?? M * N, f32Bits(shape.alpha ?? 1), begin, end],
    workgroups: [x, y, batch],
    flops: 2 * batch * M * N * depth + (shape.rowSum ? M * depth : 0),
    bytes: elementBytes * batch * (M * depth + depth * N + (last ? M * N * ((shape.accumulate ? 2 : 1) + (shape.storePre || isGradEpilogue(shape.epilogue) ? 1 : 0)) : 0)) + partialTraffic + (shape.rowSum ? elementBytes * M * (shape.rowSumAccumulate ? 2 : 1) : 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Lowering: linear (y = act(x·wᵀ + b)) and matmul (the backward's products) → one dispatch each.

/**
 * C (=|+=) epilogue(op(A)·op(B) + bias) for 2-D tensors, shapes read from the graph; with `pre`
 * the same dispatch writes the value before the epilogue there.
 */
function dispatchMatmul(ctx: LowerContext, op: Op, a: number, b: number, c: number, transA: boolean, transB: boolean, accumulate: boolean, bias?: number, epilogue?: Epilogue, pre?: number, rowSum?: { tensor: number; accumulate: boolean }): void {
  const { M, N, K } = matmulDims(ctx.g.get(a).shape, ctx.g.get(b).shape, transA, transB);
  // `pre` is written by a forward epilogue, read by a backward one.
  const storePre = pre !== undefined && !isGradEpilogue(epilogue);
  const shape: MatmulShape = { M, N, K, transA, transB, accumulate, bias: bias !== undefined, epilogue, storePre, dtype: ctx.dtype(a), cDtype: ctx.dtype(c) };
  // Bindings in MATMUL_BINDINGS order: a, b, bias, c, pre (always bound: statically used), and
  // for the subgroup variants the partial accumulators (a plan scratch buffer; 16 bytes unsplit).
  const operands = [ctx.slice(a), ctx.slice(b), bias !== undefined ? ctx.slice(bias) : ctx.dummy(), ctx.slice(c), pre !== undefined ? ctx.slice(pre) : ctx.dummyOut()];
  let variant = pickMatmulVariant(shape, ctx.limits, ctx.variants);
  const forced = ctx.variants.matmul;
  if (forced === undefined || forced === 'auto' || !usableMatmulVariants(shape, ctx.limits).includes(forced as MatmulVariant)) {
    // Not forced: a timed choice wins over the heuristic, and the dispatch is offered for timing.
    const key = matmulTuneKey(shape);
    const candidates = tunableMatmulVariants(shape, ctx.limits);
    const heuristic = variant;
    const tuned = ctx.tuned[key] as MatmulVariant | undefined;
    if (tuned !== undefined && candidates.includes(tuned)) variant = tuned;
    if (candidates.length > 1) {
      const launches = candidates.map((v) => ({
        variant: v,
        launches: matmulLaunches(shape, ctx.limits, v).map((l) => ({ pipeline: l.pipeline, uniforms: l.uniforms, workgroups: l.workgroups, bindings: matmulBindings(v).map((_, i) => i) })),
      }));
      const partialBytes = Math.max(...candidates.map((v) => matmulPartialBytes(shape, ctx.limits, v)));
      ctx.tuneSite({ key, kernel: 'matmul', heuristic, chosen: variant, candidates: launches, bufferBytes: [...operands.map((b) => b.size), partialBytes], flops: 2 * M * N * K });
    }
  }
  // Row sums (a fused bias gradient) in the product's launch where the variant can, else the
  // bias-gradient kernel after it (op(A) is then dY as that kernel reads it: transA, unbatched).
  const fused = rowSum !== undefined && matmulRowSumFits(shape, ctx.limits, variant) && ctx.dtype(rowSum.tensor) === ctx.dtype(c);
  const launchShape: MatmulShape = fused ? { ...shape, rowSum: true, rowSumAccumulate: rowSum!.accumulate } : shape;
  const partials = isSubgroupVariant(variant) ? [ctx.scratch('matmul_partials', matmulPartialBytes(shape, ctx.limits, variant))] : [];
  const bindings = [...operands, ...partials, ...(fused ? [ctx.slice(rowSum!.tensor)] : [])];
  const launches = matmulLaunches(launchShape, ctx.limits, variant);
  launches.forEach((launch, i) => ctx.dispatch(op, launch, bindings, launches.length > 1 ? `k${i}` : undefined));
  if (rowSum !== undefined && !fused) {
    if (!transA) throw new Error(`matmul ${op.label}: row sums without the fused kernel need transA (op(A) = dYᵀ)`);
    dispatchBiasGrad(ctx, op, a, rowSum.tensor, rowSum.accumulate, 'db');
  }
}

export const MATMUL_LOWERING: LoweringTable<'linear' | 'matmul'> = {
  linear(op, ctx) {
    const { x, w, b } = op.inputs;
    const { epilogue, storePre } = op.attrs;
    dispatchMatmul(ctx, op, x, w, op.outputs.y, false, true, false, b, epilogue, storePre ? op.outputs.pre : undefined);
  },
  matmul(op, ctx) {
    const rowSum = op.outputs.rowSum !== undefined ? { tensor: op.outputs.rowSum, accumulate: op.accumulate.includes('rowSum') } : undefined;
    const { actGrad } = op.attrs;
    const epilogue = actGrad !== undefined ? gradEpilogue(actGrad) : undefined;
    if (actGrad !== undefined && (epilogue === undefined || op.inputs.actPre === undefined)) throw new Error(`matmul ${op.label}: no backward epilogue for ${actGrad}`);
    // The kernel reads pre with A's element type (binding 5 is array<T>).
    if (op.inputs.actPre !== undefined && ctx.dtype(op.inputs.actPre) !== ctx.dtype(op.inputs.a)) throw new Error(`matmul ${op.label}: pre-activation ${ctx.dtype(op.inputs.actPre)} but A ${ctx.dtype(op.inputs.a)}`);
    dispatchMatmul(ctx, op, op.inputs.a, op.inputs.b, op.outputs.c, op.attrs.transA, op.attrs.transB, op.accumulate.includes('c'), undefined, epilogue, op.inputs.actPre, rowSum);
  },
};
