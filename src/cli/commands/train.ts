// `bert-run train <recipe>` (also `bert-run <recipe>`): pretrain or fine-tune as the recipe says.
import type { Command } from '../command.js';
import { intFlag, parseArgs } from '../args.js';
import { UserError } from '../../errors.js';
import { train } from '../../train/runner.js';
import { kernelVariantsFromEnv } from '../env.js';

export const trainCommand: Command = {
  name: 'train',
  summary: 'train from a recipe, pretraining or fine-tuning (the default: `bert-run <recipe.yaml>`)',
  usage: `usage: bert-run [train] <recipe.yaml> [--set key=value]... [--steps N] [--out DIR] [--resume] [--stop-after N] [--json] [--print-recipe] [--profile]

  --set k=v       override a recipe value (typed by the schema), e.g. --set schedule.batch_size=64
  --steps N       total optimizer steps (the schedule is planned for these)
  --out DIR       run directory (default runtime.out, runs/<name>)
  --resume        continue from the newest checkpoint in the run directory
  --stop-after N  end this invocation after N more steps with a checkpoint (the schedule keeps its total)
  --json          machine-readable progress lines on stdout
  --print-recipe  print the resolved recipe first
  --profile       time every dispatch of the first step (GPU timestamps) and print where time goes

BERT_VALIDATE=1 checks every op of the first micro-batch against the float64 CPU reference and
stops at the first one that diverges.`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, { set: 'list', steps: 'string', out: 'string', resume: 'boolean', 'stop-after': 'string', json: 'boolean', 'print-recipe': 'boolean', profile: 'boolean' }, 'train');
    if (positionals.length !== 1) throw new UserError('train: expected exactly one recipe file (see bert-run train --help)', 'bad_args', 2);
    const result = await train({
      recipe: positionals[0]!,
      sets: flags.set as string[] | undefined,
      steps: intFlag(flags.steps, 'steps', 'train'),
      out: flags.out as string | undefined,
      resume: Boolean(flags.resume),
      stopAfter: intFlag(flags['stop-after'], 'stop-after', 'train'),
      json: Boolean(flags.json),
      printRecipe: Boolean(flags['print-recipe']),
      profile: Boolean(flags.profile),
      variants: kernelVariantsFromEnv(),
      validate: process.env.BERT_VALIDATE === '1',
    });
    return result.interrupted ? 130 : 0;
  },
};
