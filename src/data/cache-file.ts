// The container for every binary cache file: a 4 KiB header (magic, JSON with kind, format version,
// key, body length, CRC-32 of the body, kind-specific metadata), the body, an 8-byte end marker.
// Written to a temporary name and renamed, so a crash never leaves a half-written file under the
// real name; on open, anything that does not check out (magic, key, length, end marker, CRC) is
// reported as invalid, and the caller rebuilds. Knows nothing about what the body holds.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';

const MAGIC = Buffer.from('BERTDATA');
const END = Buffer.from('BERTEND!');
export const HEADER_BYTES = 4096;
export const CACHE_FORMAT_VERSION = 1;

export interface CacheHeader<M> {
  kind: string;
  version: number;
  key: string;
  bodyBytes: number;
  crc: number;
  meta: M;
}

/** Where a resumable writer stood at its last checkpoint: the body written and its CRC so far. */
export interface WriterPosition {
  bodyBytes: number;
  crc: number;
}

export class CacheWriter {
  private fd: number;
  private readonly tmp: string;
  private buf = Buffer.allocUnsafe(4 << 20);
  private used = 0;
  private pos = HEADER_BYTES;
  private crc = 0;
  bodyBytes = 0;

  /**
   * `resumable`: the body goes to `<path>.partial` (not a per-process name), so a later process
   * can continue it from a checkpoint (resume) after this one is killed.
   */
  constructor(
    readonly path: string,
    readonly kind: string,
    readonly key: string,
    resumable = false,
    at?: WriterPosition,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.tmp = resumable ? `${path}.partial` : `${path}.tmp-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
    if (at) {
      this.fd = openSync(this.tmp, 'r+');
      ftruncateSync(this.fd, HEADER_BYTES + at.bodyBytes);
      this.pos = HEADER_BYTES + at.bodyBytes;
      this.bodyBytes = at.bodyBytes;
      this.crc = at.crc;
    } else this.fd = openSync(this.tmp, 'w');
  }

  /** A resumable writer's body so far, on disk (flushed and synced): where resume continues. */
  checkpoint(): WriterPosition {
    this.flush();
    fsyncSync(this.fd);
    return { bodyBytes: this.bodyBytes, crc: this.crc };
  }

  write(data: Uint8Array): void {
    if (data.byteLength > this.buf.length - this.used) this.flush();
    if (data.byteLength > this.buf.length) {
      this.raw(data);
      return;
    }
    this.buf.set(data, this.used);
    this.used += data.byteLength;
  }

  private raw(data: Uint8Array): void {
    this.crc = crc32(data, this.crc);
    let off = 0;
    while (off < data.byteLength) {
      const n = writeSync(this.fd, data, off, data.byteLength - off, this.pos);
      off += n;
      this.pos += n;
    }
    this.bodyBytes += data.byteLength;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.raw(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  /** Writes header and end marker, then renames into place. */
  finish<M>(meta: M): void {
    this.flush();
    writeSync(this.fd, END, 0, END.length, this.pos);
    const header: CacheHeader<M> = { kind: this.kind, version: CACHE_FORMAT_VERSION, key: this.key, bodyBytes: this.bodyBytes, crc: this.crc, meta };
    const json = Buffer.from(JSON.stringify(header));
    if (json.length > HEADER_BYTES - 12) throw new Error(`cache header too large (${json.length} bytes)`);
    const head = Buffer.alloc(HEADER_BYTES, 0x20);
    MAGIC.copy(head, 0);
    head.writeUInt32LE(json.length, 8);
    json.copy(head, 12);
    writeSync(this.fd, head, 0, HEADER_BYTES, 0);
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    rmSync(this.tmp, { force: true });
  }
}

export type OpenResult<M> = { ok: true; fd: number; header: CacheHeader<M> } | { ok: false; reason: string };

/**
 * Opens and fully verifies a cache file. `ok: false` with a reason when it is missing, for another
 * key or kind, truncated, or its body fails the CRC. The caller owns (and closes) `fd`.
 */
export function openCacheFile<M>(path: string, kind: string, key: string): OpenResult<M> {
  if (!existsSync(path)) return { ok: false, reason: 'missing' };
  const fd = openSync(path, 'r');
  const fail = (reason: string): OpenResult<M> => {
    closeSync(fd);
    return { ok: false, reason };
  };
  const size = fstatSync(fd).size;
  if (size < HEADER_BYTES + END.length) return fail('truncated');
  const head = Buffer.alloc(HEADER_BYTES);
  readSync(fd, head, 0, HEADER_BYTES, 0);
  if (!head.subarray(0, 8).equals(MAGIC)) return fail('bad magic');
  const len = head.readUInt32LE(8);
  if (len > HEADER_BYTES - 12) return fail('bad header');
  let header: CacheHeader<M>;
  try {
    header = JSON.parse(head.subarray(12, 12 + len).toString('utf8'));
  } catch {
    return fail('bad header');
  }
  if (header.kind !== kind || header.version !== CACHE_FORMAT_VERSION) return fail('other kind or version');
  if (header.key !== key) return fail('other key');
  if (size !== HEADER_BYTES + header.bodyBytes + END.length) return fail('truncated or extended');
  const end = Buffer.alloc(END.length);
  readSync(fd, end, 0, END.length, HEADER_BYTES + header.bodyBytes);
  if (!end.equals(END)) return fail('bad end marker');
  const chunk = Buffer.allocUnsafe(8 << 20);
  let crc = 0;
  for (let off = 0; off < header.bodyBytes; ) {
    const n = readSync(fd, chunk, 0, Math.min(chunk.length, header.bodyBytes - off), HEADER_BYTES + off);
    if (n <= 0) return fail('short read');
    crc = crc32(chunk.subarray(0, n), crc);
    off += n;
  }
  if (crc !== header.crc) return fail('checksum mismatch');
  return { ok: true, fd, header };
}

/** Reads `bytes` bytes of the body at `offset` into a fresh, 8-byte aligned buffer. */
export function readBody(fd: number, offset: number, bytes: number, into?: Uint8Array): Uint8Array {
  const out = into ?? new Uint8Array(new ArrayBuffer(bytes));
  let done = 0;
  while (done < bytes) {
    const n = readSync(fd, out, done, bytes - done, HEADER_BYTES + offset + done);
    if (n <= 0) throw new Error('cache file shrank while reading');
    done += n;
  }
  return out;
}
