// Minimal file globbing for corpus paths (node 20 has no fs.glob): `*` and `?` within one path
// segment, `**` for any number of directories. No braces, no character classes, no symlink loops
// (symlinked directories are not followed by `**`).
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

const magic = /[*?]/;

function segmentRegex(segment: string): RegExp {
  const body = segment.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** Absolute paths of the files matching `pattern` (relative to baseDir unless absolute), sorted. */
export function globFiles(pattern: string, baseDir: string): string[] {
  const abs = isAbsolute(pattern) ? pattern : resolve(baseDir, pattern);
  const parts = abs.split(/[\\/]/);
  let fixed = parts.length;
  for (let i = 0; i < parts.length; i++) if (magic.test(parts[i]!)) { fixed = i; break; }
  const root = parts.slice(0, fixed).join(sep) || sep;
  const rest = parts.slice(fixed);
  const out = new Set<string>();
  const isDir = (p: string): boolean => { try { return statSync(p).isDirectory(); } catch { return false; } };
  const isFile = (p: string): boolean => { try { return statSync(p).isFile(); } catch { return false; } };
  const list = (dir: string): { name: string; dir: boolean }[] => {
    try { return readdirSync(dir, { withFileTypes: true }).map((d) => ({ name: d.name, dir: d.isDirectory() })); } catch { return []; }
  };
  function walk(dir: string, segs: string[]): void {
    if (segs.length === 0) { if (isFile(dir)) out.add(dir); return; }
    const [head, ...tail] = segs as [string, ...string[]];
    if (head === '**') {
      walk(dir, tail);
      for (const e of list(dir)) if (e.dir && !e.name.startsWith('.')) walk(join(dir, e.name), segs);
      return;
    }
    if (!magic.test(head)) { walk(join(dir, head), tail); return; }
    const re = segmentRegex(head);
    for (const e of list(dir)) if (re.test(e.name) && (!e.name.startsWith('.') || head.startsWith('.'))) walk(join(dir, e.name), tail);
  }
  if (rest.length === 0) { if (isFile(root)) out.add(root); }
  else if (isDir(root)) walk(root, rest);
  return [...out].sort();
}
