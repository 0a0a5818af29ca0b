// Turns a PipelineSpec into WGSL text: the kernel file from kernels/ behind a fixed header
// (STYLE.md 9). The header is the only generated text: `enable` lines and the element alias.
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

export function shaderSource(spec: PipelineSpec): string {
  return wgslHeader(spec) + kernelFile(spec.kernel);
}
