// Shader modules are assembled from files in a fixed order (generated header, prelude, the
// kernel's `// #include`d family files, the kernel file), and a line of the module maps back to
// the file and line it came from, for compile errors.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { packageRoot } from '../../src/package-root.js';
import { kernelFile, kernelIncludes, PRELUDE, shaderSource, sourceLocation, wgslHeader } from '../../src/runtime/shader-source.js';
import type { PipelineSpec } from '../../src/plan/types.js';
import { testGpu } from '../support/gpu.js';

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

test('the header views 4 elements as vec4<f32>, or for f16 as the same 8 bytes in a vec2<u32>', () => {
  const header = (dtype: 'f32' | 'f16', types = {}) => wgslHeader({ dtype, features: [], types } as unknown as PipelineSpec);
  assert.ok(header('f32').includes('alias T4 = vec4<f32>; alias TC4 = vec4<f32>; alias TG4 = vec4<f32>; alias TI4 = vec4<f32>;'));
  assert.ok(header('f16', { TG: 'f32' }).includes('alias T4 = vec2<u32>; alias TC4 = vec2<u32>; alias TG4 = vec4<f32>; alias TI4 = vec2<u32>;'));
});

// Kernel tests run a kernel at the precisions they test; a view read without its bitcast (a T4
// used as a vec4<T>) type-checks in f32, where T4 is vec4<f32>, and fails only in f16. So every
// kernel module is parsed and type-checked here for every element type a plan can give it.
test('every kernel module type-checks with f32 and f16 elements, and mixed', async () => {
  const { runtime, gpu } = await testGpu();
  const files = readdirSync(join(packageRoot(), 'kernels')).filter((f) => f.endsWith('.wgsl')).map((f) => f.slice(0, -'.wgsl'.length));
  const included = new Set(files.flatMap((k) => kernelIncludes(k)));
  const kernels = files.filter((k) => k !== PRELUDE && !included.has(k));
  assert.ok(kernels.includes('matmul-subgroup') && kernels.includes('attention') && !kernels.includes('attention-common'));
  const features = (['shader-f16', 'subgroups'] as const).filter((f) => gpu.hasFeature(f));
  const elementTypes: Array<[PipelineSpec['dtype'], PipelineSpec['types']]> = [['f32', {}]];
  if (features.includes('shader-f16')) elementTypes.push(['f16', {}], ['f16', { TC: 'f32', TG: 'f32', TI: 'f32' }], ['f32', { TI: 'f16' }]);
  for (const kernel of kernels) {
    if (!features.includes('subgroups') && kernelFile(kernel).includes('subgroupBroadcast')) continue;
    for (const [dtype, types] of elementTypes) {
      const spec = { kernel, entry: 'unused', dtype, features: [...features], overrides: {}, types } as unknown as PipelineSpec;
      await runtime.shaderModule(spec, `${kernel} ${dtype} ${JSON.stringify(types)}`);
    }
  }
});

test.run();
