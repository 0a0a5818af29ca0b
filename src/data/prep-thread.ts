// A data-preparation worker thread (prep-pool.ts): runs each batch or whole file it is sent and
// posts the result back (typed arrays transferred, not copied).
import { parentPort, workerData } from 'node:worker_threads';
import type { Document } from './corpus.js';
import { prepWorker, type FileJob, type PrepResult, type PrepSetup } from './prep-jobs.js';
import type { RecordJob } from './instance-set.js';

const worker = prepWorker(workerData as PrepSetup);

function transferables(r: PrepResult): ArrayBuffer[] {
  if ('randomNext' in r) return [r.bytes.buffer as ArrayBuffer];
  if ('ids' in r) return [r.docSentences.buffer, r.sentenceLengths.buffer, r.ids.buffer] as ArrayBuffer[];
  if ('segment' in r) return [r.offsets.buffer as ArrayBuffer];
  return [r.counts.buffer as ArrayBuffer];
}

parentPort!.on('message', (m: { id: number; docs?: Document[]; file?: FileJob; records?: RecordJob }) => {
  const run = async (): Promise<PrepResult> => (m.records ? worker.runRecords(m.records) : m.file ? worker.runFile(m.file) : worker.run(m.docs!));
  run().then(
    (result) => parentPort!.postMessage({ id: m.id, result }, transferables(result)),
    (e: Error & { code?: string; exitCode?: number; hint?: string }) => parentPort!.postMessage({ id: m.id, error: e.message, code: e.code, exitCode: e.exitCode }),
  );
});
