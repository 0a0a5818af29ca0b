// Kernel test harness: runs one KernelLaunch on given inputs and reads back its outputs, and
// compares GPU results with CPU references (STYLE.md 13).
import * as assert from 'uvu/assert';
import type { KernelLaunch } from '../../src/compiler/kernels/kernel.js';
import type { BufferSlice } from '../../src/plan/types.js';
import { testGpu } from './gpu.js';
import { halfToFloat } from '../../src/train/f16.js';

export type HostArray = Float32Array | Int32Array | Uint32Array;

export interface Binding {
  /** Initial contents; outputs may give zeros or a length. */
  data: HostArray | number;
  /** Read back after the run, as this array type ('f16': halves decoded to a Float32Array). */
  read?: 'f32' | 'i32' | 'u32' | 'f16';
  /** The buffer holds f16: Float32Array data is rounded to halves on upload (a length counts halves). */
  f16?: boolean;
}

/** float → IEEE half bits, round to nearest even (overflow to ±Inf). */
export function floatToHalf(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}


/** Values as f16 would hold them (for references computed on the same inputs the GPU sees). */
export function roundToHalf(values: ArrayLike<number>): Float32Array {
  return Float32Array.from(values, (v) => halfToFloat(floatToHalf(v)));
}

function toHalves(data: Float32Array): Uint32Array {
  const words = new Uint32Array(Math.ceil(data.length / 2));
  const halves = new Uint16Array(words.buffer);
  for (let i = 0; i < data.length; i++) halves[i] = floatToHalf(data[i]!);
  return words;
}

/** Runs the launch with bindings in WGSL order (1..n) and returns the read-back arrays by index. */
export async function runLaunch(launch: KernelLaunch | readonly KernelLaunch[], bindings: Binding[], label = (Array.isArray(launch) ? launch[0]! : (launch as KernelLaunch)).pipeline.entry): Promise<Map<number, HostArray>> {
  const launches: readonly KernelLaunch[] = Array.isArray(launch) ? launch : [launch as KernelLaunch];
  const { runtime } = await testGpu();
  const buffers: GPUBuffer[] = [];
  try {
    const slices: BufferSlice[] = [];
    for (let i = 0; i < bindings.length; i++) {
      const b = bindings[i]!;
      const upload = typeof b.data !== 'number' && b.f16 ? toHalves(b.data as Float32Array) : b.data;
      const bytes = typeof upload === 'number' ? (b.f16 ? Math.ceil(upload / 2) * 4 : upload * 4) : upload.byteLength;
      const buffer = await runtime.createBuffer(`${label}.b${i + 1}`, Math.max(4, bytes));
      if (typeof upload !== 'number') runtime.write(buffer, upload);
      buffers.push(buffer);
      slices.push({ buffer: String(i), offset: 0, size: Math.max(4, bytes) });
    }
    // Several launches (a kernel in phases) run in order in one pass, on the same buffers.
    const prepared = [];
    for (const l of launches) prepared.push(await runtime.prepare({ label, ...l, bindings: slices }, (id) => buffers[Number(id)]!));
    await runtime.submit(prepared);
    const out = new Map<number, HostArray>();
    for (let i = 0; i < bindings.length; i++) {
      const kind = bindings[i]!.read;
      if (!kind) continue;
      const bytes = await runtime.read(buffers[i]!);
      out.set(i, kind === 'f16' ? Float32Array.from(new Uint16Array(bytes), halfToFloat) : kind === 'f32' ? new Float32Array(bytes) : kind === 'i32' ? new Int32Array(bytes) : new Uint32Array(bytes));
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
