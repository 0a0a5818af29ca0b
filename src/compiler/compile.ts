// compile(recipe, ...) → KernelPlan: builds the graph for one micro-batch shape, appends the
// backward and optimizer when training, plans memory and lowers every op to dispatches.
// A pure function over plain data: no GPU, no I/O.
import type { Recipe } from '../recipe/index.js';
import { buildModelGraph, type MicroBatchShape, type ModelGraph } from '../graph/model.js';
import { appendBackward } from '../graph/autodiff.js';
import { fuseActivationBackward, fuseBiasGradients, fuseDropoutBackward, fuseForwardEpilogues, fuseLayernormDropout, fuseTrainingEpilogues } from '../graph/fusion.js';
import { checkShapes } from '../graph/check-shapes.js';
import { applyMixedPrecision } from '../graph/precision.js';
import { planMemory, type MemoryPlan } from './memory.js';
import type { BufferDecl, BufferSlice, DeviceLimits, IoSlot, KernelPlan, PipelineSpec, PlanParam, PlanStep } from '../plan/types.js';
import { pipelineKey } from '../plan/types.js';
import { STEP_STATE_BUFFER, STEP_STATE_BYTES } from '../plan/step-state.js';
import type { LowerContext, Lowering } from './lower-context.js';
import type { TuneSite } from './tune-site.js';
import { LOWER } from './lower.js';
import { appliesWeightDecay, lowerCopies, lowerOptimizer, optimizerSlots, normStateSlice } from './optimizer-plan.js';

export interface CompileOptions {
  training: boolean;
  /** Plan name; also prefixes its private buffers (activations, scratch). */
  name?: string;
  /** Forced kernel variants (default: the recipe's runtime.variants; see forcedVariants). */
  variants?: Record<string, string>;
  /** Variants chosen by timing, by tune-site key (src/tune); the heuristic decides the rest. */
  tuned?: Record<string, string>;
  /** Forward only, no losses: logits, pooled output and hidden states readable (plan.outputs). */
  inference?: boolean;
  /** tasks.classify: the number of labels. */
  classes?: number;
}

export interface Compiled {
  plan: KernelPlan;
  model: ModelGraph;
  memory: MemoryPlan;
  /** Where a graph tensor lives in this plan's buffers (for validation and debugging). */
  slice(tensor: number): BufferSlice;
  /** Dispatches whose variant a tuner may choose, one per distinct key. */
  tuneSites: TuneSite[];
}

/** Forced variants for a compile: the recipe's runtime.variants over external ones (the CLI's BERT_VARIANT_*). */
export function forcedVariants(recipe: Recipe, external?: Record<string, string>): Record<string, string> {
  return { ...(external ?? {}), ...recipe.runtime.variants };
}

export function compile(recipe: Recipe, vocab: number, shape: MicroBatchShape, limits: DeviceLimits, options: CompileOptions): Compiled {
  const name = options.name ?? (options.training ? 'train' : 'eval');
  const model = buildModelGraph(recipe, vocab, shape, { training: options.training, inference: options.inference, classes: options.classes });
  const g = model.graph;
  if (options.training) {
    fuseTrainingEpilogues(g);
    appendBackward(g);
    fuseActivationBackward(g);
    fuseBiasGradients(g);
    fuseDropoutBackward(g);
    fuseLayernormDropout(g);
  } else fuseForwardEpilogues(g);
  // Mixed precision for training and evaluation plans; inference stays f32 (its outputs are read as f32).
  const mixed = recipe.runtime.precision === 'f16' && !options.inference;
  if (mixed) applyMixedPrecision(g);
  checkShapes(g);
  const slots = options.training ? optimizerSlots(recipe) : [];
  // Weight-decay tensors first, then the no-decay ones (biases, LayerNorm): two AdamW runs.
  const memory = planMemory(g, limits, { optimizerSlots: slots, paramOrder: (t) => (appliesWeightDecay(t.name, recipe) ? 0 : 1) });
  // Plan-private buffers carry the plan's name; shared ones (params, grads, optimizer) do not.
  const privateId = (id: string) => (/^(params|params16|grads|m|v)\./.test(id) || id === STEP_STATE_BUFFER ? id : `${name}.${id}`);
  const buffers: BufferDecl[] = memory.buffers.map((b) => ({ ...b, id: privateId(b.id) }));
  const scratchSizes = new Map<string, number>();
  const steps: PlanStep[] = [];
  let stage: PlanStep['stage'] = 'microbatch';
  let opIndex = -1;

  const tuneSites = new Map<string, TuneSite>();
  const ctx: LowerContext = {
    g,
    limits,
    variants: options.variants ?? recipe.runtime.variants ?? {},
    tuned: options.tuned ?? {},
    tuneSite: (site) => void (tuneSites.has(site.key) || tuneSites.set(site.key, site)),
    recipe,
    training: options.training,
    slice(tensor) {
      const p = memory.placements.get(tensor);
      if (!p) throw new Error(`compile: tensor ${g.get(tensor).name} has no placement`);
      return { buffer: privateId(p.buffer), offset: p.offset, size: p.size };
    },
    dtype: (tensor) => (g.get(tensor).dtype === 'f16' ? 'f16' : 'f32'),
    scratch(scratchName, bytes) {
      const id = `${name}.scratch.${scratchName}`;
      scratchSizes.set(id, Math.max(scratchSizes.get(id) ?? 0, bytes, 16));
      return { buffer: id, offset: 0, size: Math.max(16, Math.ceil(bytes / 4) * 4) };
    },
    stepState: () => ({ buffer: STEP_STATE_BUFFER, offset: 0, size: STEP_STATE_BYTES }),
    dummy: () => ({ buffer: `${name}.dummy`, offset: 0, size: 16 }),
    dummyOut: () => ({ buffer: `${name}.dummy_out`, offset: 0, size: 16 }),
    dispatch(op, launch, bindings, suffix) {
      const label = typeof op === 'string' ? op : op.label;
      const step: PlanStep = { label: suffix ? `${label}.${suffix}` : label, stage, ...(stage === 'microbatch' ? { op: opIndex } : {}), ...launch, bindings };
      steps.push(step);
      return step;
    },
  };

  for (const op of g.ops) {
    opIndex++;
    (LOWER[op.kind] as Lowering<typeof op.kind>)(op, ctx);
  }
  stage = 'optimizer';
  if (options.training) lowerOptimizer(ctx, memory);
  stage = 'copies';
  if (mixed) lowerCopies(ctx);

  buffers.push({ id: STEP_STATE_BUFFER, bytes: STEP_STATE_BYTES, role: 'state' });
  buffers.push({ id: `${name}.dummy`, bytes: 16, role: 'scratch' });
  buffers.push({ id: `${name}.dummy_out`, bytes: 16, role: 'scratch' });
  for (const [id, bytes] of scratchSizes) buffers.push({ id, bytes, role: 'scratch' });

  const pipelines = new Map<string, PipelineSpec>();
  for (const s of steps) pipelines.set(pipelineKey(s.pipeline), s.pipeline);

  const io = (tensor: number): IoSlot => {
    const t = g.get(tensor);
    const s = ctx.slice(tensor);
    return { ...s, dtype: t.dtype, length: t.shape.reduce((a, b) => a * b, 1) };
  };
  const inputs: Record<string, IoSlot> = {};
  for (const [inputName, id] of Object.entries(model.inputs)) inputs[inputName] = io(id);
  const metrics: Record<string, IoSlot> = {};
  if (!options.inference) for (const [metricName, id] of Object.entries(model.metrics)) if (id !== undefined) metrics[metricName] = io(id);
  const outputs: Record<string, IoSlot> = {};
  for (const [outputName, id] of Object.entries(model.outputs)) outputs[outputName] = io(id);

  const gradFor = new Map<number, number>();
  for (const t of g.tensors) if (t.role === 'grad' && t.gradOf !== undefined) gradFor.set(t.gradOf, t.id);
  const params: PlanParam[] = g.params().map((t) => {
    const s = ctx.slice(t.id);
    const p: PlanParam = { name: t.name, shape: t.shape, ...s, init: t.init ?? { kind: 'zeros' }, decay: appliesWeightDecay(t.name, recipe) };
    const grad = gradFor.get(t.id);
    if (grad !== undefined) {
      p.grad = ctx.slice(grad);
      p.state = Object.fromEntries(slots.map((slot) => [slot, { ...s, buffer: s.buffer.replace(/^params/, slot) }]));
    }
    return p;
  });

  const sum = (st: PlanStep['stage'], f: (s: PlanStep) => number) => steps.filter((s) => s.stage === st).reduce((a, s) => a + f(s), 0);
  const plan: KernelPlan = {
    format: 'bert-webgpu.plan/1',
    name,
    training: options.training,
    shape,
    buffers,
    pipelines: [...pipelines.values()],
    steps,
    inputs,
    metrics,
    outputs,
    params,
    ...(options.training ? { norm: { ...normStateSlice(ctx), dtype: 'f32' as const, length: 4 } } : {}),
    summary: {
      steps: steps.length,
      flops: { microbatch: sum('microbatch', (s) => s.flops), optimizer: sum('optimizer', (s) => s.flops) },
      bytes: memory.bytes,
      params: g.params().reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0),
      dispatches: { microbatch: steps.filter((s) => s.stage === 'microbatch').length, optimizer: steps.filter((s) => s.stage === 'optimizer').length },
      pipelines: pipelines.size,
    },
  };
  return { plan, model, memory, slice: ctx.slice, tuneSites: [...tuneSites.values()] };
}
