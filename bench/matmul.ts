// The `matmul` suite: every matmul variant at 1024³ and at BERT-base's training shapes.
import { openGpu } from '../src/runtime/device.js';
import { Runtime } from '../src/runtime/runtime.js';
import { BERT_BASE_SHAPES } from './kernel-case.js';
import { matmulBenchCases } from './kernels/matmul.js';
import { benchKernelCase } from './kernel-runner.js';
import type { BenchSuite } from './types.js';

export const matmulSuite: BenchSuite = {
  name: 'matmul',
  summary: 'every matmul variant at 1024³ and BERT-base training shapes',
  async run(options, report) {
    const gpu = await openGpu();
    try {
      const runtime = new Runtime(gpu);
      for (const c of matmulBenchCases(BERT_BASE_SHAPES, gpu.limits, options.quick)) {
        if (options.variants?.matmul && options.variants.matmul !== c.variant) continue;
        report(await benchKernelCase(runtime, c, options.quick, 'matmul', options.full));
      }
    } finally {
      gpu.destroy();
    }
  },
};
