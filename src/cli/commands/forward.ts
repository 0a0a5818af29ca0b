// `bert-run forward <run-dir> --input batch.json --output out.json`: the raw model outputs for a
// batch, so another implementation (transformers, a port) can be compared against ours.
// batch.json: {"input_ids": [[...], ...], "token_type_ids": [[...]], "attention_mask": [[...]]}
// (token_type_ids default to 0, attention_mask to 1). out.json: {"shape": {...},
// "mlm_logits": [B][T][V], "nsp_logits": [B][2], "pooled": [B][H], "hidden": [B][T][H]} with
// NSP/pooled present when the model has them. Values are float32 written with 9 significant
// digits (they read back exactly).
import { kernelVariantsFromEnv } from '../env.js';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { UserError } from '../../errors.js';
import { InferenceModel, checkOutputPath, f32List, parseBatchJson } from '../../train/inference.js';
import { writeFileAtomic } from '../../train/checkpoint/safetensors.js';

export const forwardCommand: Command = {
  name: 'forward',
  summary: 'raw model outputs (MLM logits, NSP logits, pooled, hidden) for a batch of token ids',
  usage: `usage: bert-run forward <run-dir> --input batch.json --output out.json [--no-hidden]

  --input FILE    {"input_ids": [[...]], "token_type_ids": [[...]], "attention_mask": [[...]]}:
                  lists of equal-length lists; token_type_ids default to 0, attention_mask to 1
  --output FILE   written atomically: {"shape", "mlm_logits" [B][T][V], "nsp_logits" [B][2],
                  "pooled" [B][H], "hidden" [B][T][H]} (nsp_logits/pooled when the model has them)
  --no-hidden     leave the last hidden states out`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, { input: 'string', output: 'string', 'no-hidden': 'boolean' }, 'forward');
    if (positionals.length !== 1) throw new UserError('forward: expected exactly one run directory (see bert-run forward --help)', 'bad_args', 2);
    if (flags.input === undefined || flags.output === undefined) throw new UserError('forward: --input batch.json and --output out.json are required', 'bad_args', 2);
    const input = flags.input as string;
    const output = flags.output as string;
    checkOutputPath(output);
    const model = await InferenceModel.open(positionals[0]!, { log: (m) => process.stderr.write(`bert-run: ${m}\n`), variants: kernelVariantsFromEnv() });
    try {
      const batch = parseBatchJson(input, model);
      const r = await model.forward(batch);
      const { batch: B, seq: T, vocab: V, hidden: H } = r;
      const rows = (data: Float32Array, n: number, width: number) => Array.from({ length: n }, (_, i) => f32List(data.subarray(i * width, (i + 1) * width)));
      const perSequence = (data: Float32Array, width: number) => Array.from({ length: B }, (_, b) => rows(data.subarray(b * T * width, (b + 1) * T * width), T, width));
      const chunks: string[] = [];
      chunks.push(`{"shape":${JSON.stringify({ batch: B, seq: T, vocab: V, hidden: H })}`);
      chunks.push(`,\n"mlm_logits":[`);
      perSequence(r.mlm_logits, V).forEach((s, b) => chunks.push((b ? ',\n' : '\n') + JSON.stringify(s)));
      chunks.push(']');
      if (r.nsp_logits) chunks.push(`,\n"nsp_logits":${JSON.stringify(rows(r.nsp_logits, B, 2))}`);
      if (r.pooled) chunks.push(`,\n"pooled":${JSON.stringify(rows(r.pooled, B, H))}`);
      if (!flags['no-hidden']) {
        chunks.push(`,\n"hidden":[`);
        perSequence(r.hidden_states, H).forEach((s, b) => chunks.push((b ? ',\n' : '\n') + JSON.stringify(s)));
        chunks.push(']');
      }
      chunks.push('}\n');
      try {
        writeFileAtomic(output, chunks);
      } catch (e) {
        throw new UserError(`${output}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'bad_output', 1);
      }
      return 0;
    } finally {
      model.close();
    }
  },
};
