// Shader modules are assembled from files in a fixed order (generated header, prelude, the
// kernel's `// #include`d family files, the kernel file), and a line of the module maps back to
// the file and line it came from, for compile errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kernelFile, kernelIncludes, shaderSource, sourceLocation, wgslHeader } from '../../src/runtime/shader-source.js';
import type { PipelineSpec } from '../../src/plan/types.js';

const spec = (kernel: string): PipelineSpec => ({ kernel, entry: 'main', dtype: 'f32', features: [], overrides: {} }) as unknown as PipelineSpec;

test('both attention modules include the shared declarations once, after the prelude', () => {
  for (const kernel of ['attention', 'attention-plain']) {
    assert.equal(kernelIncludes(kernel), ['attention-common']);
    const source = shaderSource(spec(kernel));
    assert.is(source, wgslHeader(spec(kernel)) + kernelFile('prelude') + kernelFile('attention-common') + kernelFile(kernel));
    assert.is(source.split('struct Params {').length, 2, `${kernel}: one Params struct`);
  }
  assert.equal(kernelIncludes('layernorm'), []);
});

test('every line maps back to its file', () => {
  const s = spec('attention-plain');
  const lines = shaderSource(s).split('\n');
  const header = wgslHeader(s).split('\n').length - 1;
  const prelude = kernelFile('prelude').split('\n').length - 1;
  const common = kernelFile('attention-common').split('\n').length - 1;
  assert.is(sourceLocation(s, 1), '(generated header):1');
  assert.is(sourceLocation(s, header + 1), 'kernels/prelude.wgsl:1');
  assert.is(sourceLocation(s, header + prelude + 1), 'kernels/attention-common.wgsl:1');
  assert.is(sourceLocation(s, header + prelude + common + 1), 'kernels/attention-plain.wgsl:1');
  // The mapped line holds the same text as the module's line.
  for (const at of [header + 3, header + prelude + 7, header + prelude + common + 40]) {
    const [where, n] = sourceLocation(s, at).split(':') as [string, string];
    const file = where.replace(/^kernels\/(.*)\.wgsl$/, '$1');
    assert.is(kernelFile(file).split('\n')[Number(n) - 1], lines[at - 1], `line ${at} -> ${where}:${n}`);
  }
});

test.run();
