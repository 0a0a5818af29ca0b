// Shared process wrapper for the CLIs: runs a main function, prints UserErrors as one line
// (no stack trace) and sets the exit code. Unexpected errors keep their stack: they are bugs.
import { isUserError } from '../errors.js';
import { GpuError } from '../runtime/runtime.js';

export async function runMain(program: string, main: () => Promise<number>): Promise<void> {
  let code: number;
  try {
    code = await main();
  } catch (e) {
    if (isUserError(e)) {
      // Messages that already name the program (a top-level flag error) are not prefixed twice.
      process.stderr.write(e.line.startsWith(`${program}: `) ? `${e.line}\n` : `${program}: ${e.line}\n`);
      code = e.exitCode;
    } else if (e instanceof GpuError && e.kind !== 'validation') {
      // Running out of device memory or losing the device is the machine's limit, not a bug.
      const hint = e.kind === 'out-of-memory' ? '; lower schedule.micro_batch_size or the sequence length' : '; the GPU driver reset or the device was removed';
      process.stderr.write(`${program}: GPU ${e.message}${hint}\n`);
      code = 1;
    } else {
      process.stderr.write(`${program}: internal error (a bug; please report it)\n`);
      process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
      code = 70;
    }
  }
  // Dawn can keep handles alive; the work is done, so exit explicitly once output is flushed.
  process.stdout.write('', () => process.exit(code));
}
