// The optimizer stage of a training plan: global gradient norm (also the non-finite check that
// makes a bad step a no-op), then AdamW updates (one per run of adjacent same-decay tensors) or
// LAMB's two stages per tensor. Runs once per optimizer step, after all micro-batches have
// accumulated their gradients; the update kernels zero the gradients they consumed.
import type { Recipe } from '../recipe/index.js';
import type { LowerContext } from './lower-context.js';
import type { MemoryPlan } from './memory.js';
import type { BufferSlice } from '../plan/types.js';
import { elementwiseLaunch, pickElementwiseVariant } from './kernels/elementwise.js';
import {
  adamwUpdateLaunch,
  gradNormFinalizeLaunch,
  lambUpdateLaunches,
  lambPartialSlots,
  pickAdamwVariant,
  sumsqPartialSlots,
  sumsqSegmentsLaunch,
  SUMSQ_MAX_SEGMENTS,
  NORM_STATE_WORDS,
} from './kernels/optimizer.js';

export function optimizerSlots(_recipe: Recipe): string[] {
  return ['m', 'v'];
}

import { appliesWeightDecay } from '../recipe/weight-decay.js';

export { appliesWeightDecay };

const vec4Slice = (s: BufferSlice): BufferSlice => ({ ...s, size: Math.ceil(s.size / 16) * 16 });

export function normStateSlice(ctx: Pick<LowerContext, 'scratch'>): BufferSlice {
  return ctx.scratch('norm_state', NORM_STATE_WORDS * 4);
}

export function lowerOptimizer(ctx: LowerContext, _memory: MemoryPlan): void {
  const { recipe, g, limits } = ctx;
  const schedule = recipe.schedule;
  const adam = schedule.optimizer.adamw ?? schedule.optimizer.lamb!;
  const lamb = schedule.optimizer.lamb !== undefined;
  const grads = g.tensors.filter((t) => t.role === 'grad' && t.gradOf !== undefined);
  const normState = normStateSlice(ctx);

  // 1. Σg² partials per tensor, laid end to end in graph order (the finish sums them in that
  // order), filled by a few dispatches over tensors adjacent in memory; 2. one finish into the
  // norm state.
  const slotOf = new Map<number, number>();
  let totalSlots = 0;
  for (const t of grads) {
    slotOf.set(t.id, totalSlots);
    totalSlots += sumsqPartialSlots({ offset: 0, length: g.size(t.id) }, limits);
  }
  const partials = ctx.scratch('grad_norm_partials', totalSlots * 4);
  for (const group of sumsqGroups(ctx, grads.map((t) => t.id))) {
    const segments = group.tensors.map((t) => ({ offset: (ctx.slice(t).offset - group.slice.offset) / 4, length: g.size(t), slot: slotOf.get(t)! }));
    const names = group.tensors.map((t) => g.get(g.get(t).gradOf!).name);
    const label = names.length === 1 ? names[0]! : `${names[0]}..${names[names.length - 1]}`;
    ctx.dispatch(`optimizer.grad_norm.${label}`, sumsqSegmentsLaunch({ segments }, limits), [group.slice, partials]);
  }
  ctx.dispatch('optimizer.grad_norm.finalize', gradNormFinalizeLaunch({ slot: 0, count: totalSlots, maxNorm: schedule.clip_grad_norm }, limits), [partials, normState, ctx.stepState()]);

  // 3. Updates: AdamW one dispatch per run of adjacent same-decay tensors; LAMB per tensor (its
  // trust ratio is per tensor).
  if (!lamb) {
    for (const run of adamwRuns(ctx, grads.map((t) => ({ param: g.get(t.gradOf!).id, grad: t.id })))) {
      const shape = { offset: 0, length: run.length, beta1: adam.betas[0], beta2: adam.betas[1], eps: adam.eps, weightDecay: run.decay ? adam.weight_decay : 0, biasCorrection: adam.bias_correction, zeroGrad: true };
      const variant = pickAdamwVariant(shape, limits, ctx.variants);
      ctx.dispatch(`optimizer.adamw.${run.label}`, adamwUpdateLaunch(shape, limits, variant), [...run.bindings, ctx.stepState(), normState]);
    }
    return;
  }
  const lambSlots = grads.reduce((s, t) => s + 2 * lambPartialSlots({ offset: 0, length: g.size(t.id) }, limits), 0);
  const lambPartials = ctx.scratch('lamb_partials', lambSlots * 4);
  let lambSlot = 0;
  for (const t of grads) {
    const param = g.get(t.gradOf!);
    const p = ctx.slice(param.id);
    const moment = (name: string): BufferSlice => ({ ...p, buffer: p.buffer.replace(/^params/, name) });
    const decay = appliesWeightDecay(param.name, recipe);
    const shape = {
      offset: 0,
      length: g.size(param.id),
      beta1: adam.betas[0],
      beta2: adam.betas[1],
      eps: adam.eps,
      weightDecay: decay ? adam.weight_decay : 0,
      biasCorrection: adam.bias_correction,
      zeroGrad: true,
    };
    const bindings = [p, ctx.slice(t.id), moment('m'), moment('v')].map(vec4Slice);
    const [moments, apply] = lambUpdateLaunches({ ...shape, slot: lambSlot }, limits);
    lambSlot += 2 * lambPartialSlots(shape, limits);
    const all = [...bindings, ctx.stepState(), normState, lambPartials];
    ctx.dispatch(`optimizer.lamb.${param.name}`, moments, all, 'moments');
    ctx.dispatch(`optimizer.lamb.${param.name}`, apply, all, 'apply');
  }
}

/**
 * Gradient tensors in memory order, grouped for sumsq_partial_segments: neighbours in one arena
 * while a group has at most SUMSQ_MAX_SEGMENTS of them and the slice over them (padded to 16
 * bytes) fits a storage binding.
 */
function sumsqGroups(ctx: LowerContext, grads: number[]): Array<{ tensors: number[]; slice: BufferSlice }> {
  const limit = ctx.limits.maxStorageBufferBindingSize;
  const placed = grads.map((t) => ({ t, s: ctx.slice(t) })).sort((a, b) => (a.s.buffer < b.s.buffer ? -1 : a.s.buffer > b.s.buffer ? 1 : a.s.offset - b.s.offset));
  const groups: Array<{ tensors: number[]; slice: BufferSlice }> = [];
  for (const { t, s } of placed) {
    if (ctx.dtype(t) !== 'f32') throw new Error(`optimizer: gradient ${ctx.g.get(t).name} is not f32`);
    const last = groups[groups.length - 1];
    const end = s.offset + s.size;
    if (last && last.slice.buffer === s.buffer && last.tensors.length < SUMSQ_MAX_SEGMENTS && Math.ceil((end - last.slice.offset) / 16) * 16 <= limit) {
      last.tensors.push(t);
      last.slice = { ...last.slice, size: end - last.slice.offset };
      continue;
    }
    groups.push({ tensors: [t], slice: { ...s } });
  }
  return groups.map((gr) => ({ tensors: gr.tensors, slice: vec4Slice(gr.slice) }));
}

interface AdamwRun {
  /** The first tensor's name, `..` and the last's: the dispatch label. */
  label: string;
  decay: boolean;
  /** Elements from the first tensor's start to the last's end (the padding between them included). */
  length: number;
  /** p, g, m, v: slices over the run, padded to 16 bytes. */
  bindings: BufferSlice[];
}

/**
 * AdamW updates every element on its own, so one dispatch can cover a run of tensors that lie
 * next to each other in the arenas with the same weight decay (planMemory packs decay tensors
 * before no-decay ones): the slices from the run's first tensor to its last. The alignment
 * padding between tensors is zero in p, g, m and v and stays zero (p = 0, m = 0 → p' = 0). A run
 * ends at an arena boundary, at a change of weight decay, or where its binding would pass
 * maxStorageBufferBindingSize. Results are bit-identical to one dispatch per tensor.
 */
function adamwRuns(ctx: LowerContext, tensors: Array<{ param: number; grad: number }>): AdamwRun[] {
  const { g, recipe, limits } = ctx;
  const placed = tensors
    .map((t) => ({ ...t, p: ctx.slice(t.param), gs: ctx.slice(t.grad), name: g.get(t.param).name, decay: appliesWeightDecay(g.get(t.param).name, recipe) }))
    .sort((a, b) => (a.p.buffer < b.p.buffer ? -1 : a.p.buffer > b.p.buffer ? 1 : a.p.offset - b.p.offset));
  const runs: AdamwRun[] = [];
  let i = 0;
  while (i < placed.length) {
    const first = placed[i]!;
    if (ctx.dtype(first.param) !== 'f32') throw new Error(`optimizer: parameter ${first.name} is not f32`);
    let j = i + 1;
    while (j < placed.length) {
      const next = placed[j]!;
      const span = next.p.offset + next.p.size - first.p.offset;
      if (next.p.buffer !== first.p.buffer || next.decay !== first.decay || Math.ceil(span / 16) * 16 > limits.maxStorageBufferBindingSize) break;
      j++;
    }
    const last = placed[j - 1]!;
    const bytes = last.p.offset + last.p.size - first.p.offset;
    const over = (buffer: string): BufferSlice => vec4Slice({ buffer, offset: first.p.offset, size: bytes });
    const moment = (name: string) => first.p.buffer.replace(/^params/, name);
    runs.push({
      label: j - i === 1 ? first.name : `${first.name}..${last.name}`,
      decay: first.decay,
      length: bytes / 4,
      bindings: [over(first.p.buffer), over(first.gs.buffer), over(moment('m')), over(moment('v'))],
    });
    i = j;
  }
  return runs;
}

/**
 * Mixed precision: the f32 → f16 conversion of the masters into their copies (the `copies`
 * stage, run after each update and once after the masters are loaded), one dispatch per run of
 * masters adjacent in an arena.
 */
export function lowerCopies(ctx: LowerContext): void {
  const { g, limits } = ctx;
  // Copies mirror their masters at half the byte offset (planMemory), so a run of masters
  // adjacent in one arena converts in one dispatch; the padding between them is zero.
  const placed = g.tensors
    .filter((t) => t.role === 'param_copy' && t.copyOf !== undefined)
    .map((copy) => ({ copy, master: g.get(copy.copyOf!), m: ctx.slice(copy.copyOf!), c: ctx.slice(copy.id) }))
    .sort((a, b) => (a.m.buffer < b.m.buffer ? -1 : a.m.buffer > b.m.buffer ? 1 : a.m.offset - b.m.offset));
  let i = 0;
  while (i < placed.length) {
    const first = placed[i]!;
    let j = i + 1;
    while (j < placed.length && placed[j]!.m.buffer === first.m.buffer && Math.ceil((placed[j]!.m.offset + placed[j]!.m.size - first.m.offset) / 16) * 16 <= limits.maxStorageBufferBindingSize) j++;
    const last = placed[j - 1]!;
    // Whole vec4s (the arenas end on a multiple of twice the binding alignment, so the rounding
    // stays in the padding after the last master and its copy).
    const bytes = Math.ceil((last.m.offset + last.m.size - first.m.offset) / 16) * 16;
    if (first.c.offset * 2 !== first.m.offset) throw new Error(`copies: ${first.copy.name} does not mirror its master`);
    const shape = { op: 'convert' as const, n: bytes / 4, dtype: 'f16' as const, inDtype: 'f32' as const };
    const label = j - i === 1 ? first.master.name : `${first.master.name}..${last.master.name}`;
    const bindings = [
      { buffer: first.m.buffer, offset: first.m.offset, size: bytes },
      { buffer: first.c.buffer, offset: first.c.offset, size: bytes / 2 },
    ];
    ctx.dispatch(`copies.${label}`, elementwiseLaunch(shape, limits, pickElementwiseVariant(shape, ctx.variants)), bindings);
    i = j;
  }
}
