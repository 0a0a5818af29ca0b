// Corpus shards beyond plain text: gzip-compressed txt and jsonl (read through node's zlib) and
// parquet (hyparquet, one row group at a time), mixed in one corpus; malformed shards get one-line
// errors naming the shard.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { corpusReaders } from '../support/corpus-reading.js';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';

const dir = mkdtempSync(join(tmpdir(), 'bert-shards-'));
const LINES = 'First sentence.\nSecond one.\n\nDoc two.\n';
const JSONL = '{"text": "One. Two."}\n{"text": "Three.\\nFour."}\n';
writeFileSync(join(dir, 'plain.txt'), LINES);
writeFileSync(join(dir, 'packed.txt.gz'), gzipSync(LINES));
writeFileSync(join(dir, 'plain.jsonl'), JSONL);
writeFileSync(join(dir, 'packed.jsonl.gz'), gzipSync(JSONL));
// 2,500 rows in row groups of 1,000: the reader walks three row groups.
const rows = Array.from({ length: 2500 }, (_, i) => (i % 7 === 3 ? null : `Row ${i} says hello. It has two sentences.`));
parquetWriteFile({ filename: join(dir, 'shard.parquet'), columnData: [{ name: 'id', data: rows.map((_, i) => i), type: 'INT32' }, { name: 'content', data: rows, type: 'STRING' }], rowGroupSize: 1000 });
parquetWriteFile({ filename: join(dir, 'mixed.parquet'), columnData: [{ name: 'text', data: ['Parquet one. Parquet two.', 'Parquet three.'], type: 'STRING' }] });
const gz = gzipSync(LINES);
writeFileSync(join(dir, 'truncated.txt.gz'), gz.subarray(0, gz.length - 6));
writeFileSync(join(dir, 'notgzip.txt.gz'), LINES);
writeFileSync(join(dir, 'broken.parquet'), readFileSync(join(dir, 'shard.parquet')).subarray(0, 200));
writeFileSync(join(dir, 'text.parquet'), 'this is not parquet at all, just text\n');

const { all, error } = corpusReaders(dir);

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('gzip: .txt.gz and .jsonl.gz read exactly as their plain files', async () => {
  assert.equal(await all({ files: ['packed.txt.gz'], format: 'lines' }), await all({ files: ['plain.txt'], format: 'lines' }));
  assert.equal(await all({ files: ['packed.jsonl.gz'], format: 'lines' }), [['One.', 'Two.'], ['Three.', 'Four.']]);
  assert.equal(await all({ files: ['packed.jsonl.gz'] }), await all({ files: ['plain.jsonl'], format: 'jsonl' }));
});

test('parquet: one document per row of the text column over every row group, null rows skipped', async () => {
  const docs = await all({ files: ['shard.parquet'], textField: 'content' });
  const expected = rows.filter((r) => r !== null).map((r) => [r!.split('. ')[0] + '.', 'It has two sentences.']);
  assert.is(docs.length, expected.length);
  assert.equal(docs, expected);
});

test('one corpus mixes shards: each file read by its extension, the recipe format for the rest', async () => {
  const docs = await all({ files: ['plain.txt', 'packed.jsonl.gz', 'mixed.parquet'], format: 'lines' });
  assert.equal(docs, [['First sentence.', 'Second one.'], ['Doc two.'], ['One.', 'Two.'], ['Three.', 'Four.'], ['Parquet one.', 'Parquet two.'], ['Parquet three.']]);
});

test('malformed shards: one line naming the shard', async () => {
  assert.match(await error({ files: ['truncated.txt.gz'] }), /truncated\.txt\.gz: not valid gzip \(unexpected end of file\)/);
  assert.match(await error({ files: ['notgzip.txt.gz'] }), /notgzip\.txt\.gz: not valid gzip \(incorrect header check\)/);
  assert.match(await error({ files: ['broken.parquet'], textField: 'content' }), /broken\.parquet: not a valid parquet file/);
  assert.match(await error({ files: ['text.parquet'] }), /text\.parquet: not a valid parquet file/);
  assert.match(await error({ files: ['shard.parquet'] }), /shard\.parquet: no column "text" \(columns: id, content\); set data\.corpus\.text_field/);
  assert.match(await error({ files: ['shard.parquet'], textField: 'id' }), /shard\.parquet: row 1: column "id" holds number, not text/);
});

test.run();
