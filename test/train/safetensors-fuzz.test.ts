// The safetensors reader under attack: a seeded fuzz mutates a real checkpoint's header and body
// hundreds of ways, and each result is either loaded with exactly the original names, shapes and
// values or refused with a one-line UserError (never a stack trace, never a hang). Plus the cases
// a mutation rarely hits: non-regular files, non-finite weights, shapes of the same size.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, readSafetensors, readSafetensorsHeader, writeSafetensors, type NamedTensor } from '../../src/train/checkpoint/safetensors.js';
import { fromHuggingFace } from '../../src/train/checkpoint/hf-names.js';
import { UserError } from '../../src/errors.js';
import { randomF32, rng } from '../support/random.js';

const dir = mkdtempSync(join(tmpdir(), 'bert-safetensors-fuzz-'));
const tensors: NamedTensor[] = [
  { name: 'bert.embeddings.word_embeddings.weight', shape: [7, 4], data: randomF32(28, 1) },
  { name: 'bert.encoder.layer.0.attention.self.query.weight', shape: [4, 4], data: randomF32(16, 2) },
  { name: 'bert.encoder.layer.0.attention.self.query.bias', shape: [4], data: randomF32(4, 3) },
  { name: 'bert.encoder.layer.0.intermediate.dense.weight', shape: [6, 4], data: randomF32(24, 4) },
  { name: 'bert.pooler.dense.bias', shape: [4], data: randomF32(4, 5) },
  { name: 'scalar', shape: [], data: randomF32(1, 6) },
  { name: 'empty', shape: [0, 3], data: new Float32Array(0) },
];
const original = Buffer.concat(encodeSafetensors(tensors, { format: 'pt' }));
const headerLength = Number(original.readBigUInt64LE(0));

type Outcome = { loaded: true } | { refused: string };

/** Loads bytes as a checkpoint; anything other than the original values or a one-line UserError fails. */
function load(bytes: Buffer, label: string): Outcome {
  const file = join(dir, 'mutant.safetensors');
  writeFileSync(file, bytes);
  const t0 = performance.now();
  try {
    const got = readSafetensors(file).tensors;
    assert.equal([...got.keys()].sort(), tensors.map((t) => t.name).sort(), `${label}: names`);
    for (const t of tensors) {
      const g = got.get(t.name)!;
      assert.equal(g.shape, t.shape, `${label}: shape of ${t.name}`);
      assert.equal(Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), `${label}: values of ${t.name}`);
    }
    return { loaded: true };
  } catch (e) {
    if (!(e instanceof UserError)) throw new Error(`${label}: not a UserError: ${(e as Error)?.stack ?? String(e)}`);
    assert.not.match(e.message, /\n/, `${label}: multi-line error`);
    assert.ok(e.message.startsWith(file), `${label}: error does not name the file: ${e.message}`);
    return { refused: e.message };
  } finally {
    assert.ok(performance.now() - t0 < 2000, `${label}: took ${performance.now() - t0} ms`);
  }
}

const PRINTABLE = '0123456789-+.,:[]{}"eE aFx\\';

function mutations(seed: number, count: number): Array<[string, Buffer]> {
  const next = rng(seed);
  const int = (n: number) => Math.floor(next() * n);
  const out: Array<[string, Buffer]> = [];
  const header = original.subarray(8, 8 + headerLength).toString('utf8');
  const body = original.subarray(8 + headerLength);
  const withHeader = (text: string, length = Buffer.byteLength(text)): Buffer => {
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(length));
    return Buffer.concat([head, Buffer.from(text), body]);
  };
  const json = JSON.parse(header) as Record<string, any>;
  const names = tensors.map((t) => t.name);
  const structured: Array<(h: Record<string, any>) => void> = [
    (h) => (h[names[int(names.length)]!].dtype = ['F32', 'F16', 'BF16', 'I64', 'Q4', 'f32', 7, null][int(8)]),
    (h) => (h[names[int(names.length)]!].shape = [[-1, 28], [28.5], ['7', 4], [4, 7], [28], [7, 4, 1], null, 'x', [2 ** 60, 0], [1e308]][int(10)]),
    (h) => (h[names[int(names.length)]!].data_offsets = [[0, 112], [-4, 108], [0.5, 112], ['0', '112'], [112, 0], [0, 2 ** 64], [0], null][int(8)]),
    (h) => delete h[names[int(names.length)]!],
    (h) => (h.extra = { dtype: 'F32', shape: [1], data_offsets: [0, 4] }),
    (h) => (h.__metadata__ = [{ a: 1 }, 'x', null, [1]][int(4)]),
    (h) => (h[names[int(names.length)]!] = [[], 'x', 1, null][int(4)]),
    (h) => (h[names[int(names.length)]!].extra_field = 1),
    (h) => {
      const a = h[names[int(names.length)]!];
      const b = h[names[int(names.length)]!];
      [a.data_offsets, b.data_offsets] = [b.data_offsets, a.data_offsets];
    },
    (h) => {
      const t = h[names[int(names.length)]!];
      t.data_offsets = [t.data_offsets[0] + 4, t.data_offsets[1] + 4];
    },
    (h) => {
      const [x] = h.__metadata__ ? [h.__metadata__] : [{}];
      x.bert_webgpu_sha256 = '0'.repeat(64);
    },
  ];
  for (let i = 0; i < count; i++) {
    const kind = int(8);
    if (kind === 0) {
      // one header character replaced
      const at = int(header.length);
      out.push([`header[${at}] replaced`, withHeader(header.slice(0, at) + PRINTABLE[int(PRINTABLE.length)] + header.slice(at + 1))]);
    } else if (kind === 1) {
      // header characters deleted or inserted (length field follows the text, or not)
      const at = int(header.length);
      const text = next() < 0.5 ? header.slice(0, at) + header.slice(at + 1 + int(4)) : header.slice(0, at) + PRINTABLE[int(PRINTABLE.length)] + header.slice(at);
      out.push([`header edit at ${at}`, withHeader(text, next() < 0.8 ? Buffer.byteLength(text) : headerLength)]);
    } else if (kind === 2) {
      const bytes = Buffer.from(original);
      const at = int(8);
      bytes[at] = int(256);
      out.push([`length byte ${at}`, bytes]);
    } else if (kind === 3) {
      const bytes = Buffer.from(original);
      const at = 8 + headerLength + int(body.length);
      bytes[at] = bytes[at]! ^ (1 << int(8));
      out.push([`body bit flip at ${at}`, bytes]);
    } else if (kind === 4) {
      const cut = int(original.length);
      out.push([`truncated to ${cut}`, original.subarray(0, cut)]);
    } else if (kind === 5) {
      out.push([`appended bytes`, Buffer.concat([original, Buffer.alloc(1 + int(16), int(256))])]);
    } else {
      const h = structuredClone(json);
      const which = int(structured.length);
      structured[which]!(h);
      const text = JSON.stringify(h);
      const padded = text + ' '.repeat((8 - (text.length % 8)) % 8);
      out.push([`structured mutation ${which}`, withHeader(padded)]);
    }
  }
  return out;
}

test('the unmutated file loads exactly', () => {
  assert.equal(load(original, 'original'), { loaded: true });
});

test('fuzz: 300 seeded mutations of header and body are each loaded exactly or refused in one line', () => {
  let refused = 0;
  let loaded = 0;
  for (const [label, bytes] of mutations(20261206, 300)) {
    const outcome = load(bytes, label);
    if ('loaded' in outcome) loaded++;
    else refused++;
  }
  // Most mutations must be caught; the few that load are the harmless ones (e.g. a metadata value).
  assert.ok(refused > 250, `refused ${refused}, loaded ${loaded}`);
});

test('a same-size shape swap and a flipped weight bit are caught by the content checksum', () => {
  const header = JSON.parse(original.subarray(8, 8 + headerLength).toString('utf8'));
  header['bert.embeddings.word_embeddings.weight'].shape = [4, 7];
  const text = JSON.stringify(header).padEnd(headerLength, ' ');
  const swapped = Buffer.concat([original.subarray(0, 8), Buffer.from(text), original.subarray(8 + headerLength)]);
  assert.match((load(swapped, 'swap') as { refused: string }).refused, /does not match the checksum/);
  const flipped = Buffer.from(original);
  flipped[8 + headerLength + 5]! ^= 1;
  assert.match((load(flipped, 'flip') as { refused: string }).refused, /does not match the checksum/);
});

test('files written by other tools (no checksum) are validated the same way and load', () => {
  const header = JSON.parse(original.subarray(8, 8 + headerLength).toString('utf8'));
  delete header.__metadata__;
  const text = JSON.stringify(header);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(text.length));
  assert.equal(load(Buffer.concat([head, Buffer.from(text), original.subarray(8 + headerLength)]), 'no metadata'), { loaded: true });
});

test('non-finite weights are refused naming the tensor', () => {
  const bad = tensors.map((t) => ({ ...t, data: Float32Array.from(t.data) }));
  bad[3]!.data[5] = NaN;
  writeSafetensors(join(dir, 'nan.safetensors'), bad);
  assert.throws(() => readSafetensors(join(dir, 'nan.safetensors')), (e: Error) => e instanceof UserError && /tensor bert\.encoder\.layer\.0\.intermediate\.dense\.weight holds a non-finite value \(NaN\) at index 5/.test(e.message));
  bad[3]!.data[5] = Infinity;
  writeSafetensors(join(dir, 'inf.safetensors'), bad);
  assert.throws(() => readSafetensors(join(dir, 'inf.safetensors')), /non-finite value \(Infinity\)/);
});

test('/dev/zero, a FIFO and a directory are refused at once, not read forever', () => {
  const fifo = join(dir, 'fifo.safetensors');
  execFileSync('mkfifo', [fifo]);
  for (const file of ['/dev/zero', fifo, dir]) {
    for (const read of [readSafetensors, readSafetensorsHeader]) {
      assert.throws(() => read(file), (e: Error) => e instanceof UserError && e.message.startsWith(`${file}: `) && /not a regular file|is a directory/.test(e.message), file);
    }
  }
});

test('a checkpoint tensor of another shape with the same element count is refused, naming both shapes', () => {
  const loaded = new Map(tensors.map((t) => [t.name, t]));
  const plan = [{ name: 'bert.encoder.layer.0.intermediate.dense.weight', shape: [4, 6] }];
  assert.throws(() => fromHuggingFace(loaded, plan), (e: Error) => e instanceof UserError && e.message === 'bert.encoder.layer.0.intermediate.dense.weight: shape [6, 4] in the checkpoint, [4, 6] in the recipe\'s model');
  const vocab = [{ name: 'bert.embeddings.word_embeddings.weight', shape: [9, 4] }];
  assert.throws(() => fromHuggingFace(loaded, vocab), /the checkpoint's vocabulary has 7 rows, the recipe's model 9/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
