// Kernel test harness: runs one KernelLaunch on given inputs and reads back its outputs, and
// compares GPU results with CPU references (STYLE.md 13).
import * as assert from 'uvu/assert';
import type { KernelLaunch } from '../../src/compiler/kernels/kernel.js';
import type { BufferSlice } from '../../src/plan/types.js';
import { testGpu } from './gpu.js';

export type HostArray = Float32Array | Int32Array | Uint32Array;

export interface Binding {
  /** Initial contents; outputs may give zeros or a length. */
  data: HostArray | number;
  /** Read back after the run, as this array type. */
  read?: 'f32' | 'i32' | 'u32';
}

/** Runs the launch with bindings in WGSL order (1..n) and returns the read-back arrays by index. */
export async function runLaunch(launch: KernelLaunch, bindings: Binding[], label = launch.pipeline.entry): Promise<Map<number, HostArray>> {
  const { runtime } = await testGpu();
  const buffers: GPUBuffer[] = [];
  try {
    const slices: BufferSlice[] = [];
    for (let i = 0; i < bindings.length; i++) {
      const b = bindings[i]!;
      const bytes = typeof b.data === 'number' ? b.data * 4 : b.data.byteLength;
      const buffer = await runtime.createBuffer(`${label}.b${i + 1}`, bytes);
      if (typeof b.data !== 'number') runtime.write(buffer, b.data);
      buffers.push(buffer);
      slices.push({ buffer: String(i), offset: 0, size: Math.max(4, bytes) });
    }
    const prepared = await runtime.prepare({ label, ...launch, bindings: slices }, (id) => buffers[Number(id)]!);
    await runtime.submit([prepared]);
    const out = new Map<number, HostArray>();
    for (let i = 0; i < bindings.length; i++) {
      const kind = bindings[i]!.read;
      if (!kind) continue;
      const bytes = await runtime.read(buffers[i]!);
      out.set(i, kind === 'f32' ? new Float32Array(bytes) : kind === 'i32' ? new Int32Array(bytes) : new Uint32Array(bytes));
    }
    return out;
  } finally {
    for (const b of buffers) b.destroy();
  }
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** |got − ref| ≤ atol + rtol·|ref| everywhere; on failure shows max diff and first mismatches. */
export function assertClose(got: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance, context: string): void {
  assert.is(got.length >= ref.length, true, `${context}: got ${got.length} values, expected ${ref.length}`);
  let maxDiff = 0;
  let maxAt = -1;
  const mismatches: string[] = [];
  for (let i = 0; i < ref.length; i++) {
    const g = got[i]!;
    const r = ref[i]!;
    const diff = Math.abs(g - r);
    if (!(diff <= tol.atol + tol.rtol * Math.abs(r))) {
      if (mismatches.length < 5) mismatches.push(`[${i}] ref ${r} vs got ${g}`);
      if (!(diff <= maxDiff)) {
        maxDiff = Number.isNaN(diff) ? Infinity : diff;
        maxAt = i;
      }
    }
  }
  if (mismatches.length > 0) {
    assert.unreachable(
      `${context}: ${mismatches.length}+ mismatches (atol ${tol.atol}, rtol ${tol.rtol}); max diff ${maxDiff} at [${maxAt}]; first: ${mismatches.join('; ')}`,
    );
  }
}
