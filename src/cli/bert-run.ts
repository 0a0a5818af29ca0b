// bert-run: dispatches to a subcommand (commands/index.ts). `bert-run <recipe.yaml>` is
// shorthand for `bert-run train <recipe.yaml>`.
import { commands } from './commands/index.js';
import { runMain } from './main.js';
import { nearest } from './args.js';
import { UserError } from '../errors.js';
import { versionLine } from '../package-root.js';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: bert-run <recipe.yaml> [flags]      train (same as `bert-run train`)',
    '       bert-run <command> [args] [flags]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `bert-run <command> --help` for its flags; `bert-run --version` prints the versions.',
  ].join('\n');
}

export async function bertRun(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    console.log(help());
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-V') {
    console.log(versionLine('bert-run'));
    return 0;
  }
  let command = commands.find((c) => c.name === first);
  let args = rest;
  if (!command && /\.ya?ml$/i.test(first)) {
    command = commands.find((c) => c.name === 'train');
    args = argv;
  }
  if (!command) {
    const near = nearest(first, commands.map((c) => c.name));
    throw new UserError(`unknown command '${first}'${near ? ` (did you mean '${near}'?)` : ''}; see bert-run --help`, 'bad_command', 2);
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  return command.run(args);
}

await runMain('bert-run', () => bertRun(process.argv.slice(2)));
