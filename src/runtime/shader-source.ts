// Turns a PipelineSpec into WGSL text: a fixed header (STYLE.md 9; the only generated text:
// `enable` lines and the element aliases with their 4-element views), then kernels/prelude.wgsl
// (declarations shared by every kernel, since WGSL has no includes), then the files the kernel
// file names on lines of their own as `// #include <name>.wgsl` (declarations shared by one
// family's modules, e.g. the attention variants that cannot share a module; no nesting), then the
// kernel file from kernels/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { ELEMENT_ALIASES, type PipelineSpec } from '../plan/types.js';

const files = new Map<string, string>();

export function kernelFile(kernel: string): string {
  let text = files.get(kernel);
  if (text === undefined) {
    text = readFileSync(join(packageRoot(), 'kernels', `${kernel}.wgsl`), 'utf8');
    files.set(kernel, text);
  }
  return text;
}

export function wgslHeader(spec: Pick<PipelineSpec, 'dtype' | 'features' | 'types'>): string {
  const lines: string[] = [];
  const f16 = spec.dtype === 'f16' || ELEMENT_ALIASES.some((a) => spec.types?.[a] === 'f16');
  if (f16 || spec.features.includes('shader-f16')) lines.push('enable f16;');
  if (spec.features.includes('subgroups')) lines.push('enable subgroups;');
  lines.push(`alias T = ${spec.dtype};`);
  // The other element aliases, always declared (T's type unless the spec says otherwise), so a
  // kernel file can name them whatever the precision.
  lines.push(ELEMENT_ALIASES.map((a) => `alias ${a} = ${spec.types?.[a] ?? spec.dtype};`).join(' '));
  // Four elements of each alias as a buffer holds them: vec4<f32>, or for f16 the same 8 bytes as
  // a vec2<u32>. A kernel reads `vec4<f32>(bitcast<vec4<T>>(x[i]))` (an identity bitcast in f32)
  // and writes `bitcast<T4>(vec4<T>(v))`. Same bits, so the same numbers; but lavapipe (Mesa 25.0)
  // loads and stores storage memory one component per lane at a time, so 4 halves as 2 words are
  // half the work (docs/benchmarks.md).
  const element = (a: string) => (a === 'T' ? spec.dtype : (spec.types?.[a as (typeof ELEMENT_ALIASES)[number]] ?? spec.dtype));
  lines.push(['T', ...ELEMENT_ALIASES].map((a) => `alias ${a}4 = ${element(a) === 'f16' ? 'vec2<u32>' : `vec4<${element(a)}>`};`).join(' '));
  return lines.join('\n') + '\n';
}

export const PRELUDE = 'prelude';

const INCLUDE = /^\/\/ #include ([a-z0-9-]+)\.wgsl$/;

/** The files a kernel file includes, in order. */
export function kernelIncludes(kernel: string): string[] {
  return kernelFile(kernel)
    .split('\n')
    .map((line) => INCLUDE.exec(line.trim())?.[1])
    .filter((name): name is string => name !== undefined);
}

/** The parts of a module in order: [where, text]. */
function segments(spec: PipelineSpec): Array<[string, string]> {
  return [
    ['(generated header)', wgslHeader(spec)],
    [`kernels/${PRELUDE}.wgsl`, kernelFile(PRELUDE)],
    ...kernelIncludes(spec.kernel).map((name): [string, string] => [`kernels/${name}.wgsl`, kernelFile(name)]),
    [`kernels/${spec.kernel}.wgsl`, kernelFile(spec.kernel)],
  ];
}

export function shaderSource(spec: PipelineSpec): string {
  return segments(spec)
    .map(([, text]) => text)
    .join('');
}

/** Maps a line of shaderSource(spec) back to the file it came from: `kernels/x.wgsl:line`. */
export function sourceLocation(spec: PipelineSpec, line: number): string {
  let start = 0;
  const parts = segments(spec);
  for (const [i, [where, text]] of parts.entries()) {
    const lines = text.split('\n').length - 1;
    if (line <= start + lines || i === parts.length - 1) return `${where}:${line - start}`;
    start += lines;
  }
  return `?:${line}`;
}
