// The one glob of the project, for corpus file lists (Node 20 has no fs.glob): `*` and `?` within
// one path segment, `**` for any number of directories. No braces, no character classes, no
// negation. Patterns are relative to `baseDir` unless absolute; results are sorted absolute paths
// of existing regular files only (a FIFO or device never becomes a corpus file), hidden entries
// included only when the pattern segment names them (starts with a dot).
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

export function hasGlobMagic(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

function segmentRegex(seg: string): RegExp {
  let re = '^';
  for (const ch of seg) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Regular files matching `pattern` (absolute paths, sorted); a plain path matches itself if it is one. */
export function glob(pattern: string, baseDir = '.'): string[] {
  const abs = isAbsolute(pattern) ? pattern : resolve(baseDir, pattern);
  if (!hasGlobMagic(abs)) return isFile(abs) ? [abs] : [];
  const parts = abs.split(/[\\/]+/);
  // The fixed prefix before the first wildcard segment.
  let i = 0;
  while (i < parts.length && !hasGlobMagic(parts[i]!)) i++;
  const root = parts.slice(0, i).join(sep) || sep;
  const out = new Set<string>();
  walk(root, parts.slice(i), out);
  return [...out].sort();
}

function listDir(dir: string): { name: string; dir: boolean }[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).map((e) => {
      let isDir = e.isDirectory();
      if (e.isSymbolicLink()) {
        try {
          isDir = statSync(join(dir, e.name)).isDirectory();
        } catch {
          isDir = false;
        }
      }
      return { name: e.name, dir: isDir };
    });
  } catch {
    return [];
  }
}

function walk(dir: string, rest: string[], out: Set<string>): void {
  if (rest.length === 0) {
    return;
  }
  const [seg, ...tail] = rest as [string, ...string[]];
  if (seg === '**') {
    // Zero directories...
    walk(dir, tail, out);
    // ...or one more, keeping `**`.
    for (const e of listDir(dir)) if (e.dir && !e.name.startsWith('.')) walk(join(dir, e.name), rest, out);
    return;
  }
  if (!hasGlobMagic(seg)) {
    const p = join(dir, seg);
    if (tail.length === 0) {
      if (isFile(p)) out.add(p);
    } else walk(p, tail, out);
    return;
  }
  const re = segmentRegex(seg);
  for (const e of listDir(dir)) {
    if (e.name.startsWith('.') && !seg.startsWith('.')) continue;
    if (!re.test(e.name)) continue;
    const p = join(dir, e.name);
    if (tail.length === 0) {
      if (!e.dir && isFile(p)) out.add(p);
    } else if (e.dir) walk(p, tail, out);
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
