// The shape of a bert-run subcommand. Each lives in its own file under commands/ and is listed
// in commands/index.ts; the dispatcher in bert-run.ts knows nothing else about them.

export interface Command {
  name: string;
  /** One line for `bert-run --help`. */
  summary: string;
  /** Usage text printed for `bert-run <name> --help`. */
  usage: string;
  /** Returns the process exit code. Throw UserError for bad input. */
  run(argv: string[]): Promise<number>;
}
