// BertTokenizer: BERT basic tokenization + WordPiece greedy longest-match-first (google-research/bert
// FullTokenizer, Hugging Face BertWordPieceTokenizer), loading vocab.txt / tokenizer.json and saving
// both in the formats Hugging Face `tokenizers` reads. Training lives in train-wordpiece.ts.
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import { readRegularFile } from '../read-file.js';
import { normalizeText, splitWords } from './basic-tokenizer.js';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export interface TokenizerOptions {
  /** Lowercase (uncased models). Default true. */
  lowercase?: boolean;
  /** Strip accents; defaults to `lowercase` like Google and HF (strip_accents: null). */
  stripAccents?: boolean;
  /** Words longer than this (in code points) become [UNK]. Default 100 (HF; Google uses 200). */
  maxCharsPerWord?: number;
}

export interface SpecialIds {
  pad: number;
  unk: number;
  cls: number;
  sep: number;
  mask: number;
}

const CACHE_LIMIT = 200_000;

export class BertTokenizer {
  readonly vocab: string[];
  readonly tokenToId: Map<string, number>;
  readonly lowercase: boolean;
  readonly stripAccents: boolean;
  readonly maxCharsPerWord: number;
  readonly specials: SpecialIds;
  /** 1 where the token is a `##` continuation piece (whole-word masking). */
  readonly isContinuation: Uint8Array;
  private cache = new Map<string, number[]>();

  constructor(vocab: string[], opts: TokenizerOptions = {}, source = 'vocabulary') {
    this.vocab = vocab;
    this.tokenToId = new Map();
    vocab.forEach((t, i) => {
      if (!this.tokenToId.has(t)) this.tokenToId.set(t, i);
    });
    this.lowercase = opts.lowercase ?? true;
    this.stripAccents = opts.stripAccents ?? this.lowercase;
    this.maxCharsPerWord = opts.maxCharsPerWord ?? 100;
    const id = (t: string): number => {
      const i = this.tokenToId.get(t);
      if (i === undefined) throw new UserError(`${source}: missing special token ${t}`, 'bad_vocab');
      return i;
    };
    this.specials = { pad: id('[PAD]'), unk: id('[UNK]'), cls: id('[CLS]'), sep: id('[SEP]'), mask: id('[MASK]') };
    this.isContinuation = new Uint8Array(vocab.length);
    vocab.forEach((t, i) => {
      if (t.startsWith('##')) this.isContinuation[i] = 1;
    });
  }

  get size(): number {
    return this.vocab.length;
  }

  /** WordPiece of one basic-tokenized word, appended to `out` as ids. */
  wordIds(word: string, out: number[]): void {
    const cached = this.cache.get(word);
    if (cached) {
      for (const id of cached) out.push(id);
      return;
    }
    const ids = this.wordPiece(word);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    for (const id of ids) out.push(id);
  }

  private wordPiece(word: string): number[] {
    const n = word.length;
    // Google and HF count characters (code points), not UTF-16 units.
    if (n > this.maxCharsPerWord && codePointLength(word) > this.maxCharsPerWord) return [this.specials.unk];
    const ids: number[] = [];
    let start = 0;
    while (start < n) {
      let end = n;
      let found = -1;
      while (start < end) {
        const c = word.charCodeAt(end - 1);
        // Never cut a surrogate pair: such a piece cannot be in any vocabulary.
        if (c >= 0xd800 && c <= 0xdbff) {
          end--;
          continue;
        }
        const sub = start > 0 ? '##' + word.slice(start, end) : word.slice(start, end);
        const id = this.tokenToId.get(sub);
        if (id !== undefined) {
          found = id;
          break;
        }
        end--;
      }
      if (found < 0) return [this.specials.unk];
      ids.push(found);
      start = end;
    }
    return ids;
  }

  /** Basic-tokenized words of `text` (normalized, split on whitespace/punctuation/CJK). */
  words(text: string): string[] {
    const out: string[] = [];
    splitWords(normalizeText(text, this), (w) => out.push(w));
    return out;
  }

  /** Token ids of `text`, without [CLS]/[SEP]. */
  encode(text: string): number[] {
    const out: number[] = [];
    splitWords(normalizeText(text, this), (w) => this.wordIds(w, out));
    return out;
  }

  /** WordPiece tokens of `text` (strings), without [CLS]/[SEP]. */
  tokenize(text: string): string[] {
    return this.encode(text).map((i) => this.vocab[i]!);
  }

  /** Ids of `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]` and their token types (the template). */
  encodeWithSpecials(a: string, b?: string): { ids: number[]; typeIds: number[] } {
    const ia = this.encode(a);
    const ids = [this.specials.cls, ...ia, this.specials.sep];
    const typeIds = ids.map(() => 0);
    if (b !== undefined) {
      const ib = this.encode(b);
      ids.push(...ib, this.specials.sep);
      for (let i = 0; i <= ib.length; i++) typeIds.push(1);
    }
    return { ids, typeIds };
  }

  /** Text from ids like HF's WordPiece decoder (joins `##` pieces, cleans up spaces); skips [PAD]. */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (id === this.specials.pad) continue;
      const t = this.vocab[id] ?? '[UNK]';
      if (t.startsWith('##') && s.length > 0) s += t.slice(2);
      else s += (s.length > 0 ? ' ' : '') + t;
    }
    return s
      .replace(/ \./g, '.')
      .replace(/ \?/g, '?')
      .replace(/ !/g, '!')
      .replace(/ ,/g, ',')
      .replace(/ ' /g, "'")
      .replace(/ n't/g, "n't")
      .replace(/ 'm/g, "'m")
      .replace(/ 's/g, "'s")
      .replace(/ 've/g, "'ve")
      .replace(/ 're/g, "'re");
  }

  /** A hash of everything that changes tokenization (for cache keys). */
  fingerprint(): string {
    const h = createHash('sha256');
    h.update(JSON.stringify({ l: this.lowercase, s: this.stripAccents, m: this.maxCharsPerWord }));
    for (const t of this.vocab) h.update(t + '\n');
    return h.digest('hex');
  }

  /** vocab.txt: one token per line, id = line number (Google and HF). */
  saveVocab(path: string): void {
    writeFileSync(path, this.vocab.join('\n') + '\n');
  }

  /** tokenizer.json as Hugging Face `tokenizers` writes it for BertWordPieceTokenizer. */
  toTokenizerJson(): object {
    const vocab: Record<string, number> = {};
    this.vocab.forEach((t, i) => {
      if (!(t in vocab)) vocab[t] = i;
    });
    const special = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
    const seq = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
    const specialsUsed = ['[CLS]', '[SEP]'] as const;
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: SPECIAL_TOKENS.map((t) => ({
        id: this.tokenToId.get(t)!,
        content: t,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })).sort((a, b) => a.id - b.id),
      normalizer: {
        type: 'BertNormalizer',
        clean_text: true,
        handle_chinese_chars: true,
        strip_accents: this.stripAccents === this.lowercase ? null : this.stripAccents,
        lowercase: this.lowercase,
      },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [special('[CLS]', 0), seq('A', 0), special('[SEP]', 0)],
        pair: [special('[CLS]', 0), seq('A', 0), special('[SEP]', 0), seq('B', 1), special('[SEP]', 1)],
        special_tokens: Object.fromEntries(
          specialsUsed.map((t) => [t, { id: t, ids: [this.tokenToId.get(t)!], tokens: [t] }]),
        ),
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        max_input_chars_per_word: this.maxCharsPerWord,
        vocab,
      },
    };
  }

  saveTokenizerJson(path: string): void {
    writeFileSync(path, JSON.stringify(this.toTokenizerJson(), null, 2) + '\n');
  }

  /** Loads vocab.txt (one token per line; surrounding whitespace stripped, as Google does). */
  static fromVocabFile(path: string, opts: TokenizerOptions = {}): BertTokenizer {
    const text = readTextFile(path);
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const vocab = lines.map((l) => l.trim());
    if (vocab.length === 0) throw new UserError(`${path}: empty vocabulary`, 'bad_vocab');
    return new BertTokenizer(vocab, opts, path);
  }

  /** Loads a Hugging Face tokenizer.json with a WordPiece model (BERT's). */
  static fromTokenizerJson(path: string, overrides: TokenizerOptions = {}): BertTokenizer {
    const text = readTextFile(path);
    let j: any;
    try {
      j = JSON.parse(text);
    } catch (e) {
      throw new UserError(`${path}: not valid JSON (${(e as Error).message})`, 'bad_tokenizer');
    }
    const model = j?.model;
    if (!model || model.type !== 'WordPiece' || typeof model.vocab !== 'object' || model.vocab === null) {
      throw new UserError(`${path}: not a WordPiece tokenizer.json (model.type is ${JSON.stringify(model?.type)})`, 'bad_tokenizer');
    }
    const entries = Object.entries(model.vocab as Record<string, number>);
    const vocab: string[] = new Array(entries.length);
    for (const [t, i] of entries) {
      if (!Number.isInteger(i) || i < 0 || i >= entries.length || vocab[i] !== undefined) {
        throw new UserError(`${path}: model.vocab ids must be 0..${entries.length - 1} without gaps (token ${JSON.stringify(t)} has ${i})`, 'bad_tokenizer');
      }
      vocab[i] = t;
    }
    if (model.continuing_subword_prefix !== undefined && model.continuing_subword_prefix !== '##') {
      throw new UserError(`${path}: continuing_subword_prefix must be "##" (got ${JSON.stringify(model.continuing_subword_prefix)})`, 'bad_tokenizer');
    }
    const norm = j.normalizer;
    let lowercase = true;
    let stripAccents: boolean | undefined;
    if (norm && norm.type === 'BertNormalizer') {
      lowercase = norm.lowercase ?? true;
      if (typeof norm.strip_accents === 'boolean') stripAccents = norm.strip_accents;
    } else if (norm) {
      throw new UserError(`${path}: normalizer ${JSON.stringify(norm.type)} is not supported (BertNormalizer only)`, 'bad_tokenizer');
    }
    return new BertTokenizer(
      vocab,
      {
        lowercase: overrides.lowercase ?? lowercase,
        stripAccents: overrides.stripAccents ?? stripAccents,
        maxCharsPerWord: overrides.maxCharsPerWord ?? model.max_input_chars_per_word ?? 100,
      },
      path,
    );
  }
}

export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Reads a UTF-8 text file or throws a one-line UserError naming it. */
export function readTextFile(path: string): string {
  const buf = readRegularFile(path);
  if (buf.indexOf(0) >= 0) throw new UserError(`${path}: binary file (contains NUL bytes)`, 'bad_file');
  try {
    const t = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return t.charCodeAt(0) === 0xfeff ? t.slice(1) : t;
  } catch {
    throw new UserError(`${path}: not valid UTF-8`, 'bad_file');
  }
}
