// Turns a PipelineSpec into WGSL text: a fixed header (STYLE.md 9; the only generated text:
// `enable` lines and the element alias), then kernels/prelude.wgsl (declarations shared by every
// kernel, since WGSL has no includes), then the kernel file from kernels/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import type { PipelineSpec } from '../plan/types.js';

const files = new Map<string, string>();

export function kernelFile(kernel: string): string {
  let text = files.get(kernel);
  if (text === undefined) {
    text = readFileSync(join(packageRoot(), 'kernels', `${kernel}.wgsl`), 'utf8');
    files.set(kernel, text);
  }
  return text;
}

export function wgslHeader(spec: Pick<PipelineSpec, 'dtype' | 'features'>): string {
  const lines: string[] = [];
  if (spec.dtype === 'f16' || spec.features.includes('shader-f16')) lines.push('enable f16;');
  if (spec.features.includes('subgroups')) lines.push('enable subgroups;');
  lines.push(`alias T = ${spec.dtype};`);
  return lines.join('\n') + '\n';
}

export const PRELUDE = 'prelude';

export function shaderSource(spec: PipelineSpec): string {
  return wgslHeader(spec) + kernelFile(PRELUDE) + kernelFile(spec.kernel);
}

/** Maps a line of shaderSource(spec) back to the file it came from: `kernels/x.wgsl:line`. */
export function sourceLocation(spec: PipelineSpec, line: number): string {
  const header = wgslHeader(spec).split('\n').length - 1;
  const prelude = kernelFile(PRELUDE).split('\n').length - 1;
  if (line <= header) return `(generated header):${line}`;
  if (line <= header + prelude) return `kernels/${PRELUDE}.wgsl:${line - header}`;
  return `kernels/${spec.kernel}.wgsl:${line - header - prelude}`;
}
