// bert-bench: runs benchmark suites (bench/suites.ts) and prints a table, or JSON lines.
import { suites } from '../../bench/suites.js';
import { rowPrinter } from '../../bench/output.js';
import { parseArgs, nearest } from './args.js';
import { runMain } from './main.js';
import { UserError } from '../errors.js';
import { versionLine } from '../package-root.js';
import { kernelVariantsFromEnv } from './env.js';

const USAGE = `usage: bert-bench [suite...] [--recipe r.yaml] [--micro-batch N] [--json] [--quick | --full] [--variant kernel=name] [--version]

suites:
${suites.map((s) => `  ${s.name.padEnd(10)} ${s.summary}`).join('\n')}

With no suite, all but ab run. --recipe sizes the kernels and step suites (default recipes/base.yaml; step
on a CPU adapter or with --quick: recipes/tiny.yaml), at the recipe's own micro-batch unless
--micro-batch says otherwise. Device peaks (FMA GFLOP/s, copy GB/s) are measured first; every
kernel row shows its % of the peak that bounds it. Each suite finishes in a few minutes on a
2-core CPU: a slow naive baseline is timed once; --full takes three samples of it too (the long
form). --quick uses small shapes (smoke test); --json prints one object per line. Progress notes go
to stderr.`;

export async function bertBench(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { recipe: 'string', 'micro-batch': 'string', json: 'boolean', quick: 'boolean', full: 'boolean', variant: 'list', help: 'boolean', version: 'boolean' }, 'bert-bench');
  if (flags.quick && flags.full) throw new UserError('bert-bench: --quick and --full exclude each other', 'bad_flag', 2);
  if (flags.version) {
    console.log(versionLine('bert-bench'));
    return 0;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const chosen = positionals.length === 0 ? suites.filter((s) => s.name !== 'ab') : positionals.map((name) => {
    const suite = suites.find((s) => s.name === name);
    if (!suite) {
      const near = nearest(name, suites.map((s) => s.name));
      throw new UserError(`unknown suite '${name}'${near ? ` (did you mean '${near}'?)` : ''}; suites: ${suites.map((s) => s.name).join(', ')}`, 'bad_suite', 2);
    }
    return suite;
  });
  // --variant flags over the environment's BERT_VARIANT_<KERNEL>.
  const variants: Record<string, string> = kernelVariantsFromEnv();
  for (const v of (flags.variant as string[] | undefined) ?? []) {
    const [kernel, name] = v.split('=');
    if (!kernel || !name) throw new UserError(`bert-bench: --variant wants kernel=name (got '${v}')`, 'bad_flag', 2);
    variants[kernel] = name;
  }
  let microBatch: number | undefined;
  if (flags['micro-batch'] !== undefined) {
    microBatch = Number(flags['micro-batch']);
    if (!Number.isInteger(microBatch) || microBatch < 1) throw new UserError(`bert-bench: --micro-batch wants an integer ≥ 1 (got '${String(flags['micro-batch'])}')`, 'bad_flag', 2);
  }
  const report = rowPrinter(Boolean(flags.json));
  const log = (line: string) => console.error(line);
  for (const suite of chosen) {
    await suite.run({ quick: Boolean(flags.quick), full: Boolean(flags.full), recipe: flags.recipe as string | undefined, variants, microBatch, log }, report);
  }
  return 0;
}

await runMain('bert-bench', () => bertBench(process.argv.slice(2)));
