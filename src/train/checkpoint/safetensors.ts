// The safetensors format (Hugging Face): 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}, then the raw little-endian
// tensor bytes. Writing is atomic (temp file + rename); reading validates every offset so a
// truncated or corrupt file is refused with a one-line error, never half-loaded.
import { closeSync, fsyncSync, openSync, readSync, renameSync, writeSync, rmSync } from 'node:fs';
import { openRegularFile } from '../../read-file.js';
import { halfToFloat } from '../f16.js';
import { createHash } from 'node:crypto';
import { UserError } from '../../errors.js';

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** __metadata__ key of the content digest this writer adds (other writers' files have none). */
export const DIGEST_KEY = 'bert_webgpu_sha256';

/**
 * sha256 over every tensor's name, dtype, shape and bytes, in name order. Safetensors has no
 * checksum of its own; with this one, a file that passes validation but was altered (a flipped
 * byte in a weight, a shape rewritten to another of the same size) is refused instead of loaded.
 */
function contentDigest(tensors: Array<{ name: string; dtype: string; shape: number[]; bytes: Uint8Array }>): string {
  const h = createHash('sha256');
  for (const t of [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    h.update(`${t.name}\u0000${t.dtype}\u0000${JSON.stringify(t.shape)}\u0000${t.bytes.byteLength}\u0000`);
    h.update(t.bytes);
  }
  return h.digest('hex');
}

const bytesOf = (t: NamedTensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

export function encodeSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Buffer[] {
  const header: Record<string, unknown> = {};
  header.__metadata__ = { ...metadata, [DIGEST_KEY]: contentDigest(tensors.map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape, bytes: bytesOf(t) }))) };
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`safetensors: ${t.name} has ${t.data.length} values for shape [${t.shape}]`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return [head, Buffer.from(json), ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
}

/** Writes chunks to path atomically: a temp file in the same folder, fsync, then rename. */
export function writeFileAtomic(path: string, chunks: Array<Buffer | Uint8Array | string>): void {
  const temp = `${path}.tmp-${process.pid}`;
  const fd = openSync(temp, 'w');
  try {
    for (const c of chunks) {
      const buf = typeof c === 'string' ? Buffer.from(c) : c;
      let written = 0;
      while (written < buf.byteLength) written += writeSync(fd, buf, written, buf.byteLength - written);
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(temp, path);
}

export function writeSafetensors(path: string, tensors: NamedTensor[], metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4 };

function toF32(dtype: string, bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength / DTYPE_BYTES[dtype]!;
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'F32': out[i] = view.getFloat32(i * 4, true); break;
      case 'F64': out[i] = view.getFloat64(i * 8, true); break;
      case 'BF16': out[i] = new Float32Array(new Uint32Array([view.getUint16(i * 2, true) << 16]).buffer)[0]!; break;
      case 'F16': out[i] = halfToFloat(view.getUint16(i * 2, true)); break;
      case 'I64': out[i] = Number(view.getBigInt64(i * 8, true)); break;
      case 'I32': out[i] = view.getInt32(i * 4, true); break;
    }
  }
  return out;
}


export interface SafetensorsFile {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** One tensor's header entry, validated: its bytes are data[begin, end) after the header. */
export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: TensorEntry[];
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file. */
  dataStart: number;
  fileBytes: number;
}

/** A header this large is not a checkpoint (Hugging Face's own reader refuses over 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkpointError(path: string, why: string): UserError {
  return new UserError(`${path}: not a valid safetensors file (${why})`, 'checkpoint_corrupt', 1);
}

/** Opens a checkpoint; FIFOs, devices and directories are refused, not read forever. */
function openRegular(path: string): { fd: number; size: number } {
  return openRegularFile(path, 'checkpoint_missing');
}

function readExactly(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * Validates a safetensors header completely before any tensor byte is used: a JSON object of
 * entries {dtype (known), shape (non-negative integers), data_offsets [begin, end] (integers)} plus
 * an optional __metadata__ of strings; each entry's byte size is product(shape) × dtype size; the
 * entries, in offset order, tile the data section exactly: no gap, no overlap, nothing after.
 */
export function parseSafetensorsHeader(path: string, headerBytes: Buffer, fileBytes: number): SafetensorsHeader {
  const bad = (why: string) => checkpointError(path, why);
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch {
    throw bad('header is not JSON');
  }
  if (!isRecord(header)) throw bad('header is not a JSON object');
  const dataStart = 8 + headerBytes.byteLength;
  const dataBytes = fileBytes - dataStart;
  let metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isRecord(entry) || !Object.values(entry).every((v) => typeof v === 'string')) throw bad('__metadata__ must map strings to strings');
      metadata = entry as Record<string, string>;
      continue;
    }
    if (!isRecord(entry)) throw bad(`tensor ${name}: entry is not an object`);
    const extra = Object.keys(entry).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
    if (extra.length > 0) throw bad(`tensor ${name}: unknown field ${extra[0]}`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(DTYPE_BYTES, dtype)) throw bad(`tensor ${name}: unsupported dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) throw bad(`tensor ${name}: data_offsets ${JSON.stringify(offsets)} are not two non-negative integers`);
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype]!;
    if (end < begin) throw bad(`tensor ${name}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end - begin !== expected) throw bad(`tensor ${name}: ${end - begin} bytes for shape [${shape as number[]}] of ${dtype} (${expected} expected)`);
    if (end > dataBytes) throw bad(`tensor ${name}: data_offsets [${begin}, ${end}] reach past the ${dataBytes} data bytes (truncated?)`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  const ordered = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of ordered) {
    if (e.begin < covered) throw bad(`tensor ${e.name}: bytes [${e.begin}, ${e.end}) overlap another tensor`);
    if (e.begin > covered) throw bad(`${e.begin - covered} bytes before tensor ${e.name} belong to no tensor`);
    covered = e.end;
  }
  if (covered !== dataBytes) throw bad(`${dataBytes - covered} trailing bytes after the last tensor`);
  return { entries, metadata, dataStart, fileBytes };
}

/** Reads and validates only the header (cheap: for checking shapes before loading). */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const { fd, size } = openRegular(path);
  try {
    return readHeader(path, fd, size);
  } finally {
    closeSync(fd);
  }
}

function readHeader(path: string, fd: number, size: number): SafetensorsHeader {
  const bad = (why: string) => checkpointError(path, why);
  if (size < 8) throw bad('shorter than its 8-byte header length');
  const headerLength = readExactly(fd, 8, 0).readBigUInt64LE(0);
  if (headerLength === 0n || headerLength > BigInt(Math.min(size - 8, MAX_HEADER_BYTES))) throw bad(`header length ${headerLength} does not fit the file size ${size}`);
  const headerBytes = readExactly(fd, Number(headerLength), 8);
  if (headerBytes.byteLength !== Number(headerLength)) throw bad('the file ended inside its header');
  return parseSafetensorsHeader(path, headerBytes, size);
}

/**
 * Reads a safetensors file; any inconsistency is a one-line UserError naming the file, and a
 * non-finite value one naming the tensor: weights with NaN or Inf would only train into NaN.
 */
export function readSafetensors(path: string): SafetensorsFile {
  const { fd, size } = openRegular(path);
  try {
    const header = readHeader(path, fd, size);
    const tensors = new Map<string, NamedTensor>();
    const raw: Array<{ name: string; dtype: string; shape: number[]; bytes: Uint8Array }> = [];
    for (const e of header.entries) {
      const bytes = readExactly(fd, e.end - e.begin, header.dataStart + e.begin);
      if (bytes.byteLength !== e.end - e.begin) throw checkpointError(path, `the file ended inside tensor ${e.name}`);
      raw.push({ name: e.name, dtype: e.dtype, shape: e.shape, bytes });
    }
    const digest = header.metadata[DIGEST_KEY];
    if (digest !== undefined && digest !== contentDigest(raw)) throw checkpointError(path, 'its content does not match the checksum it was written with (corrupted or altered)');
    for (const [k, e] of header.entries.entries()) {
      const data = toF32(e.dtype, raw[k]!.bytes);
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i]!)) throw new UserError(`${path}: tensor ${e.name} holds a non-finite value (${data[i]}) at index ${i}`, 'checkpoint_nonfinite', 1);
      }
      tensors.set(e.name, { name: e.name, shape: e.shape, data });
    }
    return { tensors, metadata: header.metadata };
  } finally {
    closeSync(fd);
  }
}
