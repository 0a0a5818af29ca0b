// Splitting paragraph text into sentences, for corpora that are not one-sentence-per-line (the
// built-in State of the Union corpus, JSONL, `format: paragraphs`). Rule-based: a sentence ends at
// . ! or ? (plus closing quotes/brackets) followed by whitespace and an opening capital, digit or
// quote, unless the word before the period is a known abbreviation or a single initial. Good
// enough for NSP segment boundaries; not a linguistic sentence segmenter.

const ABBREVIATIONS = new Set(
  (
    'mr mrs ms dr prof sr jr st mt ft gen gov sen rep rev hon col capt lt maj sgt cmdr adm pres supt ' +
    'messrs mme mlle no nos vol vols art sec ch fig figs p pp vs etc al approx dept est inc ltd co corp bros ' +
    'jan feb mar apr jun jul aug sep sept oct nov dec u.s u.s.a d.c e.g i.e a.m p.m'
  ).split(' '),
);

const reBoundary = /([.!?]+)(["'”’)\]]*)(\s+)(?=["'“‘(\[]?[\p{Lu}\p{Nd}])/gu;

export function splitSentences(paragraph: string): string[] {
  const text = paragraph.trim();
  if (!text) return [];
  const out: string[] = [];
  let start = 0;
  reBoundary.lastIndex = 0;
  for (let m = reBoundary.exec(text); m; m = reBoundary.exec(text)) {
    if (m[1] === '.' && !m[2]) {
      // The word before the period: abbreviation or initial?
      const before = text.slice(start, m.index);
      const w = /([\p{L}.]+)$/u.exec(before)?.[1]?.toLowerCase() ?? '';
      if (w.length === 1 || ABBREVIATIONS.has(w) || /^(\p{L}\.)+\p{L}$/u.test(w)) continue;
    }
    const end = m.index + m[1]!.length + m[2]!.length;
    const s = text.slice(start, end).trim();
    if (s) out.push(s);
    start = end + m[3]!.length;
  }
  const last = text.slice(start).trim();
  if (last) out.push(last);
  return out;
}
