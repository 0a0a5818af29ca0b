// Runs data-preparation batches (prep-jobs.ts) on worker threads and hands back the results in
// submission order, so parallel preparation is deterministic; with one worker it runs in this
// thread (no thread, same code). At most 2 batches per worker are in flight: memory stays bounded
// by the batch size, whatever the corpus size.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Document } from './corpus.js';
import { prepWorker, type FileJob, type PrepResult, type PrepSetup, type PrepWorker } from './prep-jobs.js';
import type { RecordBlock, RecordJob } from './instance-set.js';
import { UserError } from '../errors.js';

/** Documents grouped into batches of about `chars` characters (the unit of work handed out). */
export async function* documentBatches(docs: AsyncIterable<Document>, chars = 1 << 18): AsyncGenerator<Document[]> {
  let batch: Document[] = [];
  let size = 0;
  for await (const d of docs) {
    batch.push(d);
    for (const s of d) size += s.length;
    if (size >= chars) {
      yield batch;
      batch = [];
      size = 0;
    }
  }
  if (batch.length) yield batch;
}

/** data.workers: 0 = one per CPU core. */
export function workerCount(setting: number | undefined): number {
  return setting && setting > 0 ? setting : availableParallelism();
}

type Message = { docs: Document[] } | { file: FileJob } | { records: RecordJob };

interface Pending {
  resolve: (r: PrepResult) => void;
  reject: (e: Error) => void;
}

export class PrepPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(
    private readonly setup: PrepSetup,
    readonly size: number,
  ) {
    if (size <= 1) return;
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./prep-thread.js', import.meta.url), { workerData: setup });
      w.on('message', (m: { id: number; result?: PrepResult; error?: string; code?: string; exitCode?: number }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        // A corpus error in a worker (bad shard) stays the one-line UserError it was.
        if (m.error !== undefined) p.reject(m.code ? new UserError(m.error, m.code, m.exitCode ?? 1) : new Error(m.error));
        else p.resolve(m.result!);
      });
      w.on('error', (e) => this.fail(e));
      this.workers.push(w);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private submit(message: Message, worker: number): Promise<PrepResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const result = new Promise<PrepResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[worker]!.postMessage({ id, ...message });
    });
    result.catch(() => {}); // awaited in order by run/runFiles; a consumer that stops early must not crash the process
    return result;
  }

  /**
   * Each job's result, in the jobs' order: in this thread without workers, else handed out round
   * robin with at most two jobs per worker in flight.
   */
  private async *inOrder<J>(jobs: Iterable<J> | AsyncIterable<J>, message: (job: J) => Message, local: (worker: PrepWorker, job: J) => PrepResult | Promise<PrepResult>): AsyncGenerator<PrepResult> {
    if (this.workers.length === 0) {
      const worker = prepWorker(this.setup);
      for await (const job of jobs) yield await local(worker, job);
      return;
    }
    const inFlight: Array<Promise<PrepResult>> = [];
    let k = 0;
    for await (const job of jobs) {
      inFlight.push(this.submit(message(job), k++ % this.workers.length));
      if (inFlight.length >= 2 * this.workers.length) yield await inFlight.shift()!;
    }
    while (inFlight.length) yield await inFlight.shift()!;
  }

  /** Whole files as jobs (one per corpus shard), results in the files' order. */
  runFiles(jobs: FileJob[]): AsyncGenerator<PrepResult> {
    return this.inOrder(jobs, (file) => ({ file }), (w, job) => w.runFile(job));
  }

  /** Instance record blocks of document ranges, in the jobs' order. */
  async *runRecords(jobs: RecordJob[]): AsyncGenerator<RecordBlock> {
    for await (const r of this.inOrder(jobs, (records) => ({ records }), (w, job) => w.runRecords(job))) yield r as RecordBlock;
  }

  /** The results of every batch, in the batches' order. */
  run(batches: AsyncIterable<Document[]>): AsyncGenerator<PrepResult> {
    return this.inOrder(batches, (docs) => ({ docs }), (w, docs) => w.run(docs));
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
