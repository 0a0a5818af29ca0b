// Shared by the fine-tuning end-to-end tests (finetune, finetune-regression): a small
// classification recipe over a generated jsonl file, the file's before/after hooks, the
// stop-and-resume equivalence check, and a check that a promise rejects with a one-line message.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Gpu } from '../../src/runtime/device.js';
import { train, type TrainResult } from '../../src/train/runner.js';

export interface ToyRecipe {
  /** Directory of the recipe, its data and vocab.txt; runs go to <dir>/<name>. */
  dir: string;
  name: string;
  /** The tasks.classify mapping, as YAML flow text. */
  classify: string;
  /** The label column of toy.jsonl. */
  label: string;
  epochs: number;
  /** Lines appended to the recipe. */
  extra?: string;
}

/** A one-block (hidden 32) fine-tuning recipe over <dir>/toy.jsonl (column `sentence`), 20% held out. */
export function writeToyRecipe(r: ToyRecipe): string {
  const file = join(r.dir, `${r.name}.yaml`);
  writeFileSync(
    file,
    `version: 1
name: ${r.name}
seed: 5
model:
  hidden: 32
  vocab_size: from-tokenizer
  max_position: 16
  init_std: 0.05
  graph:
    - embeddings: { position: learned, token_type: true, norm: layernorm, dropout: 0.0 }
    - repeat: 1
      layers:
        - attention: { heads: 2, dropout: 0.0, probs_dropout: 0.0, norm: post }
        - feedforward: { inner: 64, activation: gelu, dropout: 0.0, norm: post }
    - pooler: { activation: tanh }
tasks:
  classify: ${r.classify}
data:
  labelled: { files: [toy.jsonl], text: sentence, label: ${r.label}, holdout: 0.2 }
  tokenizer: { vocab: vocab.txt }
  seq_len: 16
schedule:
  epochs: ${r.epochs}
  batch_size: 16
  micro_batch_size: 8
  optimizer: { adamw: { lr: 3.0e-3, betas: [0.9, 0.999], eps: 1.0e-6, weight_decay: 0.01 } }
  lr: { warmup_ratio: 0.1, decay: linear }
  eval: { every: 0 }
  checkpoint: { every: 0, keep: 2 }
  log: { every: 1 }
runtime: { out: ${JSON.stringify(join(r.dir, r.name))}, autotune: off }
${r.extra ?? ''}`,
  );
  return file;
}

/** The promise rejects with a one-line message matching `pattern`. */
export async function rejects(run: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await run();
  } catch (e) {
    const message = (e as Error).message;
    assert.match(message, pattern);
    assert.not.match(message, /\n/, `one line: ${message}`);
    return;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
}

/** Writes the toy data before the file's tests and removes `root` after; console.log is silenced meanwhile (progress lines). */
export function toyDataHooks(suite: Test, root: string, writeData: () => void): void {
  let log = console.log;
  suite.before(() => {
    writeData();
    log = console.log;
    console.log = () => {};
  });
  suite.after(() => {
    console.log = log;
    rmSync(root, { recursive: true, force: true });
  });
}

/** A 20-step run stopped after step 7 and resumed equals the straight run bit for bit (the given step fields, evaluations, best). */
export async function assertResumeExact(gpu: Gpu, writeRecipe: (name: string) => string, fields: Array<keyof TrainResult['history'][number]>): Promise<void> {
  const straight = await train({ recipe: writeRecipe('straight'), gpu, json: true, steps: 20 });
  const recipe = writeRecipe('resumed');
  await train({ recipe, gpu, json: true, steps: 20, stopAfter: 7 });
  const resumed = await train({ recipe, gpu, json: true, steps: 20, resume: true });
  const pick = (h: TrainResult['history']) => h.map((s) => fields.map((f) => s[f]));
  assert.equal(pick(resumed.history), pick(straight.history).slice(7));
  assert.equal(resumed.evals, straight.evals.filter((e) => e.step > 7));
  assert.equal(resumed.best, straight.best);
}
