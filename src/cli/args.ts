// Minimal, strict flag parsing shared by the CLIs: `--flag value`, `--flag=value`, boolean
// flags, repeatable flags, positionals. Unknown flags are a UserError naming the nearest one.
import { UserError } from '../errors.js';
import { nearest } from '../suggest.js';

export { nearest };

export interface FlagSpec {
  /** 'boolean' takes no value; 'string' takes one; 'list' may repeat. */
  [name: string]: 'boolean' | 'string' | 'list';
}

export interface ParsedArgs {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseArgs(argv: string[], spec: FlagSpec, command: string): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) {
      const near = nearest(name, Object.keys(spec));
      throw new UserError(`${command}: unknown flag --${name}${near ? ` (did you mean --${near}?)` : ''}`, 'bad_flag', 2);
    }
    if (kind === 'boolean') {
      if (eq >= 0) throw new UserError(`${command}: --${name} takes no value`, 'bad_flag', 2);
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UserError(`${command}: --${name} needs a value`, 'bad_flag', 2);
      i++;
    }
    if (kind === 'list') flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    else flags[name] = value;
  }
  return { flags, positionals };
}

/** Parses a flag as a positive integer (or zero when allowZero), or throws a one-line error. */
export function intFlag(value: unknown, name: string, command: string, allowZero = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    throw new UserError(`${command}: --${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer (got ${String(value)})`, 'bad_flag', 2);
  }
  return n;
}
