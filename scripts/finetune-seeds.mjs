#!/usr/bin/env node
// Pretrained weights against random weights on the spam fine-tuning task, over several seeds:
// for every (labelled mails, learning rate, seed) it fine-tunes recipes/spam.yaml from the given
// pretrained run and recipes/spam-scratch.yaml from random weights (same vocabulary, seed, steps
// and held-out mails), then prints a markdown table of held-out F1 of spam: mean ± standard
// deviation over the seeds, and how many seeds learned at all (F1 > 0). The seed picks the subset
// of mails, the classifier's (and the random model's) initialization, dropout and the order.
// Finished runs (runs/seeds/<name>/done) are reused, so an interrupted sweep continues.
//
//   node scripts/finetune-seeds.mjs --init runs/spam-mlm --mails 32,64,128 --lr 1e-3,3e-3 --seeds 5
//   node scripts/finetune-seeds.mjs --init runs/tiny --mails 32,64 --lr 1e-3,3e-3 --seeds 5
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function fail(message) {
  process.stderr.write(`finetune-seeds: ${message}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      init: { type: 'string' },
      mails: { type: 'string', default: '32,64,128' },
      lr: { type: 'string', default: '1e-3,3e-3' },
      seeds: { type: 'string', default: '5' },
      epochs: { type: 'string', default: '10' },
    },
  }));
} catch (e) {
  fail(e.message);
}
if (!values.init) fail('--init <pretrained run directory> is required (e.g. runs/tiny or runs/spam-mlm)');
const init = join(root, values.init);
const vocab = join(init, 'vocab.txt');
if (!existsSync(join(init, 'model.safetensors')) || !existsSync(vocab)) fail(`${values.init}: no model.safetensors and vocab.txt (pretrain it first)`);
const list = (text, what, parse) => {
  const out = text.split(',').map((s) => parse(s.trim()));
  if (out.some((v) => !(v > 0))) fail(`--${what} must be a comma-separated list of positive numbers (got ${text})`);
  return out;
};
const mails = list(values.mails, 'mails', Number);
const rates = values.lr.split(',').map((s) => s.trim());
list(values.lr, 'lr', Number);
const seeds = Number(values.seeds);
const epochs = Number(values.epochs);
if (!(Number.isInteger(seeds) && seeds >= 1) || !(Number.isInteger(epochs) && epochs >= 1)) fail('--seeds and --epochs must be positive integers');

/** Held-out F1 of spam at the end of one fine-tuning run (made now unless already done). */
function finalF1(side, n, lr, seed) {
  const out = join(root, 'runs', 'seeds', `${basename(init)}-${side}-${n}-${lr}-s${seed}`);
  if (!existsSync(join(out, 'done'))) {
    rmSync(out, { recursive: true, force: true });
    const recipe = join(root, 'recipes', side === 'pretrained' ? 'spam.yaml' : 'spam-scratch.yaml');
    const sets = [`data.tokenizer.vocab=${vocab}`, `data.labelled.max_examples=${n}`, `schedule.epochs=${epochs}`, `schedule.optimizer.adamw.lr=${lr}`, `seed=${seed}`];
    if (side === 'pretrained') sets.push(`model.init=${init}`);
    const r = spawnSync(process.execPath, [join(root, 'bin', 'bert-run.js'), recipe, '--out', out, ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8' });
    if (r.status !== 0) fail(`${out}: bert-run exited ${r.status}: ${(r.stderr || '').trim().split('\n').pop()}`);
    writeFileSync(join(out, 'done'), '');
  }
  const evals = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.eval);
  return evals[evals.length - 1].f1;
}

const stats = (xs) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return `${mean.toFixed(3)} ± ${sd.toFixed(3)} (${xs.filter((x) => x > 0).length}/${xs.length})`;
};

console.log(`| training mails (${epochs} epochs) | lr | pretrained (${values.init}) | random weights |`);
console.log('| --- | --- | --- | --- |');
for (const n of mails) {
  for (const lr of rates) {
    const cells = ['pretrained', 'random'].map((side) => {
      const f1 = [];
      for (let seed = 1; seed <= seeds; seed++) {
        f1.push(finalF1(side, n, lr, seed));
        process.stderr.write(`finetune-seeds: ${side} ${n} mails lr ${lr} seed ${seed}: F1 ${f1[f1.length - 1].toFixed(4)}\n`);
      }
      return stats(f1);
    });
    console.log(`| ${n} | ${lr} | ${cells[0]} | ${cells[1]} |`);
  }
}
