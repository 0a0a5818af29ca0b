// `bert-run tokenize <vocab-or-run-dir> "text"`: prints the WordPiece tokens and ids of a text with a
// vocab.txt, a tokenizer.json, or a run directory holding either (tokenizer.json preferred).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { intFlag, parseArgs } from '../args.js';
import { UserError } from '../../errors.js';
import { BertTokenizer, type TokenizerOptions } from '../../data/tokenizer.js';

export function loadTokenizer(path: string, opts: TokenizerOptions = {}): BertTokenizer {
  if (!existsSync(path)) throw new UserError(`${path}: no such file or directory`, 'bad_file');
  if (statSync(path).isDirectory()) {
    const json = join(path, 'tokenizer.json');
    const vocab = join(path, 'vocab.txt');
    if (existsSync(json)) return BertTokenizer.fromTokenizerJson(json, opts);
    if (existsSync(vocab)) return BertTokenizer.fromVocabFile(vocab, opts);
    throw new UserError(`${path}: no tokenizer.json or vocab.txt in this directory`, 'bad_file');
  }
  return path.endsWith('.json') ? BertTokenizer.fromTokenizerJson(path, opts) : BertTokenizer.fromVocabFile(path, opts);
}

export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: 'print the WordPiece tokens and ids of a text',
  usage: [
    'usage: bert-run tokenize <vocab.txt | tokenizer.json | run-dir> "text" ["second segment"] [--json]',
    '       [--cased] [--max-chars-per-word N]',
    '  --cased               do not lowercase (vocab.txt only; tokenizer.json says it itself)',
    '  --json                print {"tokens": [...], "ids": [...], "type_ids": [...]}',
    '  with a second segment, prints [CLS] a [SEP] b [SEP] as the post-processor does',
  ].join('\n'),
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, { json: 'boolean', cased: 'boolean', 'max-chars-per-word': 'string' }, 'tokenize');
    if (positionals.length < 2 || positionals.length > 3) throw new UserError('tokenize: expected <vocab-or-run-dir> "text" ["second segment"]', 'bad_args', 2);
    const [path, a, b] = positionals as [string, string, string | undefined];
    const opts: TokenizerOptions = {};
    if (flags.cased) opts.lowercase = false;
    const max = intFlag(flags['max-chars-per-word'], 'max-chars-per-word', 'tokenize');
    if (max !== undefined) opts.maxCharsPerWord = max;
    const tok = loadTokenizer(path, opts);
    let ids: number[];
    let typeIds: number[] | undefined;
    if (b !== undefined) ({ ids, typeIds } = tok.encodeWithSpecials(a, b));
    else ids = tok.encode(a);
    const tokens = ids.map((i) => tok.vocab[i]!);
    if (flags.json) console.log(JSON.stringify(typeIds ? { tokens, ids, type_ids: typeIds } : { tokens, ids }));
    else {
      console.log(`tokens: ${tokens.join(' ')}`);
      console.log(`ids:    ${ids.join(' ')}`);
      if (typeIds) console.log(`types:  ${typeIds.join(' ')}`);
    }
    return 0;
  },
};
