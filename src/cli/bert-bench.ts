// bert-bench: runs benchmark suites (bench/suites.ts) and prints a table, or JSON lines.
import { suites } from '../../bench/suites.js';
import { rowPrinter } from '../../bench/output.js';
import { parseArgs, nearest } from './args.js';
import { runMain } from './main.js';
import { UserError } from '../errors.js';

const USAGE = `usage: bert-bench [suite...] [--recipe r.yaml] [--json] [--quick] [--variant kernel=name]

suites:
${suites.map((s) => `  ${s.name.padEnd(10)} ${s.summary}`).join('\n')}

With no suite, all run. --quick uses small shapes (smoke test); --json prints one object per line.`;

export async function bertBench(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { recipe: 'string', json: 'boolean', quick: 'boolean', variant: 'list', help: 'boolean' }, 'bert-bench');
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const chosen = positionals.length === 0 ? [...suites] : positionals.map((name) => {
    const suite = suites.find((s) => s.name === name);
    if (!suite) {
      const near = nearest(name, suites.map((s) => s.name));
      throw new UserError(`unknown suite '${name}'${near ? ` (did you mean '${near}'?)` : ''}; suites: ${suites.map((s) => s.name).join(', ')}`, 'bad_suite', 2);
    }
    return suite;
  });
  const variants: Record<string, string> = {};
  for (const v of (flags.variant as string[] | undefined) ?? []) {
    const [kernel, name] = v.split('=');
    if (!kernel || !name) throw new UserError(`bert-bench: --variant wants kernel=name (got '${v}')`, 'bad_flag', 2);
    variants[kernel] = name;
  }
  const report = rowPrinter(Boolean(flags.json));
  for (const suite of chosen) {
    await suite.run({ quick: Boolean(flags.quick), recipe: flags.recipe as string | undefined, variants }, report);
  }
  return 0;
}

await runMain('bert-bench', () => bertBench(process.argv.slice(2)));
