// loadRecipe: file -> fully resolved Recipe, or a RecipeError listing every problem at once.
// Order: parse each file of the `extends` chain (parents first, deep merge: mappings merge key by
// key, lists and scalars replace), apply `--set` overrides in order, then `--steps`/`--out`; fill
// defaults and validate with the schema; run the named cross-field checks; resolve file paths.
// Every value remembers where it was written, so each error points at file:line:col or the flag.
// Not here: reading the corpus or tokenizing (src/data), anything about the GPU.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parse as parseYamlValue, stringify } from 'yaml';
import type { ErrorObject } from 'ajv';
import { RecipeError, type RecipeIssue, type RecipeIssueCode, type SourceLoc } from './errors.js';
import { dotted, FORBIDDEN_KEYS, parseRecipeText, pointer, setOwn, type Locations, type Path, type PathSeg } from './yaml-source.js';
import { deref, orderBySchema, recipeValidator, schemasAt, type SchemaNode } from './schema.js';
import { crossFieldChecks, resolveFiles, type Blame } from './checks.js';
import { nearest } from '../suggest.js';
import type { Recipe } from './recipe-types.js';

export interface LoadOptions {
  /** `path.to.key=value` overrides, applied in order after the files; values typed by the schema. */
  sets?: readonly string[];
  /** Shortcut for `--set schedule.steps=N`, applied after sets. */
  steps?: number;
  /** Shortcut for `--set runtime.out=DIR`, applied after sets. */
  out?: string;
  /** Directory that relative paths in messages and --set paths are taken from (default: process.cwd()). */
  cwd?: string;
  /**
   * Whether the files the recipe names for training (corpus, tokenizer, model.init) must exist
   * (default true). A run directory's saved recipe is read without: inference needs none of them.
   */
  checkInputFiles?: boolean;
}

export interface LoadedRecipe {
  /** Fully resolved: defaults filled, extends and overrides applied, input paths absolute. */
  recipe: Recipe;
  /** Absolute path of the recipe file. */
  file: string;
  /** The resolved recipe as YAML (print with --print-recipe; saved with each run). */
  text: string;
  /** One line each: what the loader adjusted on the user's behalf (e.g. warmup clamped to --steps). */
  warnings: string[];
}

/** A recipe is a page of YAML; anything near this size is a mistake or an attack (parsing is superlinear). */
const MAX_RECIPE_BYTES = 1 << 20;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const has = (o: Record<string, unknown>, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

class Session {
  readonly issues: RecipeIssue[] = [];
  readonly locs: Locations = { values: new Map(), keys: new Map() };
  constructor(
    readonly cwd: string,
    readonly mainFile: string,
  ) {}

  display(file: string): string {
    if (file === '--set') return file;
    const rel = relative(this.cwd, file);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
  }

  issueAt(code: RecipeIssueCode, path: Path, message: string, loc: SourceLoc | undefined): void {
    const l = loc ?? { file: this.mainFile, line: 1, col: 1 };
    const issue: RecipeIssue = { code, path: dotted(path), message, file: this.display(l.file) };
    if (l.line !== undefined) {
      issue.line = l.line;
      issue.col = l.col ?? 1;
    }
    if (l.set !== undefined) issue.set = l.set;
    this.issues.push(issue);
  }

  /** Where the value at path was written; values that came from defaults blame their nearest written parent. */
  valueLoc(path: Path): SourceLoc | undefined {
    for (let n = path.length; n >= 0; n--) {
      const loc = this.locs.values.get(pointer(path.slice(0, n)));
      if (loc) return loc;
    }
    return undefined;
  }

  keyLoc(path: Path): SourceLoc | undefined {
    return this.locs.keys.get(pointer(path)) ?? this.valueLoc(path);
  }

  fail(): never {
    const order = (i: RecipeIssue): string => `${i.set !== undefined ? 1 : 0}|${i.file}|${String(i.line ?? 0).padStart(8, '0')}|${String(i.col ?? 0).padStart(8, '0')}`;
    const seen = new Set<string>();
    const unique = this.issues.filter((i) => {
      const key = `${order(i)}|${i.path}|${i.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    unique.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    throw new RecipeError(unique);
  }
}

/** Copies the locations of one source under `locs`, replacing what it overrides. */
function overlay(into: Locations, from: Locations, replaced: readonly string[]): void {
  const under = (p: string): boolean => replaced.some((r) => p === r || p.startsWith(r + '/'));
  for (const map of ['values', 'keys'] as const) {
    for (const p of [...into[map].keys()]) if (under(p)) into[map].delete(p);
    for (const [p, loc] of from[map]) into[map].set(p, loc);
  }
}

/** The keys of an exactly-one-of mapping at path (optimizer: adamw | lamb, corpus: source | files, ...). */
function variantKeys(path: Path): string[] {
  return schemasAt(path).flatMap((sch) => (sch.oneOf ?? []).map((b) => b.required?.[0]).filter((k): k is string => k !== undefined));
}

/** Naming one variant of an exactly-one-of mapping replaces the others: `lamb` over `adamw` drops adamw. */
function otherVariants(path: Path, chosen: readonly string[]): string[] {
  const variants = variantKeys(path);
  const picked = chosen.filter((k) => variants.includes(k));
  return picked.length > 0 ? variants.filter((k) => !picked.includes(k)) : [];
}

/** Deep merge for `extends`: mappings merge key by key; anything else in `over` replaces. */
function deepMerge(base: unknown, over: unknown, path: PathSeg[], replaced: string[]): unknown {
  if (!isObject(base) || !isObject(over)) {
    replaced.push(pointer(path));
    return over;
  }
  const out: Record<string, unknown> = {};
  const dropped = otherVariants(path, Object.keys(over));
  for (const k of dropped) replaced.push(pointer([...path, k]));
  for (const k of Object.keys(base)) if (!dropped.includes(k)) setOwn(out, k, base[k]);
  for (const k of Object.keys(over)) setOwn(out, k, has(base, k) ? deepMerge(base[k], over[k], [...path, k], replaced) : over[k]);
  return out;
}

interface Layer {
  value: unknown;
  locs: Locations;
}

/** Parses `file` and its extends chain; undefined when a file could not be parsed (issues recorded). */
function loadChain(s: Session, file: string, stack: readonly string[], from: SourceLoc | undefined, fromPath: Path): Layer | undefined {
  const st = existsSync(file) ? statSync(file) : undefined;
  if (!st?.isFile()) {
    const why = st ? 'not a regular file' : 'file not found';
    if (from) s.issueAt('missing_file', fromPath, `${why}: ${s.display(file)}`, from);
    else s.issues.push({ code: 'missing_file', path: '', message: st ? 'recipe is not a regular file' : 'recipe file not found', file: s.display(file) });
    return undefined;
  }
  if (st.size > MAX_RECIPE_BYTES) {
    const message = `recipe file is ${(st.size / 2 ** 20).toFixed(1)} MiB; recipes are limited to ${MAX_RECIPE_BYTES / 2 ** 20} MiB`;
    if (from) s.issueAt('too_large', fromPath, `${s.display(file)}: ${message}`, from);
    else s.issues.push({ code: 'too_large', path: '', message, file: s.display(file) });
    return undefined;
  }
  const parsed = parseRecipeText(readFileSync(file, 'utf8'), file, s.display(file));
  s.issues.push(...parsed.issues);
  if (parsed.issues.some((i) => i.code === 'yaml_syntax' || i.code === 'yaml_alias')) return undefined;
  const value = parsed.value;
  if (!isObject(value)) return { value, locs: parsed.locs };

  const at = (p: Path): SourceLoc => parsed.locs.values.get(pointer(p)) ?? { file, line: 1, col: 1 };
  if (!has(value, 'version')) {
    s.issueAt('missing_key', ['version'], 'required key missing (every recipe file declares version: 1)', { file, line: 1, col: 1 });
  } else if (stack.length > 0 && value.version !== 1) {
    s.issueAt('bad_version', ['version'], `unsupported recipe version ${JSON.stringify(value.version)} (this bert-run reads version 1)`, at(['version']));
  }

  const ext = value.extends;
  if (typeof ext !== 'string') return { value, locs: parsed.locs };
  const { extends: _drop, ...own } = value;
  void _drop;
  const target = resolve(dirname(file), ext);
  const chain = [...stack, file];
  if (chain.includes(target)) {
    s.issueAt('extends_cycle', ['extends'], `extends cycle: ${[...chain, target].map((f) => s.display(f)).join(' -> ')}`, at(['extends']));
    return undefined;
  }
  const parent = loadChain(s, target, chain, at(['extends']), ['extends']);
  if (!parent) return undefined;
  const replaced: string[] = [];
  const merged = deepMerge(parent.value, own, [], replaced);
  const locs: Locations = { values: new Map(parent.locs.values), keys: new Map(parent.locs.keys) };
  parsed.locs.values.delete('/extends');
  parsed.locs.keys.delete('/extends');
  overlay(locs, parsed.locs, replaced);
  return { value: merged, locs };
}

/** `a.b[1].c` or `a.b.1.c` -> ['a', 'b', 1, 'c']. */
function parseSetPath(text: string): PathSeg[] | undefined {
  const out: PathSeg[] = [];
  for (const part of text.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m || (m[1] === '' && m[2] === '') || FORBIDDEN_KEYS.has(m[1]!)) return undefined;
    if (m[1] !== '') out.push(/^\d+$/.test(m[1]!) ? Number(m[1]) : m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out.length > 0 ? out : undefined;
}

function schemaTypes(s: SchemaNode): string[] {
  const types: string[] = [];
  if (s.type) types.push(s.type === 'integer' ? 'number' : s.type);
  for (const v of [...(s.enum ?? []), ...(s.const !== undefined ? [s.const] : [])]) types.push(typeof v);
  return types;
}

/** The value of `--set path=raw`, typed by the schema at path: strings stay strings, the rest is read as YAML. */
function typedSetValue(path: Path, raw: string): unknown {
  const allowed = new Set(schemasAt(path).flatMap(schemaTypes));
  if (allowed.size === 1 && allowed.has('string')) return raw;
  let v: unknown;
  try {
    v = parseYamlValue(raw, { schema: 'core', merge: false });
  } catch {
    return raw;
  }
  const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v;
  if (allowed.size > 0 && !allowed.has(kind) && allowed.has('string')) return raw;
  return v;
}

function dropVariants(s: Session, node: Record<string, unknown>, path: Path, key: string): void {
  for (const k of otherVariants(path, [key])) {
    if (!has(node, k)) continue;
    delete node[k];
    const q = pointer([...path, k]);
    for (const map of [s.locs.values, s.locs.keys]) for (const m of [...map.keys()]) if (m === q || m.startsWith(q + '/')) map.delete(m);
  }
}

/** A --set may replace a list item or append one right after the last; anything further is a typo. */
function indexFits(s: Session, list: unknown[], path: Path, loc: SourceLoc): boolean {
  const index = path[path.length - 1];
  if (typeof index !== 'number') {
    s.issueAt('bad_set', path.slice(0, -1), `is a list; index it with [n]`, loc);
    return false;
  }
  if (index <= list.length) return true;
  s.issueAt('bad_set', path, `index ${index} is out of range: ${dotted(path.slice(0, -1))} has ${list.length} item${list.length === 1 ? '' : 's'} (use [0] to [${list.length}])`, loc);
  return false;
}

function applySet(s: Session, root: unknown, path: PathSeg[], value: unknown, loc: SourceLoc): unknown {
  const top: unknown = isObject(root) ? root : {};
  let node = top as Record<string, unknown> | unknown[];
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i]!;
    const nextIsIndex = typeof path[i + 1] === 'number';
    if (!Array.isArray(node)) dropVariants(s, node, path.slice(0, i), String(seg));
    if (Array.isArray(node) && !indexFits(s, node, path.slice(0, i + 1), loc)) return top;
    const child = Array.isArray(node) ? node[Number(seg)] : has(node, String(seg)) ? node[String(seg)] : undefined;
    if (child === undefined || child === null) {
      const created: Record<string, unknown> | unknown[] = nextIsIndex ? [] : {};
      if (Array.isArray(node)) node[Number(seg)] = created;
      else setOwn(node, String(seg), created);
      // A key the flag created is blamed on the flag (an unknown one names the --set, not the file).
      const q = pointer(path.slice(0, i + 1));
      s.locs.values.set(q, loc);
      s.locs.keys.set(q, loc);
      node = created;
    } else if (typeof child === 'object') {
      node = child as Record<string, unknown> | unknown[];
    } else {
      s.issueAt('bad_set', path.slice(0, i + 1), `is ${JSON.stringify(child)}, not a mapping or list, so ${dotted(path)} cannot be set`, loc);
      return top;
    }
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(node)) {
    if (typeof last !== 'number') {
      s.issueAt('bad_set', path.slice(0, -1), `is a list; index it with [n]`, loc);
      return top;
    }
    if (!indexFits(s, node, path, loc)) return top;
    node[last] = value;
  } else {
    setOwn(node, String(last), value);
    dropVariants(s, node, path.slice(0, -1), String(last));
  }
  const p = pointer(path);
  for (const map of [s.locs.values, s.locs.keys]) for (const k of [...map.keys()]) if (k === p || k.startsWith(p + '/')) map.delete(k);
  s.locs.values.set(p, loc);
  s.locs.keys.set(p, loc);
  return top;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}

function typeName(t: string): string {
  return t === 'object' ? 'a mapping' : t === 'array' ? 'a list' : t === 'integer' ? 'an integer' : t === 'number' ? 'a number' : t === 'boolean' ? 'true or false' : t === 'string' ? 'a string' : t;
}

/** ajv instancePath (`/model/graph/1/repeat`) -> path segments, numbers where the data has lists. */
function instancePath(p: string, data: unknown): PathSeg[] {
  if (p === '') return [];
  const out: PathSeg[] = [];
  let node = data;
  for (const raw of p.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key: PathSeg = Array.isArray(node) ? Number(seg) : seg;
    out.push(key);
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[String(key)] : undefined;
  }
  return out;
}

function schemaIssues(s: Session, errors: readonly ErrorObject[], data: unknown): void {
  const composite = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  const inBranch = (e: ErrorObject, c: ErrorObject): boolean => e !== c && e.instancePath === c.instancePath && e.schemaPath.startsWith(c.schemaPath + '/');
  const handled = new Set<ErrorObject>();
  for (const c of composite) {
    const branchErrors = errors.filter((e) => inBranch(e, c));
    branchErrors.forEach((e) => handled.add(e));
    if (c.keyword === 'anyOf') {
      // A branch that got the type right explains the failure best (e.g. an integer out of range).
      const byBranch = new Map<string, ErrorObject[]>();
      for (const e of branchErrors) {
        const b = e.schemaPath.slice(c.schemaPath.length + 1).split('/')[0]!;
        byBranch.set(b, [...(byBranch.get(b) ?? []), e]);
      }
      const typed = [...byBranch.values()].filter((es) => !es.some((e) => e.keyword === 'type' || e.keyword === 'const'));
      if (typed.length === 1) {
        typed[0]!.forEach((e) => handled.delete(e));
        handled.add(c);
      }
    }
  }
  for (const e of errors) {
    if (handled.has(e)) continue;
    const path = instancePath(e.instancePath, data);
    const p = e.params as Record<string, unknown>;
    const got = show(e.data);
    const at = s.valueLoc(path);
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String(p.additionalProperty);
        const allowed = Object.keys(deref(e.parentSchema as SchemaNode)?.properties ?? {});
        const near = nearest(key, allowed);
        const hint = near ? ` (did you mean '${near}'?)` : allowed.length ? ` (allowed: ${allowed.join(', ')})` : '';
        s.issueAt('unknown_key', [...path, key], `unknown key${hint}`, s.keyLoc([...path, key]));
        break;
      }
      case 'required':
        s.issueAt('missing_key', [...path, String(p.missingProperty)], 'required key missing', at);
        break;
      case 'dependentRequired':
        s.issueAt('missing_key', [...path, String(p.missingProperty)], `required key missing (${String(p.property)} needs ${String(p.missingProperty)})`, at);
        break;
      case 'type': {
        const hint = e.data === null && p.type === 'object' ? '; write {} for an empty mapping' : '';
        s.issueAt('wrong_type', path, `must be ${typeName(String(p.type))} (got ${got}${hint})`, at);
        break;
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const op = { minimum: '≥', maximum: '≤', exclusiveMinimum: '>', exclusiveMaximum: '<' }[e.keyword];
        s.issueAt('out_of_range', path, `must be ${op} ${String(p.limit)} (got ${got})`, at);
        break;
      }
      case 'minItems':
      case 'maxItems':
      case 'items': {
        const n = Array.isArray(e.data) ? e.data.length : 0;
        const what = e.keyword === 'minItems' ? 'at least' : 'at most';
        s.issueAt('out_of_range', path, `must have ${what} ${String(p.limit)} items (got ${n})`, at);
        break;
      }
      case 'minLength':
      case 'maxLength':
        s.issueAt('out_of_range', path, e.keyword === 'minLength' && p.limit === 1 ? 'must not be empty' : `must have ${e.keyword === 'minLength' ? 'at least' : 'at most'} ${String(p.limit)} characters`, at);
        break;
      case 'enum': {
        const allowed = (p.allowedValues as unknown[]).map(String);
        const near = typeof e.data === 'string' ? nearest(e.data, allowed) : undefined;
        s.issueAt('bad_value', path, `must be one of ${allowed.join(', ')} (got ${got}${near ? `; did you mean '${near}'?` : ''})`, at);
        break;
      }
      case 'const':
        s.issueAt('bad_value', path, `must be ${JSON.stringify(p.allowedValue)} (got ${got})`, at);
        break;
      case 'pattern':
        s.issueAt('bad_value', path, `must match ${String(p.pattern)} (got ${got})`, at);
        break;
      case 'oneOf': {
        const options = ((e.parentSchema as SchemaNode).oneOf ?? []).map((b) => b.required?.[0] ?? '?');
        const present = isObject(e.data) ? options.filter((k) => has(e.data as Record<string, unknown>, k)) : [];
        s.issueAt('one_of', path, `needs exactly one of ${options.join(', ')} (found ${present.length ? present.join(', ') : 'none'})`, at);
        break;
      }
      case 'anyOf': {
        const options = ((e.parentSchema as SchemaNode).anyOf ?? []).map((b) => (b.const !== undefined ? JSON.stringify(b.const) : typeName(String(b.type))));
        s.issueAt('wrong_type', path, `must be ${options.join(' or ')} (got ${got})`, at);
        break;
      }
      default:
        s.issueAt('bad_value', path, `${e.message ?? 'is invalid'} (got ${got})`, at);
    }
  }
}

/** Loads, merges, overrides, validates and resolves a recipe; throws RecipeError (exit 2) listing every problem. */
export async function loadRecipe(path: string, options: LoadOptions = {}): Promise<LoadedRecipe> {
  const cwd = options.cwd ?? process.cwd();
  const file = resolve(cwd, path);
  const s = new Session(cwd, file);
  const layer = loadChain(s, file, [], undefined, []);
  if (!layer) return s.fail();
  let data = layer.value;
  for (const [map, src] of [[s.locs.values, layer.locs.values], [s.locs.keys, layer.locs.keys]] as const) for (const [k, v] of src) map.set(k, v);

  const overrides: { path: PathSeg[]; raw: string; flag: string; typed?: unknown }[] = [];
  for (const text of options.sets ?? []) {
    const flag = `--set ${text}`;
    const eq = text.indexOf('=');
    const segs = eq > 0 ? parseSetPath(text.slice(0, eq)) : undefined;
    if (!segs) {
      const forbidden = eq > 0 ? text.slice(0, eq).split(/[.[\]]/).find((k) => FORBIDDEN_KEYS.has(k)) : undefined;
      const message = forbidden ? `the key ${forbidden} is not allowed in recipes` : `expected --set path.to.key=value (e.g. --set model.hidden=256)`;
      s.issueAt(forbidden ? 'forbidden_key' : 'bad_set', [], message, { file: '--set', set: flag });
      continue;
    }
    overrides.push({ path: segs, raw: text.slice(eq + 1), flag });
  }
  if (options.steps !== undefined) overrides.push({ path: ['schedule', 'steps'], raw: '', typed: options.steps, flag: `--steps ${options.steps}` });
  if (options.out !== undefined) overrides.push({ path: ['runtime', 'out'], raw: '', typed: options.out, flag: `--out ${options.out}` });
  for (const o of overrides) {
    // List indexes written as `.1.` become numbers only where the data (or schema) has a list.
    const value = 'typed' in o && o.typed !== undefined ? o.typed : typedSetValue(o.path, o.raw);
    data = applySet(s, data, o.path, value, { file: '--set', set: o.flag });
  }
  if (s.issues.length > 0) s.fail();

  // Schema: defaults filled in place on a copy, every violation reported.
  const work = structuredClone(data);
  const validate = recipeValidator();
  if (!validate(work)) {
    schemaIssues(s, validate.errors ?? [], work);
    s.fail();
  }
  const recipe = work as Recipe;

  const warnings = fitScheduleToFlagSteps(s, recipe);
  const blame = (b: Blame): void => s.issueAt(b.code, b.path, b.message, b.key ? s.keyLoc(b.path) : s.valueLoc(b.path));
  crossFieldChecks(recipe).forEach(blame);
  const inputIssues = resolveFiles(recipe, (p) => {
    const loc = s.valueLoc(p);
    return loc && loc.file !== '--set' ? dirname(loc.file) : cwd;
  });
  if (options.checkInputFiles ?? true) inputIssues.forEach(blame);
  if (s.issues.length > 0) s.fail();

  delete recipe.extends;
  recipe.runtime.out = recipe.runtime.out.replace(/\{name\}/g, recipe.name);
  const ordered = orderBySchema(recipe) as Recipe;
  const text = `# Resolved from ${s.display(file)}: extends merged, overrides and schema defaults applied.\n${stringify(ordered, { lineWidth: 0 })}`;
  return { recipe: ordered, file, text, warnings };
}

/**
 * A quick run (`--steps 20` on a recipe planned for a million steps) should just work: when a flag
 * set schedule.steps, warmup and sequence-length phases that reach past it are shortened to fit,
 * with one warning line each. Written in the recipe files, the same mismatch stays an error.
 */
function fitScheduleToFlagSteps(s: Session, r: Recipe): string[] {
  const stepsLoc = s.valueLoc(['schedule', 'steps']);
  if (stepsLoc?.file !== '--set') return [];
  const byFlag = (p: Path): boolean => s.valueLoc(p)?.file === '--set';
  const steps = r.schedule.steps;
  const warnings: string[] = [];
  const lr = r.schedule.lr;
  if (lr.warmup_steps > steps && lr.warmup_ratio === undefined && !byFlag(['schedule', 'lr', 'warmup_steps'])) {
    warnings.push(`${stepsLoc.set}: schedule.lr.warmup_steps ${lr.warmup_steps} clamped to ${steps}, the steps of this run`);
    lr.warmup_steps = steps;
  }
  const phases = r.schedule.phases;
  const past = phases.findIndex((ph) => ph.until_step >= steps);
  if (past >= 0 && !byFlag(['schedule', 'phases']) && phases.slice(past).some((ph) => ph.until_step > steps)) {
    const dropped = phases.length - past - 1;
    warnings.push(
      `${stepsLoc.set}: schedule.phases[${past}] now ends at step ${steps} (was ${phases[past]!.until_step})` +
        (dropped > 0 ? `; ${dropped} later phase${dropped === 1 ? '' : 's'} dropped` : ''),
    );
    phases[past]!.until_step = steps;
    phases.length = past + 1;
  }
  return warnings;
}
