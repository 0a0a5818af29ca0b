// The op registry's shape rules and completeness: every built graph (training, evaluation,
// inference; every shipped recipe) satisfies every op's shape rule, and a graph whose builder
// got a shape wrong is refused at compile time naming the op.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { loadRecipe, vocabRows } from '../../src/recipe/index.js';
import { buildModelGraph } from '../../src/graph/model.js';
import { appendBackward } from '../../src/graph/autodiff.js';
import { fuseForwardEpilogues, fuseTrainingEpilogues } from '../../src/graph/fusion.js';
import { checkShapes } from '../../src/graph/check-shapes.js';
import { Graph, type OpKind } from '../../src/graph/ir.js';
import { OP_DEFS } from '../../src/graph/ops/index.js';
import { fixture } from '../support/fixtures.js';

test('every op kind used by the shipped recipes has a definition whose shape rule the graphs satisfy', async () => {
  const used = new Set<OpKind>();
  const files = readdirSync(fixture('..', 'recipes')).filter((f) => f.endsWith('.yaml'));
  for (const file of files) {
    const { recipe } = await loadRecipe(fixture('..', 'recipes', file), { checkInputFiles: false });
    const shape = { batch: 2, seq: 16, predictions: 3 };
    const V = vocabRows(recipe);
    // 'unfused': the graph before epilogue fusion, differentiated (standalone activations).
    for (const mode of ['training', 'unfused', 'eval', 'inference'] as const) {
      const { graph } = buildModelGraph(recipe, V, shape, { training: mode === 'training' || mode === 'unfused', inference: mode === 'inference', classes: recipe.tasks.classify ? (recipe.tasks.classify.regression ? 1 : 3) : undefined });
      if (mode === 'training') fuseTrainingEpilogues(graph);
      if (mode === 'training' || mode === 'unfused') appendBackward(graph);
      else fuseForwardEpilogues(graph);
      checkShapes(graph);
      for (const op of graph.ops) used.add(op.kind);
    }
  }
  // fill and scatter_rows_add appear through gather_rows' gradient, geglu through cramming.yaml,
  // squared_error through stsb.yaml.
  assert.equal([...used].sort(), Object.keys(OP_DEFS).sort(), 'the recipes exercise every registered op');
});

test('a builder that gets an output shape wrong is refused, naming the op', () => {
  const g = new Graph();
  const x = g.tensor('x', [4, 8], 'input');
  const gamma = g.tensor('gamma', [8], 'param');
  const beta = g.tensor('beta', [8], 'param');
  const y = g.tensor('ln.y', [4, 8], 'activation');
  const stats = g.tensor('ln.stats', [4, 3], 'activation');
  g.op('layernorm', 'encoder.0.ln', { x, gamma, beta }, { y, stats }, { eps: 1e-12 });
  assert.throws(() => checkShapes(g), /encoder\.0\.ln \(layernorm\) output stats \(ln\.stats\) has shape \[4, 3\], its shape rule says \[4, 2\]/);

  const h = new Graph();
  const a = h.tensor('a', [6, 5], 'input');
  const w = h.tensor('w', [7, 5], 'param');
  const out = h.tensor('out', [6, 5], 'activation');
  h.op('linear', 'proj', { x: a, w }, { y: out }, {});
  assert.throws(() => checkShapes(h), /proj \(linear\) output y \(out\) has shape \[6, 5\], its shape rule says \[6, 7\]/);
});

test.run();
