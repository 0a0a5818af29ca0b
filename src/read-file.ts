// Reading a user-named file whole, safely: only a regular file of bounded size is read, so a FIFO,
// a device such as /dev/zero or a directory gets a one-line error instead of a hang or a crash.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { UserError } from './errors.js';

/** Opens a regular file for reading; anything else (missing, FIFO, device, directory) is a UserError naming it. */
export function openRegularFile(path: string, code = 'bad_file'): { fd: number; size: number } {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: ${errno === 'ENOENT' ? 'no such file' : errno === 'EISDIR' ? 'is a directory' : (e as Error).message}`, code);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new UserError(`${path}: ${st.isDirectory() ? 'is a directory' : 'not a regular file'}`, code);
  }
  return { fd, size: st.size };
}

/** Reads a regular file whole; anything else, or one over maxBytes, is a UserError naming it. */
export function readRegularFile(path: string, maxBytes = 2 ** 31 - 1, code = 'bad_file'): Buffer {
  const { fd, size } = openRegularFile(path, code);
  try {
    if (size > maxBytes) throw new UserError(`${path}: ${size} bytes is larger than the ${maxBytes} this file may have`, code);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
