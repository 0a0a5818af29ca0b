// One GPU device per test process, opened on first use and destroyed when the run ends
// (scripts/uvu-child.mjs calls the cleanup hooks). Without an adapter the GPU suites fail
// loudly: nothing passes silently (STYLE.md 16).
import { openGpu, type Gpu } from '../../src/runtime/device.js';
import { Runtime } from '../../src/runtime/runtime.js';

let opening: Promise<{ gpu: Gpu; runtime: Runtime }> | undefined;

type CleanupHooks = { __bertTestCleanup?: Array<() => void | Promise<void>> };

export function testGpu(): Promise<{ gpu: Gpu; runtime: Runtime }> {
  if (!opening) {
    opening = openGpu().then((gpu) => {
      const hooks = ((globalThis as CleanupHooks).__bertTestCleanup ??= []);
      hooks.push(() => gpu.destroy());
      return { gpu, runtime: new Runtime(gpu) };
    });
  }
  return opening;
}
