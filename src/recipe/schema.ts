// The recipe schema (schemas/recipe.schema.json) loaded once, its ajv validator, and small walks
// over it: the subschemas at a path (to type `--set` values) and schema key order (to print the
// resolved recipe in the order the schema documents it). No defaults or rules are written here.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import type { Path } from './yaml-source.js';

// ajv's CJS default export under NodeNext.
const Ajv2020 = Ajv2020Module as unknown as typeof Ajv2020Module.default;

export type SchemaNode = {
  $ref?: string;
  type?: string;
  properties?: Record<string, SchemaNode | boolean>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode | boolean;
  prefixItems?: SchemaNode[];
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  required?: string[];
  description?: string;
  [k: string]: unknown;
};

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      const up = dirname(dir);
      if (up === dir) throw new Error('recipe: package.json not found above ' + fileURLToPath(import.meta.url));
      dir = up;
    }
  }
}

export const schemaFile = join(packageRoot(), 'schemas/recipe.schema.json');
let cachedSchema: SchemaNode | undefined;
let cachedValidate: ValidateFunction | undefined;

export function recipeSchema(): SchemaNode {
  cachedSchema ??= JSON.parse(readFileSync(schemaFile, 'utf8')) as SchemaNode;
  return cachedSchema;
}

/** ajv 2020-12, strict, all errors, defaults filled in place; verbose for "did you mean" hints. */
export function recipeValidator(): ValidateFunction {
  cachedValidate ??= new Ajv2020({ strict: true, allErrors: true, useDefaults: true, verbose: true }).compile(recipeSchema());
  return cachedValidate;
}

export function deref(s: SchemaNode | boolean | undefined): SchemaNode | undefined {
  if (s === undefined || typeof s === 'boolean') return undefined;
  if (s.$ref) {
    const name = s.$ref.replace('#/$defs/', '');
    const target = (recipeSchema().$defs as Record<string, SchemaNode>)[name];
    return target ? { ...target, ...s, $ref: undefined } : undefined;
  }
  return s;
}

/** The schema branches a node may take (anyOf flattened). */
function branches(s: SchemaNode | undefined): SchemaNode[] {
  if (!s) return [];
  if (s.anyOf) return s.anyOf.flatMap((b) => branches(deref(b)));
  return [s];
}

/** Every subschema that may describe the value at `path` (empty when the path is not in the schema). */
export function schemasAt(path: Path): SchemaNode[] {
  let current = branches(recipeSchema());
  for (const seg of path) {
    const next: SchemaNode[] = [];
    for (const s of current) {
      const index = typeof seg === 'number' ? seg : /^\d+$/.test(seg) ? Number(seg) : undefined;
      if (s.type === 'array' && index !== undefined) {
        const child = s.prefixItems?.[index] ?? s.items;
        next.push(...branches(deref(child)));
      } else if (s.type === 'object' && typeof seg === 'string') {
        const child = s.properties?.[seg] ?? s.additionalProperties;
        next.push(...branches(deref(child)));
      }
    }
    current = next;
  }
  return current;
}

/** Reorders object keys as the schema lists them (unknown keys last), recursively; copies. */
export function orderBySchema(value: unknown, path: Path = []): unknown {
  if (Array.isArray(value)) return value.map((v, i) => orderBySchema(v, [...path, i]));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const order = schemasAt(path).flatMap((s) => Object.keys(s.properties ?? {}));
  const keys = [...order.filter((k) => k in obj), ...Object.keys(obj).filter((k) => !order.includes(k))];
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = orderBySchema(obj[k], [...path, k]);
  return out;
}

/**
 * The schema's default at a dotted path: the one source of defaults, also for library callers
 * (the data layer) that leave a recipe-backed option out.
 */
export function recipeDefault<T>(path: string): T {
  const found = schemasAt(path.split('.')).map((s) => (s as { default?: unknown }).default).find((d) => d !== undefined);
  if (found === undefined) throw new Error(`recipe schema: no default at ${path}`);
  return structuredClone(found) as T;
}
