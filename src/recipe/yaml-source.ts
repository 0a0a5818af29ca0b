// One recipe file: YAML text -> plain value + where every value and key was written.
// Uses eemeli/yaml's parseDocument + LineCounter so each node's range becomes line:col.
// Deliberately plain: the core schema only, no custom tags (an explicit tag is an error),
// no `<<` merge keys, unique keys; recipes cannot run code or name other files except `extends`.
// Hostile input is bounded: aliases may expand to at most MAX_ALIAS_EXPANSION nodes per anchor
// (the yaml package's own count, so an alias bomb stops before any expansion), and keys that
// name JavaScript prototypes are refused.
import { LineCounter, parseDocument, isAlias, isMap, isScalar, isSeq, type Node, type Document } from 'yaml';
import type { RecipeIssue, SourceLoc } from './errors.js';

export type PathSeg = string | number;
export type Path = readonly PathSeg[];

/** JSON pointer of a path; the key of the location maps. */
export function pointer(path: Path): string {
  return path.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** `model.graph[1].layers[0].attention.heads` */
export function dotted(path: Path): string {
  let out = '';
  for (const s of path) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

export interface Locations {
  /** Where the value at a pointer starts. */
  values: Map<string, SourceLoc>;
  /** Where the key of a mapping entry starts (pointer of the entry's value). */
  keys: Map<string, SourceLoc>;
}

export interface ParsedFile {
  value: unknown;
  locs: Locations;
  issues: RecipeIssue[];
}

/** Keys that could reach a prototype if a later consumer used plain assignment: never data. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** yaml's maxAliasCount: uses of an anchor times the anchor's node count (its default is 100). */
const MAX_ALIAS_EXPANSION = 10_000;

/** Sets obj[key] without ever touching a prototype (a recipe key `__proto__` stays data). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export function parseRecipeText(text: string, file: string, display: string): ParsedFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, merge: false, schema: 'core', prettyErrors: true });
  const issues: RecipeIssue[] = [];
  const locs: Locations = { values: new Map(), keys: new Map() };
  const at = (offset: number): SourceLoc => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
    const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    // One mistake often yields several parser errors at the same spot; the first says it best.
    if (issues.some((i) => i.line === pos.line && i.col === pos.col)) continue;
    issues.push({ code: 'yaml_syntax', path: '', message: `YAML: ${message}`, file: display, line: pos.line, col: pos.col });
  }
  if (issues.length > 0) return { value: undefined, locs, issues };
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
    const msg = /resource exhaustion/.test(e.message) ? `aliases expand to too many nodes (more than ${MAX_ALIAS_EXPANSION} per anchor): refusing a possible alias bomb` : e.message;
    return { value: undefined, locs, issues: [{ code: 'yaml_alias', path: '', message: `YAML: ${msg}`, file: display, line: 1, col: 1 }] };
  }

  function build(node: Node | null | undefined, path: PathSeg[], doc: Document): unknown {
    if (node === null || node === undefined) return null;
    if (node.range) locs.values.set(pointer(path), at(node.range[0]));
    if (isAlias(node)) return build(node.resolve(doc) as Node | undefined, path, doc);
    const tag = (node as { tag?: string }).tag;
    if (tag !== undefined && node.range) {
      const loc = at(node.range[0]);
      issues.push({ code: 'yaml_tag', path: dotted(path), message: `YAML tags are not allowed in recipes (found ${tag})`, file: display, line: loc.line, col: loc.col });
    }
    if (isScalar(node)) return node.value;
    if (isSeq(node)) return node.items.map((item, i) => build(item as Node, [...path, i], doc));
    if (isMap(node)) {
      const obj: Record<string, unknown> = {};
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
          const loc = keyNode?.range ? at(keyNode.range[0]) : locs.values.get(pointer(path));
          issues.push({ code: 'yaml_syntax', path: dotted(path), message: 'YAML: mapping keys must be plain strings', file: display, line: loc?.line, col: loc?.col });
          continue;
        }
        const key = String(keyNode.value);
        const child = [...path, key];
        if (FORBIDDEN_KEYS.has(key)) {
          const loc = keyNode.range ? at(keyNode.range[0]) : locs.values.get(pointer(path));
          issues.push({ code: 'forbidden_key', path: dotted(child), message: `the key ${key} is not allowed in recipes`, file: display, line: loc?.line, col: loc?.col });
          continue;
        }
        if (keyNode.range) locs.keys.set(pointer(child), at(keyNode.range[0]));
        const valueNode = pair.value as Node | null;
        if (!valueNode?.range && keyNode.range) locs.values.set(pointer(child), at(keyNode.range[0]));
        setOwn(obj, key, build(valueNode, child, doc));
      }
      return obj;
    }
    return null;
  }
  const value = build(doc.contents as Node | null, [], doc);
  return { value, locs, issues };
}
