// Reading a test corpus whole, and the one-line error a bad one must give (the corpus tests).
import * as assert from 'uvu/assert';
import { readCorpus, type CorpusSpec, type Document } from '../../src/data/index.js';
import { UserError } from '../../src/errors.js';

/** Readers over the corpus files in `dir`: every document, or the message of the error reading throws. */
export function corpusReaders(dir: string): { all: (spec: CorpusSpec, maxDocuments?: number) => Promise<Document[]>; error: (spec: CorpusSpec) => Promise<string> } {
  const all = async (spec: CorpusSpec, maxDocuments?: number): Promise<Document[]> => {
    const out: Document[] = [];
    for await (const d of readCorpus(spec, dir, { maxDocuments })) out.push(d);
    return out;
  };
  const error = async (spec: CorpusSpec): Promise<string> => {
    try {
      await all(spec);
    } catch (e) {
      assert.instance(e, UserError);
      assert.not.match((e as Error).message, /\n/);
      return (e as Error).message;
    }
    return assert.unreachable('no error') as never;
  };
  return { all, error };
}
