// Checks of a recipe's inputs that need more than the schema and the cross-field checks: a given
// tokenizer file that loads as a BERT vocabulary, and a `model.init` checkpoint that fits the
// recipe's model (every tensor's exact shape, the architecture its config.json states, and the
// vocabulary its token ids mean). Shared by `bert-run check` and training, so that check refuses
// what training would, and training refuses before it creates a run directory.
// Not here: reading the corpus (src/data) or loading tensor values (the runner does, through the
// same shape checks in hf-checkpoint.ts).
import { existsSync, statSync } from 'node:fs';
import { readRegularFile } from '../read-file.js';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { BertTokenizer } from '../data/index.js';
import type { Recipe } from '../recipe/index.js';
import { bertConfig, fromHuggingFace } from './checkpoint/hf-names.js';
import { readSafetensorsHeader } from './checkpoint/safetensors.js';

/** The tokenizer a recipe names by file (vocab.txt or tokenizer.json), loaded; undefined when it trains one. */
export function recipeTokenizer(recipe: Recipe): BertTokenizer | undefined {
  const tok = recipe.data.tokenizer;
  const opts = { lowercase: tok.lowercase, maxCharsPerWord: tok.max_chars_per_word };
  if (tok.vocab) return BertTokenizer.fromVocabFile(tok.vocab, opts);
  if (tok.tokenizer_json) return BertTokenizer.fromTokenizerJson(tok.tokenizer_json, opts);
  return undefined;
}

/** The weights file `model.init` names: the path itself, or model.safetensors inside a run directory. */
export function initWeightsFile(init: string): string {
  return existsSync(init) && statSync(init).isDirectory() ? join(init, 'model.safetensors') : init;
}

function initError(file: string, message: string, hint?: string): UserError {
  return new UserError(`model.init ${file}: ${message}`, 'checkpoint_mismatch', 1, hint);
}

/**
 * Refuses a `model.init` checkpoint that does not fit: a tensor of another shape (named, with both
 * shapes), encoder parameters it lacks, a config.json beside it that states another architecture
 * with the same shapes (heads, activation), or a vocab.txt beside it whose tokens differ from the
 * run's tokenizer (the same ids would mean other words). Reads only the safetensors header.
 */
export function checkInitCheckpoint(recipe: Recipe, planParams: Array<{ name: string; shape: number[] }>, vocab: number, tokenizer: BertTokenizer | undefined): void {
  if (!recipe.model.init) return;
  const file = initWeightsFile(recipe.model.init);
  const header = readSafetensorsHeader(file);
  const shapes = new Map(header.entries.map((e) => [e.name, { name: e.name, shape: e.shape, data: new Float32Array(0) }]));
  let missing: string[];
  try {
    ({ missing } = fromHuggingFace(shapes, planParams));
  } catch (e) {
    if (e instanceof UserError) throw initError(file, e.message);
    throw e;
  }
  const essential = missing.filter((n) => !/^cls\.|^classifier\.|pooler/.test(n));
  if (essential.length > 0) throw initError(file, `lacks ${essential.length} encoder parameters of this recipe (first: ${essential[0]})`);

  const dir = dirname(file);
  const configPath = join(dir, 'config.json');
  if (existsSync(configPath)) {
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(readRegularFile(configPath, 1 << 20).toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new UserError(`${configPath}: not valid JSON (${(e as Error).message})`, 'checkpoint_corrupt', 1);
    }
    const ours = bertConfig(recipe, vocab);
    for (const key of ['num_attention_heads', 'hidden_act', 'num_hidden_layers', 'hidden_size', 'intermediate_size']) {
      if (config[key] !== undefined && config[key] !== ours[key]) {
        throw initError(file, `${configPath} says ${key} ${JSON.stringify(config[key])}, the recipe's model has ${JSON.stringify(ours[key])}`);
      }
    }
  }

  const vocabPath = join(dir, 'vocab.txt');
  if (tokenizer && existsSync(vocabPath)) {
    const theirs = BertTokenizer.fromVocabFile(vocabPath).vocab;
    const ours = tokenizer.vocab;
    const n = Math.min(theirs.length, ours.length);
    let first = 0;
    while (first < n && theirs[first] === ours[first]) first++;
    if (first < n || theirs.length !== ours.length) {
      const where = first < n ? `; first difference at id ${first}: ${JSON.stringify(theirs[first])} vs ${JSON.stringify(ours[first])}` : '';
      throw initError(file, `its vocabulary (${vocabPath}, ${theirs.length} tokens) differs from this run's tokenizer (${ours.length} tokens${where})`, `set data.tokenizer.vocab to ${vocabPath} to train with the checkpoint's own vocabulary`);
    }
  }
}
