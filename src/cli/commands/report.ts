// `bert-run report <run-dir> [<run-dir>...] [--out report.html] [--json]`: the run report page
// (src/report/html.ts) for one run or several overlaid; --json prints each run's final and best
// numbers instead of writing the page.
import { resolve } from 'node:path';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { UserError } from '../../errors.js';
import { readRun, summarize } from '../../report/run-data.js';
import { renderReport } from '../../report/html.js';
import { writeFileAtomic } from '../../train/checkpoint/safetensors.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'a self-contained HTML page of training curves, evaluations, plan and recipe (several runs overlaid)',
  usage: `usage: bert-run report <run-dir> [<run-dir>...] [--out report.html] [--json]

  --out FILE  where to write the page (default: <run-dir>/report.html for one run, ./report.html for several)
  --json      print the numbers the page shows (final and best values per run) instead of writing it
  Training writes <run-dir>/report.html itself at every evaluation and at the end.`,
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, { out: 'string', json: 'boolean' }, 'report');
    if (positionals.length === 0) throw new UserError('report: expected one or more run directories (see bert-run report --help)', 'bad_args', 2);
    const runs = positionals.map((dir) => readRun(dir));
    if (flags.json) {
      console.log(JSON.stringify(runs.map(summarize), null, 2));
      return 0;
    }
    const out = (flags.out as string | undefined) ?? (runs.length === 1 ? resolve(runs[0]!.dir, 'report.html') : resolve('report.html'));
    try {
      writeFileAtomic(out, [renderReport(runs)]);
    } catch (e) {
      throw new UserError(`${out}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'bad_output', 1);
    }
    console.log(out);
    return 0;
  },
};
