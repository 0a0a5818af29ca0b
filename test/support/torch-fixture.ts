// Shared by the PyTorch golden tests (torch-golden, torch-classifier): the per-tensor tolerance of
// float32 against torch's float64, and reading a plan's parameters or gradients back by name.
import type { Compiled } from '../../src/compiler/compile.js';
import type { BufferPool } from '../../src/runtime/executor.js';
import type { NamedTensor } from '../../src/train/checkpoint/safetensors.js';
import { testGpu } from './gpu.js';

/** Per tensor: |ours − torch| ≤ 1e-5 + 2e-3·max|torch| (float32 against float64). */
export function torchTolerance(ref: ArrayLike<number>): { atol: number; rtol: number } {
  let scale = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]!));
  return { atol: 1e-5 + 2e-3 * scale, rtol: 2e-3 };
}

/** Every plan parameter's values (or gradient) read back from the device, by plan name. */
export async function readPlanParams(compiled: Compiled, pool: BufferPool, which: 'param' | 'grad'): Promise<NamedTensor[]> {
  const { runtime } = await testGpu();
  const out: NamedTensor[] = [];
  for (const p of compiled.plan.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const slot = which === 'param' ? { buffer: p.buffer, offset: p.offset } : p.grad!;
    out.push({ name: p.name, shape: p.shape, data: new Float32Array(await runtime.read(pool.get(slot.buffer), slot.offset, n * 4)) });
  }
  return out;
}
