// Character classes exactly as google-research/bert tokenization.py defines them (and Hugging Face's
// BertNormalizer / BertPreTokenizer): whitespace, control, punctuation (by Unicode category, plus
// all non-letter/number ASCII), CJK ideographs. A lookup table covers the BMP; astral code points
// are classified on demand and memoized.

export const WS = 1;
export const CONTROL = 2;
export const PUNCT = 4;
export const CJK = 8;

const reZs = /^\p{Zs}$/u;
const reC = /^\p{C}$/u;
const reP = /^\p{P}$/u;

function classifySlow(cp: number): number {
  const ch = String.fromCodePoint(cp);
  let f = 0;
  // _is_whitespace: space, \t, \n, \r, category Zs. Python's str.split() (whitespace_tokenize) and
  // Rust's char::is_whitespace also split on the line/paragraph separators; treat them alike.
  if (cp === 0x20 || cp === 0x09 || cp === 0x0a || cp === 0x0d || cp === 0x2028 || cp === 0x2029 || reZs.test(ch)) f |= WS;
  // _is_control: category C*, except \t \n \r (which count as whitespace).
  else if (reC.test(ch) || (cp >= 0xd800 && cp <= 0xdfff)) f |= CONTROL;
  // _is_punctuation: ASCII 33-47, 58-64, 91-96, 123-126 or category P*.
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) || reP.test(ch)) f |= PUNCT;
  if (isCjk(cp)) f |= CJK;
  return f;
}

/** _is_chinese_char: the CJK Unified Ideographs blocks (not Hangul, Hiragana or Katakana). */
export function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

let bmp: Uint8Array | undefined;
const astral = new Map<number, number>();

function bmpTable(): Uint8Array {
  if (bmp) return bmp;
  const t = new Uint8Array(65536);
  for (let cp = 0; cp < 65536; cp++) t[cp] = classifySlow(cp);
  bmp = t;
  return t;
}

/** Flags (WS | CONTROL | PUNCT | CJK) of a code point. */
export function charFlags(cp: number): number {
  if (cp < 65536) return bmpTable()[cp]!;
  let f = astral.get(cp);
  if (f === undefined) {
    f = classifySlow(cp);
    if (astral.size < 100000) astral.set(cp, f);
  }
  return f;
}

/** The BMP table itself, for hot loops. */
export function charTable(): Uint8Array {
  return bmpTable();
}
