// A small synthetic corpus with strong regularities, so a tiny model learns measurably in a
// few hundred steps: documents of sentences in Google's one-sentence-per-line
// format, blank lines between documents.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from './random.js';

// Fixed sentences: a masked word is predictable from its context, so accuracy can rise far
// above the unigram baseline within a few hundred steps.
const SENTENCES = [
  'the cat sat on the warm mat by the door .',
  'a dog chased the red ball across the green field .',
  'my sister reads old books in the quiet library .',
  'the farmer feeds his cows before the sun rises .',
  'children play football in the park after school .',
  'the teacher writes long sums on the black board .',
  'heavy rain fell on the roof all night long .',
  'the old man walks slowly along the river bank .',
  'birds sing loudly in the tall trees every morning .',
  'we eat fresh bread with butter and sweet jam .',
  'the train leaves the station at nine every day .',
  'she painted the small wooden house bright blue .',
];

export function writeSyntheticCorpus(dir: string, documents: number, seed: number): string {
  const next = rng(seed);
  const docs: string[] = [];
  for (let d = 0; d < documents; d++) {
    const lines: string[] = [];
    const n = 6 + Math.floor(next() * 6);
    for (let s = 0; s < n; s++) lines.push(SENTENCES[Math.floor(next() * SENTENCES.length)]!);
    docs.push(lines.join('\n'));
  }
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'corpus.txt');
  writeFileSync(file, docs.join('\n\n') + '\n');
  return file;
}

/** A tiny recipe training on the synthetic corpus in `dir` (written next to it). */
export function writeTinyRecipe(dir: string): string {
  const file = join(dir, 'recipe.yaml');
  writeFileSync(
    file,
    `version: 1
name: synthetic
seed: 11
model:
  hidden: 32
  vocab_size: from-tokenizer
  max_position: 32
  init_std: 0.05
  graph:
    - embeddings: { position: learned, token_type: true, norm: layernorm, dropout: 0.0 }
    - repeat: 2
      layers:
        - attention: { heads: 2, dropout: 0.0, probs_dropout: 0.0, norm: post }
        - feedforward: { inner: 64, activation: gelu, dropout: 0.0, norm: post }
    - pooler: { activation: tanh }
tasks:
  mlm: { max_predictions: 5, masking: static }
  nsp: { weight: 1.0 }
data:
  corpus: { files: [corpus.txt], format: lines }
  tokenizer: { wordpiece: { train: { vocab_size: 160, min_frequency: 1 } } }
  seq_len: 32
  dupe_factor: 2
  holdout: 0.1
  cache_dir: ${JSON.stringify(join(dir, 'cache'))}
schedule:
  steps: 600
  batch_size: 16
  micro_batch_size: 8
  optimizer: { adamw: { lr: 3.0e-3, betas: [0.9, 0.999], eps: 1.0e-6, weight_decay: 0.01 } }
  lr: { warmup_steps: 5, decay: linear }
  clip_grad_norm: 1.0
  eval: { every: 0, batches: 4 }
  checkpoint: { every: 0, keep: 2 }
  log: { every: 10 }
runtime: { out: ${JSON.stringify(join(dir, 'run'))} }
`,
  );
  return file;
}

/**
 * A temporary run root with the synthetic corpus and tiny recipe, for a uvu suite: --json progress
 * lines are silenced while it runs (they would flood the output) and the folder is removed after.
 */
export function syntheticRunRoot(suite: { before: (fn: () => void) => void; after: (fn: () => void) => void }, prefix: string, documents: number, seed: number): { root: string; recipe: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  writeSyntheticCorpus(root, documents, seed);
  const recipe = writeTinyRecipe(root);
  let log = console.log;
  suite.before(() => {
    log = console.log;
    console.log = () => {};
  });
  suite.after(() => {
    console.log = log;
    rmSync(root, { recursive: true, force: true });
  });
  return { root, recipe };
}
