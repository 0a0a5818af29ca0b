// `bert-run device`: which adapter, backend and driver WebGPU gets here, its features and the
// limits that decide plans (binding size, workgroup counts).
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { openGpu, type AdapterReport } from '../../runtime/device.js';

function format(report: AdapterReport, deviceFeatures: string[]): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  const lines = [
    `adapter:      ${report.description || report.device || '(unnamed)'}`,
    `vendor:       ${report.vendor || '-'}  architecture: ${report.architecture || '-'}`,
    `backend:      ${report.backend}`,
    `driver:       ${report.driver || '-'}`,
    `kind:         ${report.isCpu ? 'CPU (software rasterizer: expect a few GFLOP/s)' : 'GPU'}`,
    `features:     ${deviceFeatures.join(', ') || '(none of shader-f16, subgroups, timestamp-query)'}`,
    `all features: ${report.features.join(', ')}`,
    'limits:',
  ];
  for (const [name, value] of Object.entries(report.limits)) {
    lines.push(`  ${name.padEnd(34)} ${/Size$/.test(name) && value >= 2 ** 20 ? `${value} (${mib(value)})` : value}`);
  }
  return lines.join('\n');
}

export const deviceCommand: Command = {
  name: 'device',
  summary: 'show the WebGPU adapter, backend, driver, features and limits',
  usage: 'usage: bert-run device [--backend auto|vulkan|metal|d3d12|...] [--adapter NAME] [--json]',
  async run(argv) {
    const { flags } = parseArgs(argv, { backend: 'string', adapter: 'string', json: 'boolean' }, 'device');
    const gpu = await openGpu({ backend: flags.backend as string | undefined, adapter: flags.adapter as string | undefined });
    try {
      const features = gpu.limits.features;
      if (flags.json) console.log(JSON.stringify({ ...gpu.report, deviceFeatures: features, subgroupMinSize: gpu.limits.subgroupMinSize, subgroupMaxSize: gpu.limits.subgroupMaxSize }));
      else console.log(format(gpu.report, features));
    } finally {
      gpu.destroy();
    }
    return 0;
  },
};
