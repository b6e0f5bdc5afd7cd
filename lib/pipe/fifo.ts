/**
 * FIFO files on disk: create (through the `mkfifo` program, since Node has
 * none), check, open the non-blocking "anchor" fd the engine holds, and
 * remove. Nothing here follows a symlink or touches a file that is not a FIFO.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { isErrno, pipeIOError, PipeIOError } from '../errors';

const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;

/** Identity of a FIFO inode, used to tell "our" FIFO from a replacement. */
export interface FifoIdentity {
  dev: number;
  ino: number;
}

/** An anchor: a non-blocking read fd on a FIFO, and the inode it reaches. */
export interface FifoAnchor extends FifoIdentity {
  fd: number;
}

function describe(st: fs.Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isFile()) return 'a regular file';
  return 'not a FIFO';
}

function notAFifo(path: string, st: fs.Stats): PipeIOError {
  return pipeIOError('PIPEIO_ERR_NOT_A_FIFO', `${path} is ${describe(st)}, not a FIFO; refusing to use or replace it`, {
    path,
  });
}

function permissionError(path: string, err: unknown): PipeIOError {
  return pipeIOError('PIPEIO_ERR_PERMISSION', `permission denied on ${path}`, { path, cause: err });
}

/** lstat that answers `undefined` for a missing path. */
export function lstatOrUndefined(path: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
    if (isErrno(err, 'EACCES', 'EPERM')) throw permissionError(path, err);
    throw err;
  }
}

function runMkfifo(path: string, mode: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('mkfifo', ['-m', (mode & 0o777).toString(8), '--', path], (err, _stdout, stderr) => {
      if (!err) return resolve();
      if (isErrno(err, 'ENOENT')) {
        return reject(pipeIOError('PIPEIO_ERR_MKFIFO', 'the mkfifo program was not found on PATH', { path, cause: err }));
      }
      const text = String(stderr).trim();
      if (/permission denied/i.test(text)) return reject(permissionError(path, err));
      if (/file exists/i.test(text)) {
        const st = lstatOrUndefined(path);
        if (st && !st.isFIFO()) return reject(notAFifo(path, st));
        return resolve(); // someone made a FIFO in between: checked by the anchor open
      }
      reject(pipeIOError('PIPEIO_ERR_MKFIFO', `mkfifo ${path} failed: ${text || err.message}`, { path, cause: err }));
    });
  });
}

/**
 * Creates a FIFO at `path` with exactly `mode` (whatever the umask). A stale
 * FIFO already there is replaced; anything else there is refused with
 * `PIPEIO_ERR_NOT_A_FIFO`. Returns an anchor fd on the new FIFO (fchmod'ed
 * to `mode` through that fd, so there is no window where it is wider).
 */
export async function createFifo(path: string, mode: number): Promise<FifoAnchor> {
  const st = lstatOrUndefined(path);
  if (st) {
    if (!st.isFIFO()) throw notAFifo(path, st);
    unlinkQuietly(path);
  }
  await runMkfifo(path, mode);
  return openAnchor(path, mode);
}

/**
 * Opens a non-blocking, read-only, no-follow fd on an existing FIFO. Never
 * blocks (a FIFO opened O_RDONLY|O_NONBLOCK returns at once). With `mode`,
 * sets exactly those permission bits through the fd.
 */
export function openAnchor(path: string, mode?: number): FifoAnchor {
  let fd: number;
  try {
    fd = fs.openSync(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) {
      throw pipeIOError('PIPEIO_ERR_PIPE_MISSING', `no FIFO at ${path}`, { path, cause: err });
    }
    if (isErrno(err, 'ELOOP', 'EMLINK', 'EISDIR', 'ENXIO', 'EOPNOTSUPP')) {
      const st = lstatOrUndefined(path);
      if (st) throw notAFifo(path, st);
    }
    if (isErrno(err, 'EACCES', 'EPERM')) throw permissionError(path, err);
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFIFO()) throw notAFifo(path, st);
    if (mode !== undefined) {
      // A FIFO we are to own must be ours: someone else's, slipped in at the
      // path in a shared directory, is refused rather than used.
      const uid = process.getuid?.();
      if (uid !== undefined && uid !== 0 && st.uid !== uid) {
        throw pipeIOError('PIPEIO_ERR_PERMISSION', `${path} is owned by uid ${st.uid}, not by us`, { path });
      }
      fs.fchmodSync(fd, mode & 0o777);
    }
    return { fd, dev: st.dev, ino: st.ino };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/**
 * True if a process has the FIFO at `path` open for reading (a live server on
 * its in pipe): opening it O_WRONLY|O_NONBLOCK succeeds only then (ENXIO
 * otherwise). Writes nothing; a reader sees at most an empty writer session.
 */
export function hasReader(path: string): boolean {
  const st = lstatOrUndefined(path);
  if (!st || !st.isFIFO()) return false;
  try {
    closeQuietly(fs.openSync(path, fs.constants.O_WRONLY | O_NONBLOCK | O_NOFOLLOW));
    return true;
  } catch {
    return false;
  }
}

/**
 * A path through which a fresh open() reaches the same inode as `fd`, even
 * after the FIFO's own path was unlinked or replaced. Linux: /proc/self/fd/N.
 * Elsewhere (macOS, best effort) opening /dev/fd/N would dup the fd with its
 * O_NONBLOCK flag, so the original path is used instead.
 */
export function inodePath(fd: number, path: string): string {
  return process.platform === 'linux' ? `/proc/self/fd/${fd}` : path;
}

/** Does `path` still name the inode `id`? (false if missing or replaced) */
export function samePipe(path: string, id: FifoIdentity): boolean {
  try {
    const st = fs.lstatSync(path);
    return st.isFIFO() && st.ino === id.ino && st.dev === id.dev;
  } catch {
    return false;
  }
}

/** Removes the FIFO at `path` only if it is still the inode `id`. */
export function removeFifo(path: string, id: FifoIdentity): void {
  if (samePipe(path, id)) unlinkQuietly(path);
}

function unlinkQuietly(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}

/** Closes an fd, ignoring EBADF (already closed). */
export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined || fd < 0) return;
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
}
