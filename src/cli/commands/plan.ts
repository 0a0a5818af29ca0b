// `bert-run plan <recipe>`: compile the recipe and show the kernel plan — dispatches per phase,
// FLOPs per step, memory by role with and without liveness reuse — or the whole plan as JSON.
import type { Command } from '../command.js';
import { intFlag, parseArgs } from '../args.js';
import { UserError } from '../../errors.js';
import { loadRecipe, tokenizerFileVocabSize, type Recipe } from '../../recipe/index.js';
import { recipeClasses } from '../../train/tasks/classification-task.js';
import { compile, forcedVariants } from '../../compiler/compile.js';
import { kernelVariantsFromEnv } from '../env.js';
import { REFERENCE_LIMITS, type DeviceLimits, type KernelPlan } from '../../plan/types.js';
import { modelVocab, phasesOf } from '../../train/phases.js';
import { openGpu } from '../../runtime/device.js';

/** The tokenizer's size as far as it is known before any data is read. */
export function plannedVocab(recipe: Recipe): { vocab: number; note?: string } {
  const tok = recipe.data.tokenizer;
  let size: number | undefined;
  if (tok.vocab) size = tokenizerFileVocabSize(tok.vocab, 'vocab');
  else if (tok.tokenizer_json) size = tokenizerFileVocabSize(tok.tokenizer_json, 'tokenizer_json');
  const target = tok.wordpiece?.train.vocab_size;
  const note = size === undefined && typeof recipe.model.vocab_size !== 'number' ? `vocabulary taken as the training target ${target} (a trained one can come out smaller)` : undefined;
  return { vocab: modelVocab(recipe, size ?? target ?? 30522), note };
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

function summarize(plan: KernelPlan, microBatches: number, steps: number, other?: { precision: string; activations: number }): string {
  const s = plan.summary;
  const flopsPerStep = s.flops.microbatch * microBatches + s.flops.optimizer;
  const b = s.bytes;
  return [
    `  shape: micro-batch ${plan.shape.batch} x seq ${plan.shape.seq}, ${plan.shape.predictions} predictions per sequence; ${microBatches} micro-batch(es) per step; ${steps} steps`,
    `  dispatches: ${s.dispatches.microbatch} per micro-batch, ${s.dispatches.optimizer} per update; ${s.pipelines} pipelines`,
    `  FLOPs: ${(s.flops.microbatch / 1e9).toFixed(2)} G per micro-batch, ${(flopsPerStep / 1e12).toFixed(3)} T per step`,
    `  memory: params ${mib(b.params)}${b.param_copies ? ` (+ f16 copies ${mib(b.param_copies)})` : ''}, grads ${mib(b.grads)}, optimizer ${mib(b.optimizer)}, inputs ${mib(b.inputs)}`,
    `  activations: ${mib(b.activations_peak)} planned vs ${mib(b.activations_unplanned)} without reuse (${b.activations_unplanned > 0 ? (100 * (1 - b.activations_peak / b.activations_unplanned)).toFixed(1) : '0'}% saved)` +
      (other ? `; ${mib(other.activations)} with runtime.precision ${other.precision}` : ''),
  ].join('\n');
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'compile a recipe and show its kernel plan (--json for the whole plan)',
  usage: `usage: bert-run plan <recipe.yaml> [--json] [--device] [--micro-batch N] [--set key=value]...

  --json           print the whole plan (steps, buffers, pipelines, summary) as JSON (first phase)
  --device         plan for this machine's adapter limits instead of WebGPU's minimum + subgroups
  --micro-batch N  override schedule.micro_batch_size for planning`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, { json: 'boolean', device: 'boolean', 'micro-batch': 'string', set: 'list' }, 'plan');
    if (positionals.length !== 1) throw new UserError('plan: expected exactly one recipe file', 'bad_args', 2);
    const { recipe, file } = await loadRecipe(positionals[0]!, { sets: flags.set as string[] | undefined });
    const classes = recipeClasses(recipe, file);
    const micro = intFlag(flags['micro-batch'], 'micro-batch', 'plan');
    let limits: DeviceLimits = REFERENCE_LIMITS;
    if (flags.device) {
      const gpu = await openGpu({ backend: recipe.runtime.backend, adapter: recipe.runtime.adapter });
      limits = gpu.limits;
      gpu.destroy();
    }
    const { vocab, note } = plannedVocab(recipe);
    const phases = phasesOf(recipe);
    const variants = forcedVariants(recipe, kernelVariantsFromEnv());
    const otherPrecision = recipe.runtime.precision === 'f16' ? 'f32' : 'f16';
    const plans = phases.map((p) => {
      const mb = micro ?? p.microBatch;
      const shape = { batch: mb, seq: p.seq, predictions: p.predictions };
      const other = compile({ ...recipe, runtime: { ...recipe.runtime, precision: otherPrecision } }, vocab, shape, limits, { training: true, variants, classes }).plan.summary.bytes.activations_peak;
      return { phase: p, mb, plan: compile(recipe, vocab, shape, limits, { training: true, variants, classes }).plan, other };
    });
    if (flags.json) {
      console.log(JSON.stringify(plans[0]!.plan));
      return 0;
    }
    console.log(`plan for ${recipe.name} (vocab ${vocab}; precision ${recipe.runtime.precision}; limits: ${limits.adapter?.description ?? 'device'})`);
    if (note) console.log(`note: ${note}`);
    for (const { phase, mb, plan, other } of plans) {
      console.log(`phase steps ${phase.from + 1}..${phase.until}:`);
      console.log(summarize(plan, Math.ceil(phase.batch / mb), phase.until - phase.from, { precision: otherPrecision, activations: other }));
    }
    return 0;
  },
};
