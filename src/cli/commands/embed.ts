// `bert-run embed <run-dir> --input texts.txt [--output vectors.jsonl]`: one JSON line per
// non-blank input line: {"line", "tokens", "mean", "pooled"} where mean averages the last hidden
// states over the real tokens ([CLS] and [SEP] included) and pooled is the pooler output (when
// the model has a pooler).
import { kernelVariantsFromEnv } from '../env.js';
import type { Command } from '../command.js';
import { intFlag, parseArgs } from '../args.js';
import { UserError } from '../../errors.js';
import { InferenceModel, MAX_BATCH, checkOutputPath, embedTexts, f32List, readTextLines } from '../../train/inference.js';
import { writeFileAtomic } from '../../train/checkpoint/safetensors.js';

export const embedCommand: Command = {
  name: 'embed',
  summary: 'sentence vectors (mean of the last hidden states, pooled output) for lines of text',
  usage: `usage: bert-run embed <run-dir> --input texts.txt [--output vectors.jsonl] [--batch N]

  --input FILE    one text per line (blank lines are skipped; "line" in the output counts them)
  --output FILE   write the JSON lines here (atomically) instead of stdout
  --batch N       texts per forward pass (default ${MAX_BATCH})
  Each output line: {"line": n, "tokens": k, "mean": [...], "pooled": [...]}; pooled only when the
  model has a pooler; mean averages the last hidden states over every real token.`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, { input: 'string', output: 'string', batch: 'string' }, 'embed');
    if (positionals.length !== 1) throw new UserError('embed: expected exactly one run directory (see bert-run embed --help)', 'bad_args', 2);
    if (flags.input === undefined) throw new UserError('embed: --input texts.txt is required', 'bad_args', 2);
    const input = flags.input as string;
    const output = flags.output as string | undefined;
    const batch = intFlag(flags.batch, 'batch', 'embed') ?? MAX_BATCH;
    if (output !== undefined) checkOutputPath(output);
    const lines = readTextLines(input);
    const model = await InferenceModel.open(positionals[0]!, { log: (m) => process.stderr.write(`bert-run: ${m}\n`), variants: kernelVariantsFromEnv() });
    try {
      const chunks: string[] = [];
      await embedTexts(
        model,
        lines,
        input,
        (es) => {
          const text = es.map((e) => JSON.stringify({ line: e.line, tokens: e.tokens, mean: f32List(e.mean), ...(e.pooled ? { pooled: f32List(e.pooled) } : {}) }) + '\n').join('');
          if (output === undefined) process.stdout.write(text);
          else chunks.push(text);
        },
        batch,
      );
      if (output !== undefined) writeOutput(output, chunks);
      return 0;
    } finally {
      model.close();
    }
  },
};

function writeOutput(path: string, chunks: string[]): void {
  try {
    writeFileAtomic(path, chunks);
  } catch (e) {
    throw new UserError(`${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'bad_output', 1);
  }
}
