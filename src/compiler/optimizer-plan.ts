// The optimizer stage of a training plan: global gradient norm (also the non-finite check that
// makes a bad step a no-op), then one AdamW update per parameter tensor, or LAMB's two stages.
// Runs once per optimizer step, after all micro-batches have accumulated their gradients; the
// update kernels zero the gradients they consumed.
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
  sumsqPartialLaunch,
  sumsqPartialSlots,
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

  // 1. Σg² partials per tensor, laid end to end; 2. one finish into the norm state.
  const ranges = grads.map((t) => ({ offset: 0, length: g.size(t.id) }));
  const totalSlots = ranges.reduce((s, r) => s + sumsqPartialSlots(r, limits), 0);
  const partials = ctx.scratch('grad_norm_partials', totalSlots * 4);
  let slot = 0;
  grads.forEach((t, i) => {
    const param = g.get(t.gradOf!);
    ctx.dispatch(`optimizer.grad_norm.${param.name}`, sumsqPartialLaunch({ ...ranges[i]!, slot }, limits), [vec4Slice(ctx.slice(t.id)), partials]);
    slot += sumsqPartialSlots(ranges[i]!, limits);
  });
  ctx.dispatch('optimizer.grad_norm.finalize', gradNormFinalizeLaunch({ slot: 0, count: totalSlots, maxNorm: schedule.clip_grad_norm }, limits), [partials, normState, ctx.stepState()]);

  // 3. Updates, one tensor at a time (weight decay per tensor from schedule.no_decay).
  const lambSlots = lamb ? grads.reduce((s, t) => s + 2 * lambPartialSlots({ offset: 0, length: g.size(t.id) }, limits), 0) : 0;
  const lambPartials = lamb ? ctx.scratch('lamb_partials', lambSlots * 4) : undefined;
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
    if (lamb) {
      const [moments, apply] = lambUpdateLaunches({ ...shape, slot: lambSlot }, limits);
      lambSlot += 2 * lambPartialSlots(shape, limits);
      const all = [...bindings, ctx.stepState(), normState, lambPartials!];
      ctx.dispatch(`optimizer.lamb.${param.name}`, moments, all, 'moments');
      ctx.dispatch(`optimizer.lamb.${param.name}`, apply, all, 'apply');
    } else {
      const variant = pickAdamwVariant(shape, limits, ctx.variants);
      ctx.dispatch(`optimizer.adamw.${param.name}`, adamwUpdateLaunch(shape, limits, variant), [...bindings, ctx.stepState(), normState]);
    }
  }
}

/**
 * Mixed precision: one f32 → f16 conversion per parameter, master into its copy (the `copies`
 * stage, run after each update and once after the masters are loaded).
 */
export function lowerCopies(ctx: LowerContext): void {
  const { g, limits } = ctx;
  for (const copy of g.tensors.filter((t) => t.role === 'param_copy' && t.copyOf !== undefined)) {
    const master = g.get(copy.copyOf!);
    const n = g.size(copy.id);
    const shape = { op: 'convert' as const, n, dtype: 'f16' as const, inDtype: 'f32' as const };
    ctx.dispatch(`copies.${master.name}`, elementwiseLaunch(shape, limits, pickElementwiseVariant(shape, ctx.variants)), [ctx.slice(master.id), ctx.slice(copy.id)]);
  }
}
