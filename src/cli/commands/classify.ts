// `bert-run classify <run-dir> "text" ["pair"]`: a fine-tuned classifier's label and the
// probability of every label (a regression model's score); `--input examples.jsonl` labels many
// ({"text", "text_pair"?} per line), one JSON line each.
import { kernelVariantsFromEnv } from '../env.js';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { UserError } from '../../errors.js';
import { readRegularFile } from '../../read-file.js';
import { InferenceModel } from '../../train/inference.js';

interface Item {
  text: string;
  pair?: string;
  line?: number;
}

/** {"text": ..., "text_pair": ...} per non-blank line; errors name file:line. */
function readJsonl(path: string): Item[] {
  const text = readRegularFile(path, 2 ** 31 - 1, 'bad_input').toString('utf8');
  const out: Item[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    const where = `${path}:${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(raw);
    } catch (e) {
      throw new UserError(`${where}: invalid JSON (${(e as Error).message})`, 'bad_input', 2);
    }
    const r = row as { text?: unknown; text_pair?: unknown };
    if (row === null || typeof row !== 'object' || typeof r.text !== 'string') throw new UserError(`${where}: expected {"text": "...", "text_pair"?: "..."}`, 'bad_input', 2);
    if (r.text_pair !== undefined && typeof r.text_pair !== 'string') throw new UserError(`${where}: text_pair must be a string`, 'bad_input', 2);
    out.push({ text: r.text, ...(r.text_pair !== undefined ? { pair: r.text_pair as string } : {}), line: i + 1 });
  });
  if (out.length === 0) throw new UserError(`${path}: no examples (expected one {"text": ...} per line)`, 'bad_input', 2);
  return out;
}

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'label texts (or text pairs) with a fine-tuned classifier (or score them with a regression model)',
  usage: `usage: bert-run classify <run-dir> "text" ["pair"] [--json]
       bert-run classify <run-dir> --input examples.jsonl

  <run-dir>   a fine-tuning run directory (its best model: <run-dir>/best), a checkpoint directory,
              or any directory with model.safetensors, config.json (id2label), recipe.yaml and a tokenizer
  --input F   one {"text": ..., "text_pair"?: ...} per line; prints {"line", "label", "probabilities"} per line
              ({"line", "score"} for a regression model)
  --json      print {"label", "probabilities": {label: p}} ({"score"}) for the one text`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, { input: 'string', json: 'boolean' }, 'classify');
    const input = flags.input as string | undefined;
    if (input !== undefined ? positionals.length !== 1 : positionals.length < 2 || positionals.length > 3) {
      throw new UserError('classify: expected <run-dir> "text" ["pair"], or <run-dir> --input examples.jsonl (see bert-run classify --help)', 'bad_args', 2);
    }
    const items: Item[] = input !== undefined ? readJsonl(input) : [{ text: positionals[1]!, ...(positionals[2] !== undefined ? { pair: positionals[2] } : {}) }];
    const model = await InferenceModel.open(positionals[0]!, { log: (m) => process.stderr.write(`bert-run: ${m}\n`), variants: kernelVariantsFromEnv() });
    try {
      if (model.regression) {
        const scores = await model.score(items);
        if (input !== undefined || flags.json) scores.forEach((score, i) => console.log(JSON.stringify({ ...(input !== undefined ? { line: items[i]!.line } : {}), score: Number(score.toPrecision(6)) })));
        else console.log(scores[0]!.toFixed(4));
        return 0;
      }
      const results = await model.classify(items);
      const labels = model.labels!;
      const probs = (p: Float64Array) => Object.fromEntries(labels.map((l, i) => [l, Number(p[i]!.toPrecision(6))]));
      if (input !== undefined || flags.json) {
        results.forEach((r, i) => console.log(JSON.stringify({ ...(input !== undefined ? { line: items[i]!.line } : {}), label: r.label, probabilities: probs(r.probabilities) })));
        return 0;
      }
      const r = results[0]!;
      console.log(r.label);
      for (const [i, l] of labels.entries()) console.log(`  ${r.probabilities[i]!.toFixed(4)}  ${l}`);
      return 0;
    } finally {
      model.close();
    }
  },
};
