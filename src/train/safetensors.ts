// The safetensors format (Hugging Face): 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}, then the raw little-endian
// tensor bytes. Writing is atomic (temp file + rename); reading validates every offset so a
// truncated or corrupt file is refused with a one-line error, never half-loaded.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, rmSync } from 'node:fs';
import { UserError } from '../errors.js';

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export function encodeSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Buffer[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
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

function toF32(dtype: string, bytes: Buffer): Float32Array {
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

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

export interface SafetensorsFile {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** Reads a safetensors file; any inconsistency is a one-line UserError naming the file. */
export function readSafetensors(path: string): SafetensorsFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read checkpoint (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'checkpoint_missing', 1);
  }
  const bad = (why: string) => new UserError(`${path}: not a valid safetensors file (${why})`, 'checkpoint_corrupt', 1);
  if (bytes.byteLength < 8) throw bad('shorter than its 8-byte header length');
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength <= 0 || 8 + headerLength > bytes.byteLength) throw bad(`header length ${headerLength} exceeds the file size ${bytes.byteLength}`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  } catch {
    throw bad('header is not JSON');
  }
  const dataStart = 8 + headerLength;
  const dataBytes = bytes.byteLength - dataStart;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  let covered = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!DTYPE_BYTES[e.dtype]) throw bad(`tensor ${name} has unsupported dtype ${e.dtype}`);
    const n = e.shape.reduce((a, b) => a * b, 1);
    const [begin, end] = e.data_offsets;
    if (!(begin >= 0 && end <= dataBytes && end - begin === n * DTYPE_BYTES[e.dtype]!)) throw bad(`tensor ${name} offsets [${begin}, ${end}] do not fit shape [${e.shape}] in ${dataBytes} data bytes (truncated?)`);
    covered = Math.max(covered, end);
    tensors.set(name, { name, shape: e.shape, data: toF32(e.dtype, bytes.subarray(dataStart + begin, dataStart + end)) });
  }
  if (covered !== dataBytes) throw bad(`${dataBytes - covered} trailing bytes after the last tensor`);
  return { tensors, metadata };
}
