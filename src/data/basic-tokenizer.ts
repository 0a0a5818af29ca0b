// BERT's BasicTokenizer (google-research/bert tokenization.py; Hugging Face BertNormalizer +
// BertPreTokenizer): remove NUL, U+FFFD and control characters, map whitespace to spaces, put
// spaces around CJK ideographs, optionally lowercase and strip accents (NFD, drop Mn), then split
// on whitespace and on every punctuation character. Does no WordPiece and knows no vocabulary.
//
// Google applies lower()+strip_accents per whitespace token; doing it on the whole cleaned text is
// equivalent because neither step creates or removes whitespace, and punctuation splitting happens
// afterwards on the normalized text (so e.g. U+037E, whose NFD is ';', is split like Google does).
import { CJK, CONTROL, PUNCT, WS, charFlags, charTable } from './unicode.js';

export interface BasicTokenizerOptions {
  lowercase: boolean;
  /** Defaults to `lowercase` (Google, and HF's strip_accents: null). */
  stripAccents?: boolean;
}

// Control characters (category C, except \t \n \r), NUL and U+FFFD: removed.
const reRemove = /(?![\t\n\r])[\p{C}\ufffd]/gu;
const reNonAscii = /[^\x00-\x7f]/;
const reMn = /\p{Mn}/gu;

/** Normalizes text as BertNormalizer does (without the CJK spacing, which `splitWords` does). */
export function normalizeText(text: string, opts: BasicTokenizerOptions): string {
  reRemove.lastIndex = 0;
  let t = text.replace(reRemove, '');
  const strip = opts.stripAccents ?? opts.lowercase;
  if (opts.lowercase) t = t.toLowerCase();
  if (strip && reNonAscii.test(t)) t = t.normalize('NFD').replace(reMn, '');
  return t;
}

/**
 * Splits normalized text into words: whitespace separates, each punctuation character and each CJK
 * ideograph is its own word. Calls `emit(word)` per word (avoids building arrays in hot loops).
 */
export function splitWords(t: string, emit: (word: string) => void): void {
  const table = charTable();
  let start = -1;
  const n = t.length;
  for (let i = 0; i < n; i++) {
    let cp = t.charCodeAt(i);
    let width = 1;
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
      const lo = t.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = (cp - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000;
        width = 2;
      }
    }
    const f = cp < 65536 ? table[cp]! : charFlags(cp);
    if (f === 0) {
      if (start < 0) start = i;
    } else if (f & WS) {
      if (start >= 0) emit(t.slice(start, i));
      start = -1;
    } else if (f & (PUNCT | CJK)) {
      if (start >= 0) emit(t.slice(start, i));
      emit(t.slice(i, i + width));
      start = -1;
    } else if (f & CONTROL) {
      // Only lone surrogates reach here (other controls were removed): Google drops them too.
      if (start >= 0) emit(t.slice(start, i));
      start = -1;
    }
    i += width - 1;
  }
  if (start >= 0) emit(t.slice(start));
}

/** BasicTokenizer.tokenize: normalized words. */
export function basicTokenize(text: string, opts: BasicTokenizerOptions): string[] {
  const out: string[] = [];
  splitWords(normalizeText(text, opts), (w) => out.push(w));
  return out;
}
