// Runs the given compiled test files as one uvu session, then releases the GPU device
// (test/gpu.ts registers the hook) so that node can exit.
import { pathToFileURL } from 'node:url';
import { relative } from 'node:path';

globalThis.UVU_DEFER = 1;
const uvu = await import('uvu');
let index = 0;
for (const file of process.argv.slice(2)) {
  globalThis.UVU_INDEX = index++;
  globalThis.UVU_QUEUE.push([relative(process.cwd(), file)]);
  await import(pathToFileURL(file).href);
}
await uvu.exec(false);
for (const hook of globalThis.__bertTestCleanup ?? []) await hook();
process.exit(process.exitCode ?? 0);
