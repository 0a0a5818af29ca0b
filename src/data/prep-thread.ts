// A data-preparation worker thread (prep-pool.ts): runs each batch it is sent and posts the result
// back (typed arrays transferred, not copied).
import { parentPort, workerData } from 'node:worker_threads';
import type { Document } from './corpus.js';
import { prepWorker, type PrepSetup } from './prep-jobs.js';

const worker = prepWorker(workerData as PrepSetup);
parentPort!.on('message', (m: { id: number; docs: Document[] }) => {
  try {
    const result = worker.run(m.docs);
    const transfer = 'ids' in result ? [result.docSentences.buffer, result.sentenceLengths.buffer, result.ids.buffer] : [result.counts.buffer];
    parentPort!.postMessage({ id: m.id, result }, transfer as ArrayBuffer[]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
