// Every shipped recipe validates, carries the schema line and version, and its parameter counts
// are the standard models' exactly; the generated types are not stale; the resolved text reloads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadRecipe, vocabRows, type Recipe } from '../../src/recipe/index.js';
import { modelStats as statsWithVocab } from '../../src/graph/stats.js';

const modelStats = (recipe: Recipe) => statsWithVocab(recipe, { vocabSize: vocabRows(recipe), classes: recipe.tasks.classify ? (recipe.tasks.classify.regression ? 1 : 2) : undefined });
import { recipePath, root } from './root.js';

// Exact counts. base and large are the published BERT numbers with MLM (tied decoder) + NSP heads;
// the small BERTs follow the same formula (Turc et al.: ~4.4M, 11.3M, 29.1M, 41.7M).
const expected: Record<string, number> = {
  'base.yaml': 110_106_428,
  'large.yaml': 336_226_108,
  'bert-tiny.yaml': 4_433_468,
  'bert-mini.yaml': 11_267_900,
  'bert-small.yaml': 29_058_876,
  'bert-medium.yaml': 41_668_412,
  'cramming.yaml': 120_280_320,
  'tiny.yaml': 702_978,
  'spam-mlm.yaml': 702_978, // tiny.yaml pretrained on the spam mails
  // tiny.yaml's encoder and pooler (702,978 less the MLM head's 18,816 and NSP's 258) + classifier 128 x 2 + 2.
  'spam.yaml': 684_162,
  'spam-scratch.yaml': 684_162,
  // The same encoder and pooler with a one-output regression head: 128 + 1.
  'stsb.yaml': 684_033,
};

test('every shipped recipe is listed here, validates and has the exact parameter count', async () => {
  const files = readdirSync(join(root, 'recipes')).filter((f) => f.endsWith('.yaml')).sort();
  assert.equal(files, Object.keys(expected).sort());
  for (const f of files) {
    const text = readFileSync(recipePath(f), 'utf8');
    assert.ok(text.startsWith('# yaml-language-server: $schema=../schemas/recipe.schema.json\n'), `${f}: $schema line`);
    assert.match(text, /^version: 1$/m, `${f}: version`);
    // The fine-tuning recipes read runs/tiny, which the quick start makes: not checked here.
    const { recipe } = await loadRecipe(recipePath(f), { checkInputFiles: false });
    assert.is(recipe.version, 1);
    assert.is(modelStats(recipe).totalParams, expected[f], f);
  }
});

test('BERT-base groups and tensors add up', async () => {
  const stats = modelStats((await loadRecipe(recipePath('base.yaml'))).recipe);
  assert.equal(Object.fromEntries(stats.groups.map((g) => [g.group, g.params])), {
    embeddings: 23_837_184,
    attention: 28_366_848,
    feedforward: 56_687_616,
    pooler: 590_592,
    mlm_head: 622_650,
    nsp_head: 1_538,
  });
  assert.is(stats.blocks, 12);
  const names = stats.parameters.map((p) => p.name);
  assert.is(new Set(names).size, names.length, 'parameter names are unique');
  assert.ok(names.includes('bert.encoder.layer.11.output.dense.weight'));
  const decay = Object.fromEntries(stats.parameters.map((p) => [p.name, p.decay]));
  assert.is(decay['bert.encoder.layer.0.attention.self.qkv.weight'], true);
  assert.is(decay['bert.encoder.layer.0.attention.self.qkv.bias'], false);
  assert.is(decay['bert.encoder.layer.0.attention.output.LayerNorm.weight'], false);
  assert.is(decay['bert.embeddings.word_embeddings.weight'], true);
  assert.is(stats.layers.reduce((a, l) => a + l.params * l.count, 0), stats.totalParams);
  // Forward FLOPs per token at T=128: 12 x (2*768*2304 + 2*768*768 + 4*128*768 + 2*2*768*3072)
  // + pooler 2*768^2/128 + MLM 20/128 * (2*768^2 + 2*768*30522) + NSP 2*768*2/128.
  const layer = 2 * 768 * 2304 + 2 * 768 * 768 + 4 * 128 * 768 + 4 * 768 * 3072;
  const fwd = 12 * layer + (2 * 768 * 768) / 128 + (20 / 128) * (2 * 768 * 768 + 2 * 768 * 30522) + (2 * 768 * 2) / 128;
  assert.is(stats.flops.forwardPerToken, Math.round(fwd));
  assert.is(stats.flops.trainingPerToken, Math.round(3 * fwd));
  assert.is(stats.memory.params, 4 * 110_106_428);
  assert.ok(stats.memory.activations > 0 && stats.memory.total > 4 * stats.memory.params);
});

test('the modern variant is declared, not coded: pre-LN, GEGLU, no biases, MLM only at 25%', async () => {
  const { recipe } = await loadRecipe(recipePath('cramming.yaml'));
  const block = recipe.model.graph.find((g) => g.repeat)!;
  assert.is(block.layers![0]!.attention!.norm, 'pre');
  assert.is(block.layers![0]!.attention!.bias, false);
  assert.is(block.layers![1]!.feedforward!.activation, 'geglu');
  assert.ok(recipe.model.graph.some((g) => g.final_norm));
  assert.is(recipe.tasks.nsp, undefined);
  assert.is(recipe.tasks.mlm.mask_prob, 0.25);
  const stats = modelStats(recipe);
  assert.not.ok(stats.parameters.some((p) => p.name.startsWith('bert.encoder.') && p.name.endsWith('.bias') && !p.name.includes('LayerNorm')));
  // GEGLU: H -> 2*inner, gated to inner, -> H (weights [out, in], as Hugging Face stores them).
  assert.equal(stats.parameters.find((p) => p.name === 'bert.encoder.layer.0.intermediate.dense.weight')!.shape, [3072, 768]);
  assert.equal(stats.parameters.find((p) => p.name === 'bert.encoder.layer.0.output.dense.weight')!.shape, [768, 1536]);
});

test('tiny.yaml is small enough for a CPU-only quick start', async () => {
  const { recipe } = await loadRecipe(recipePath('tiny.yaml'));
  const stats = modelStats(recipe);
  assert.is(stats.vocabSize, 2048); // trained vocab 2048, padded to a multiple of 8
  assert.ok(stats.flops.trainingPerStep * recipe.schedule.steps < 4e12, 'under 4 TFLOP in total (about 5 minutes at lavapipe speeds)');
  assert.is(recipe.runtime.out, 'runs/tiny');
  assert.is(recipe.data.corpus.source, 'sotu');
});

test('defaults come from the schema and fill the resolved recipe', async () => {
  const { recipe } = await loadRecipe(recipePath('tiny.yaml'));
  assert.is(recipe.model.layernorm_eps, 1e-12);
  assert.is(recipe.tasks.mlm.replace.keep, 0.1);
  assert.equal(recipe.schedule.no_decay, ['*.bias', '*norm*']);
  assert.is(recipe.runtime.precision, 'f32');
  assert.is('extends' in recipe, false);
});

test('the resolved text reloads to the same recipe', async () => {
  for (const f of ['base.yaml', 'large.yaml', 'cramming.yaml']) {
    const first = await loadRecipe(recipePath(f));
    const dir = mkdtempSync(join(tmpdir(), 'recipe-'));
    writeFileSync(join(dir, 'resolved.yaml'), first.text);
    const again = await loadRecipe(join(dir, 'resolved.yaml'));
    assert.equal(again.recipe, first.recipe, f);
    assert.is(again.text.split('\n').slice(1).join('\n'), first.text.split('\n').slice(1).join('\n'));
  }
});

test('src/recipe/recipe-types.ts is generated from the current schema', async () => {
  const gen = (await import(pathToFileURL(join(root, 'scripts/gen-recipe-types.mjs')).href)) as { generate(schema: unknown): string };
  const schema: unknown = JSON.parse(readFileSync(join(root, 'schemas/recipe.schema.json'), 'utf8'));
  const committed = readFileSync(join(root, 'src/recipe/recipe-types.ts'), 'utf8');
  assert.ok(gen.generate(schema) === committed, 'stale: run node scripts/gen-recipe-types.mjs');
});

test.run();
