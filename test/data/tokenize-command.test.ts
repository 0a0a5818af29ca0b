// `bert-run tokenize` with a run directory and a vocab.txt: printed tokens/ids, --json, errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BertTokenizer } from '../../src/data/index.js';
import { tokenizeCommand } from '../../src/cli/commands/tokenize.js';
import { UserError } from '../../src/errors.js';

const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'want', '##want', '##ed', 'wa', 'un', 'runn', '##ing', ','];

async function capture(argv: string[]): Promise<string> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...xs: unknown[]) => void lines.push(xs.join(' '));
  try {
    assert.is(await tokenizeCommand.run(argv), 0);
  } finally {
    console.log = orig;
  }
  return lines.join('\n');
}

test('tokenize: run dir and vocab.txt, plain and --json, pairs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bert-cli-'));
  new BertTokenizer(vocab).saveTokenizerJson(join(dir, 'tokenizer.json'));
  assert.is(await capture([dir, 'Unwanted, running']), 'tokens: un ##want ##ed , runn ##ing\nids:    9 6 7 12 10 11');
  const vdir = mkdtempSync(join(tmpdir(), 'bert-cli-'));
  new BertTokenizer(vocab).saveVocab(join(vdir, 'vocab.txt'));
  assert.equal(JSON.parse(await capture([join(vdir, 'vocab.txt'), 'unwanted', 'running', '--json'])), {
    tokens: ['[CLS]', 'un', '##want', '##ed', '[SEP]', 'runn', '##ing', '[SEP]'],
    ids: [2, 9, 6, 7, 3, 10, 11, 3],
    type_ids: [0, 0, 0, 0, 0, 1, 1, 1],
  });
  // --cased keeps case, so "Unwanted" is unknown to this lowercase vocabulary
  assert.is(await capture([vdir, 'Unwanted', '--cased']), 'tokens: [UNK]\nids:    1');
  try {
    await tokenizeCommand.run([join(dir, 'nope'), 'x']);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, /nope: no such file or directory/);
  }
});

test.run();
