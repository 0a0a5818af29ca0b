// Waiting for the device without taking a CPU core from it.
//
// Dawn's Node binding settles every pending promise (mapAsync, onSubmittedWorkDone, ...) by
// polling: while one is pending it calls wgpuInstanceProcessEvents from a callback that it
// re-queues with the global `setImmediate`, looked up again at each re-queue (AsyncRunner in
// dawn/node/binding). So a wait keeps the main thread at 100% of a core. On a CPU adapter that
// core is one that lavapipe's own worker threads would run the kernels on: a 2-core machine ran
// the same dispatch in 201–215 ms polled that way and in 157 ms with one poll per millisecond
// (docs/benchmarks.md, "The main thread's share of the cores").
//
// deviceWait, while at least one paced wait is pending, replaces the global setImmediate
// with a paced one: the first SPIN_MS of a wait still poll at once (short waits, e.g. a kernel
// test's readback, keep their latency), later polls come once per timer tick (1 ms), so a long
// wait costs at most about a millisecond of latency and almost no CPU. Other setImmediate
// users in the process meanwhile get their callbacks up to a tick later, which setImmediate
// allows. Nothing is paced on a GPU adapter, whose kernels do not run on the CPU.

import { promisify } from 'node:util';

/** How long a wait polls at once before polling once per timer tick. */
export const SPIN_MS = 2;

/**
 * How many times longer a timing sample should last where waits are paced: a paced wait costs
 * about 2 ms (SPIN_MS of polling that takes a core from the kernels, then an end seen up to a
 * tick late), so a sample of 1 launch of a 2.8 ms tiny.yaml product took 5.5–5.9 ms. Used by the
 * autotuner and bert-bench's kernel timing alike.
 */
export const PACED_SAMPLE_SCALE = 10;

type Immediate = (callback: (...args: unknown[]) => void, ...args: unknown[]) => unknown;
const host = globalThis as unknown as { setImmediate: Immediate };

// One process-wide state: the global is process-wide, and runtimes may wait concurrently.
const immediate: Immediate = host.setImmediate;
let pending = 0;
let since = 0;
const paced: Immediate = (callback, ...args) =>
  performance.now() - since < SPIN_MS ? immediate(callback, ...args) : setTimeout(callback, 1, ...args);
// util.promisify(setImmediate) called during a wait still gets Node's own promise form.
Object.defineProperty(paced, promisify.custom, { value: (immediate as unknown as Record<symbol, unknown>)[promisify.custom] });

/** Whether a paced wait is pending (the paced setImmediate is installed). */
export function pacingActive(): boolean {
  return pending > 0;
}

/**
 * Starts a Dawn operation and waits for its promise; paced when `pace` (a CPU adapter). `start`
 * must begin the operation (call mapAsync or onSubmittedWorkDone) so that its first poll is
 * already paced.
 */
export async function deviceWait<T>(pace: boolean, start: () => Promise<T>): Promise<T> {
  if (!pace) return start();
  if (pending++ === 0) {
    since = performance.now();
    host.setImmediate = paced;
  }
  try {
    return await start();
  } finally {
    if (--pending === 0) host.setImmediate = immediate;
  }
}
