// Times KernelCases on the device: random buffers per case, one dispatch per sample, each
// sample waits for the GPU. Rows carry GFLOP/s (compute-bound ops) or GB/s (memory-bound).
import type { Runtime } from '../src/runtime/runtime.js';
import type { BenchRow } from './types.js';
import type { KernelCase } from './kernel-case.js';
import { time } from './timing.js';

function fill(bytes: number, seed: number, intMax?: number): ArrayBufferView {
  const n = Math.ceil(bytes / 4);
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  if (intMax !== undefined) {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(next() * intMax);
    return out;
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() - 0.5) * 0.1;
  return out;
}

export async function benchKernelCase(runtime: Runtime, c: KernelCase, quick: boolean, suite = 'kernels'): Promise<BenchRow> {
  const buffers: GPUBuffer[] = [];
  try {
    for (let i = 0; i < c.bindingBytes.length; i++) {
      const buffer = await runtime.createBuffer(`${c.name}.${i + 1}`, c.bindingBytes[i]!);
      runtime.write(buffer, fill(c.bindingBytes[i]!, 17 + i, c.intBindings?.[i]));
      buffers.push(buffer);
    }
    const prepared = await runtime.prepare(
      { label: `${c.name}.${c.variant}`, ...c.launch, bindings: c.bindingBytes.map((bytes, i) => ({ buffer: String(i), offset: 0, size: Math.max(4, Math.ceil(bytes / 4) * 4) })) },
      (id) => buffers[Number(id)]!,
    );
    const t = await time(`${c.name} ${c.variant} ${c.shape}`, async () => {
      await runtime.submit([prepared]);
      await runtime.finish();
    }, { quick });
    const seconds = t.median_ms / 1e3;
    const row: BenchRow = { suite, name: c.name, kernel: c.launch.pipeline.kernel, variant: c.variant, shape: c.shape, median_ms: t.median_ms, min_ms: t.min_ms, max_ms: t.max_ms };
    if (c.launch.flops > 0) row.gflops = c.launch.flops / seconds / 1e9;
    if (c.launch.bytes > 0) row.gbps = c.launch.bytes / seconds / 1e9;
    return row;
  } finally {
    for (const b of buffers) b.destroy();
  }
}
