// `bert-run check <recipe>`: validate a recipe (every error at once, exit 2) and print its layer
// table, parameter counts per group, training FLOPs per token and a memory estimate; --json for
// the same as data, --print-recipe for the resolved recipe. Touches no GPU and reads no corpus; it
// loads a tokenizer file and the header of a model.init checkpoint, refusing what training would.
import type { Command } from '../command.js';
import { intFlag, parseArgs } from '../args.js';
import { UserError } from '../../errors.js';
import { loadRecipe, vocabRows, type Recipe } from '../../recipe/index.js';
import { modelStats, type ModelStats } from '../../graph/stats.js';
import { checkInitCheckpoint, recipeTokenizer } from '../../train/preflight.js';
import { compile, forcedVariants } from '../../compiler/compile.js';
import { kernelVariantsFromEnv } from '../env.js';
import { REFERENCE_LIMITS, type PlanSummary } from '../../plan/types.js';
import { phasesOf } from '../../train/phases.js';
import { recipeClasses } from '../../train/tasks/classification-task.js';

/**
 * The compiled plan's memory for the first phase (liveness-planned), in the recipe's precision and
 * in the other one (f32 vs f16 mixed precision), or why it cannot be planned.
 */
function plannedMemory(recipe: Recipe, vocab: number, classes: number | undefined): { bytes?: PlanSummary['bytes']; other?: { precision: 'f32' | 'f16'; bytes: PlanSummary['bytes'] }; problem?: string } {
  const phase = phasesOf(recipe)[0]!;
  const planFor = (r: Recipe) =>
    compile(r, vocab, { batch: phase.microBatch, seq: phase.seq, predictions: phase.predictions }, REFERENCE_LIMITS, { training: true, variants: forcedVariants(r, kernelVariantsFromEnv()), classes }).plan.summary.bytes;
  try {
    const precision = recipe.runtime.precision === 'f16' ? 'f32' : 'f16';
    return { bytes: planFor(recipe), other: { precision, bytes: planFor({ ...recipe, runtime: { ...recipe.runtime, precision } }) } };
  } catch (e) {
    if (e instanceof UserError) return { problem: e.message };
    throw e;
  }
}

const usage = `usage: bert-run check <recipe.yaml> [flags]

Validates the recipe and prints the layer table, parameters per group, training FLOPs per token
and a device-memory estimate for one micro-batch.

flags:
  --set path.to.key=value   override a recipe value (repeatable; typed by the schema)
  --steps N                 same as --set schedule.steps=N
  --out DIR                 same as --set runtime.out=DIR
  --print-recipe            print the resolved recipe (YAML) instead of the report
  --json                    print the report as JSON`;

const n = (x: number): string => x.toLocaleString('en-US');
function bytes(x: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
function flops(x: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : 2)} ${units[i]}FLOP`;
}

function table(rows: string[][], right: Set<number>): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

export function formatReport(recipe: Recipe, file: string, stats: ModelStats, planned?: ReturnType<typeof plannedMemory>): string {
  const layerRows = [['layer', 'x', 'params', 'total', 'detail'], ...stats.layers.map((l) => [l.name, String(l.count), n(l.params), n(l.params * l.count), l.detail])];
  const groupRows = [['group', 'params', 'share'], ...stats.groups.map((g) => [g.group, n(g.params), `${((100 * g.params) / stats.totalParams).toFixed(1)}%`]), ['total', n(stats.totalParams), '100.0%']];
  const m = stats.memory;
  return [
    `${file}: ok (${recipe.name}: ${stats.blocks} blocks, hidden ${stats.hidden}, vocab ${n(stats.vocabSize)}, tasks ${recipe.tasks.classify ? (recipe.tasks.classify.regression ? 'classify (fine-tuning, regression)' : 'classify (fine-tuning)') : Object.keys(recipe.tasks).join('+')})`,
    '',
    table(layerRows, new Set([1, 2, 3])),
    '',
    table(groupRows, new Set([1, 2])),
    '',
    `training FLOPs per token: ${flops(stats.flops.trainingPerToken)} (forward ${flops(stats.flops.forwardPerToken)}, seq_len ${stats.flops.seqLen}); per step: ${flops(stats.flops.trainingPerStep)}`,
    `memory estimate, micro-batch ${m.microBatch} x ${m.seqLen}: ${bytes(m.total)} = params ${bytes(m.params)} + grads ${bytes(m.grads)} + optimizer ${bytes(m.optimizer)} + activations ${bytes(m.activations)}`,
    ...(planned?.bytes
      ? [
          `compiled plan (WebGPU default limits, ${recipe.runtime.precision}): activations ${bytes(planned.bytes.activations_peak)} with liveness reuse (${bytes(planned.bytes.activations_unplanned)} without)` +
            (planned.other ? `; with runtime.precision ${planned.other.precision}: ${bytes(planned.other.bytes.activations_peak)}` : '') +
            '; see bert-run plan',
        ]
      : planned?.problem
        ? [`warning: cannot plan the first phase under WebGPU's default limits: ${planned.problem} (bert-run plan --device checks this machine)`]
        : []),
  ].join('\n');
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'validate a recipe; print layers, parameters, FLOPs and memory',
  usage,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, { set: 'list', steps: 'string', out: 'string', 'print-recipe': 'boolean', json: 'boolean' }, 'check');
    if (positionals.length !== 1) throw new UserError(`check: expected one recipe file (got ${positionals.length}); see bert-run check --help`, 'bad_flag', 2);
    const loaded = await loadRecipe(positionals[0]!, {
      sets: (flags.set as string[] | undefined) ?? [],
      steps: intFlag(flags.steps, 'steps', 'check'),
      out: flags.out as string | undefined,
    });
    if (flags['print-recipe']) {
      process.stdout.write(loaded.text);
      return 0;
    }
    for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
    // What training would refuse beyond the recipe itself: the tokenizer file, model.init.
    const tokenizer = recipeTokenizer(loaded.recipe);
    const classes = recipeClasses(loaded.recipe, loaded.file);
    const stats = modelStats(loaded.recipe, { vocabSize: vocabRows(loaded.recipe, tokenizer?.size), classes });
    const planned = plannedMemory(loaded.recipe, stats.vocabSize, classes);
    if (loaded.recipe.model.init) {
      const phase = phasesOf(loaded.recipe)[0]!;
      const { plan } = compile(loaded.recipe, stats.vocabSize, { batch: phase.microBatch, seq: phase.seq, predictions: phase.predictions }, REFERENCE_LIMITS, { training: true, classes });
      checkInitCheckpoint(loaded.recipe, plan.params, stats.vocabSize, tokenizer);
    }
    if (flags.json) console.log(JSON.stringify({ file: positionals[0], name: loaded.recipe.name, ...stats, plan: planned }, null, 2));
    else console.log(formatReport(loaded.recipe, positionals[0]!, stats, planned));
    return 0;
  },
};
