// The `matmul` suite: every matmul variant at 1024³ and at BERT-base's training shapes, each
// row against the FMA peak measured first in the same run (issue 17's measure).
import { openGpu } from '../src/runtime/device.js';
import { Runtime } from '../src/runtime/runtime.js';
import { BERT_BASE_SHAPES } from './kernel-case.js';
import { matmulBenchCases } from './kernels/matmul.js';
import { benchKernelCase } from './kernel-runner.js';
import { devicePeaks, takePeakRows, withPeak } from './peaks.js';
import type { BenchSuite } from './types.js';

export const matmulSuite: BenchSuite = {
  name: 'matmul',
  summary: 'every matmul variant at 1024³ and BERT-base training shapes, vs the FMA peak measured in the same run',
  async run(options, report) {
    const gpu = await openGpu();
    try {
      const runtime = new Runtime(gpu);
      const peaks = await devicePeaks(runtime, gpu.limits, options.quick);
      for (const row of takePeakRows(peaks)) report(row);
      // As in the kernels suite: f16 rows on a CPU adapter (little faster than f32 there) with --full only.
      const f16 = options.full || options.quick || !gpu.report.isCpu;
      if (!f16) options.log?.('matmul: a CPU adapter: f32 rows only (--full adds the f16 rows)');
      for (const c of matmulBenchCases(BERT_BASE_SHAPES, gpu.limits, options.quick)) {
        if (!f16 && c.shape.endsWith(' f16')) continue;
        if (options.variants?.matmul && options.variants.matmul !== c.variant) continue;
        report(withPeak(await benchKernelCase(runtime, c, options.quick, 'matmul', options.full), peaks));
      }
    } finally {
      gpu.destroy();
    }
  },
};
