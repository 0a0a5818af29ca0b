// `bert-run fill-mask <run-dir> "the [MASK] of the union"`: the top-k tokens for every [MASK]
// with their probabilities (softmax over the model's vocabulary rows).
import { kernelVariantsFromEnv } from '../env.js';
import type { Command } from '../command.js';
import { intFlag, parseArgs } from '../args.js';
import { UserError } from '../../errors.js';
import { InferenceModel, fillMask } from '../../train/inference.js';

export const fillMaskCommand: Command = {
  name: 'fill-mask',
  summary: 'predict the tokens at [MASK] in a text with a trained model',
  usage: `usage: bert-run fill-mask <run-dir> "text with [MASK]" ["second segment"] [--top-k N] [--json]

  <run-dir>   a run directory, a checkpoint directory (checkpoints/step-N) or any directory with
              model.safetensors, recipe.yaml and tokenizer.json (or vocab.txt)
  --top-k N   candidates per [MASK] (default 5)
  --json      print {"tokens": [...], "masks": [{"position", "candidates": [{"token", "id", "prob"}]}]}`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, { 'top-k': 'string', json: 'boolean' }, 'fill-mask');
    if (positionals.length < 2 || positionals.length > 3) throw new UserError('fill-mask: expected <run-dir> "text with [MASK]" ["second segment"] (see bert-run fill-mask --help)', 'bad_args', 2);
    const [dir, text, second] = positionals as [string, string, string | undefined];
    if (!text.includes('[MASK]')) throw new UserError('fill-mask: the text has no [MASK] token', 'no_mask', 2);
    const topK = intFlag(flags['top-k'], 'top-k', 'fill-mask') ?? 5;
    const model = await InferenceModel.open(dir, { log: (m) => process.stderr.write(`bert-run: ${m}\n`), variants: kernelVariantsFromEnv() });
    try {
      const r = await fillMask(model, text, topK, second);
      if (flags.json) {
        console.log(JSON.stringify({ tokens: r.tokens, masks: r.masks.map((m) => ({ position: m.position, candidates: m.candidates.map((c) => ({ ...c, prob: Number(c.prob.toPrecision(6)) })) })) }));
        return 0;
      }
      for (const m of r.masks) {
        const context = r.tokens.map((t, i) => (i === m.position ? '[MASK]' : t)).slice(1, -1).join(' ');
        console.log(`${r.masks.length > 1 ? `[MASK] at token ${m.position}: ` : ''}${context}`);
        for (const c of m.candidates) console.log(`  ${c.prob.toFixed(4)}  ${c.token}`);
      }
      return 0;
    } finally {
      model.close();
    }
  },
};
