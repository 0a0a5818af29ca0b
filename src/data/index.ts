// The data layer's public API: raw text → documents → tokens → pretraining instances → fixed-shape
// batches. No GPU code. Plain option objects only (the runner maps the recipe onto them).
//
//   readCorpus(spec, baseDir, { maxDocuments }): Corpus
//       AsyncIterable<Document> (Document = string[] of sentences), plus files, name and
//       contentHash(): Promise<string> for cache keys. Formats: { source: 'sotu' } |
//       { files: globs, format: 'lines' | 'paragraphs' | 'jsonl', textField }.
//   class BertTokenizer
//       vocab, tokenToId, lowercase, stripAccents, maxCharsPerWord, specials {pad, unk, cls, sep, mask}
//       tokenize(text): string[]; encode(text): number[]; decode(ids): string; words(text)
//       static fromVocabFile(path, opts); static fromTokenizerJson(path, opts?)
//       saveVocab(path); saveTokenizerJson(path)  (Hugging Face tokenizers reads both)
//   trainWordPiece(documents, { vocabSize, minFrequency, lowercase, maxCharsPerWord }): BertTokenizer
//   openPretrainingData(options): Promise<PretrainingData>
//       { tokenizer, train: BatchSource, holdout: BatchSource | null, stats, close() }
//   BatchSource.next(batchSize, seqLen, maxPredictions): Batch   (fixed shapes, see Batch)
//       state() / restore(state) for exact resume; reset(); prepare(seqLen, maxPredictions)
export * from './basic-tokenizer.js';
export * from './batches.js';
export * from './cache-file.js';
export * from './corpus.js';
export * from '../glob.js';
export * from './instance-set.js';
export * from './instances.js';
export * from './labelled.js';
export * from './classification-batches.js';
export * from './pretraining-data.js';
export * from './rng.js';
export * from './sentences.js';
export * from './token-store.js';
export * from './tokenizer.js';
export * from './train-wordpiece.js';
export * from './unicode.js';
