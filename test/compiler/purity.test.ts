// Architecture rules of the pure layers: src/compiler, src/graph and src/plan read no environment
// and no files, and import nothing from the runtime, the runner or the CLI. The compiler is a
// function of (graph, recipe runtime options, device capabilities); the CLI reads the environment
// (BERT_VARIANT_*, BERT_VALIDATE) once and passes it in.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../src/package-root.js';

const root = packageRoot();

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

const pure = ['src/compiler', 'src/graph', 'src/plan'].flatMap((d) => sources(join(root, d)));

test('the pure layers exist (the scan is not vacuous)', () => {
  assert.ok(pure.some((f) => f.endsWith('compile.ts')) && pure.some((f) => f.endsWith('autodiff.ts')) && pure.length > 30, `${pure.length} files`);
});

test('no process.env (nor any other process state) in src/compiler, src/graph, src/plan', () => {
  const offenders = pure.filter((f) => /\bprocess\.(env|argv|cwd)\b/.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
  assert.equal(offenders, []);
});

test('no file system, runtime, runner or CLI imports in src/compiler, src/graph, src/plan', () => {
  const banned = /from ['"](node:fs|node:fs\/promises|fs|webgpu|\.\.\/(\.\.\/)?(runtime|train|cli|data)\/[^'"]*)['"]/;
  const offenders = pure.filter((f) => banned.test(readFileSync(f, 'utf8'))).map((f) => `${relative(root, f)}: ${banned.exec(readFileSync(f, 'utf8'))![1]}`);
  assert.equal(offenders, []);
});

test.run();
