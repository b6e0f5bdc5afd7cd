/**
 * One-shot FIFO client I/O for `send` and `recv` that never blocks a thread:
 * the FIFO is opened O_NONBLOCK (a writer's open fails with ENXIO while
 * nobody reads: retried until the deadline), and read/written with
 * EAGAIN-polling on the main thread. Reads go one byte at a time, like bash
 * `read`, so `recv --count N` never consumes more than N messages.
 */
import * as fs from 'node:fs';
import { isErrno } from '../errors';
import { CliError, ExitCode, sleep } from './common';

const { O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants;

/** Longest wait between two polls of a FIFO, in ms. */
const MAX_POLL = 25;

/** A point in time after which waiting fails with exit code 3; Infinity = never. */
export class Deadline {
  readonly at: number;
  constructor(readonly timeout: number) {
    this.at = timeout === 0 ? Infinity : Date.now() + timeout;
  }
  get expired(): boolean {
    return Date.now() >= this.at;
  }
  /** Sleeps `ms` but not past the deadline. */
  async pause(ms: number): Promise<void> {
    await sleep(Math.max(0, Math.min(ms, this.at - Date.now())));
  }
}

/** Grows a poll interval 1, 2, 4, ... MAX_POLL ms; reset() after progress. */
class Backoff {
  private ms = 1;
  next(): number {
    const current = this.ms;
    this.ms = Math.min(this.ms * 2, MAX_POLL);
    return current;
  }
  reset(): void {
    this.ms = 1;
  }
}

function describe(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isFile()) return 'a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a FIFO';
}

function errnoToCli(err: unknown, path: string): CliError {
  if (isErrno(err, 'ENOENT', 'ENOTDIR')) return new CliError(ExitCode.NO_PIPE, `no such pipe: ${path}`);
  if (isErrno(err, 'EACCES', 'EPERM')) return new CliError(ExitCode.PERMISSION, `permission denied: ${path}`);
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(ExitCode.FAILURE, `${path}: ${message}`);
}

function checkFifo(st: fs.Stats, path: string): void {
  if (!st.isFIFO()) throw new CliError(ExitCode.NOT_A_FIFO, `${path} is ${describe(st)}, not a FIFO`);
}

/**
 * Opens the FIFO at `path` non-blocking for reading or writing. A writer
 * waits (polling) until the FIFO has a reader or the deadline passes.
 * Errors are CliErrors: 4 missing, 5 not a FIFO, 6 permission, 3 timeout.
 */
export async function openFifo(path: string, mode: 'read' | 'write', deadline: Deadline): Promise<number> {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (err) {
    throw errnoToCli(err, path);
  }
  checkFifo(st, path);
  const flags = (mode === 'read' ? O_RDONLY : O_WRONLY) | O_NONBLOCK;
  const backoff = new Backoff();
  for (;;) {
    let fd: number;
    try {
      fd = fs.openSync(path, flags);
    } catch (err) {
      if (!isErrno(err, 'ENXIO', 'EINTR')) throw errnoToCli(err, path);
      if (deadline.expired) {
        throw new CliError(
          ExitCode.TIMEOUT,
          `timed out after ${deadline.timeout} ms: nobody is reading ${path} (is the server running?)`,
        );
      }
      await deadline.pause(backoff.next());
      continue;
    }
    try {
      checkFifo(fs.fstatSync(fd), path); // the path may have been swapped since stat()
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return fd;
  }
}

/** Writes all of `data` to a non-blocking FIFO fd, polling while the pipe is full. */
export async function writeAll(fd: number, data: Buffer, path: string, deadline: Deadline): Promise<void> {
  let offset = 0;
  const backoff = new Backoff();
  while (offset < data.length) {
    try {
      offset += fs.writeSync(fd, data, offset, data.length - offset);
      backoff.reset();
      continue;
    } catch (err) {
      if (isErrno(err, 'EPIPE')) {
        throw new CliError(ExitCode.FAILURE, `the reader of ${path} went away (${offset} of ${data.length} bytes sent)`);
      }
      if (!isErrno(err, 'EAGAIN', 'EINTR')) throw errnoToCli(err, path);
    }
    if (deadline.expired) {
      throw new CliError(
        ExitCode.TIMEOUT,
        `timed out after ${deadline.timeout} ms writing ${path}: the reader is not reading (${offset} of ${data.length} bytes sent)`,
      );
    }
    await deadline.pause(backoff.next());
  }
}

/**
 * Reads up to `count` newline-terminated messages from a non-blocking FIFO
 * fd, calling `onMessage` for each (without its newline). A fragment left by
 * a writer that closed counts as a message. While no writer has the FIFO
 * open it waits for one; once a writer was seen, end-of-file (every writer
 * left, e.g. the server stopped) fails with exit code 1, like `read` at EOF.
 * Throws a timeout CliError naming how many messages arrived.
 */
export async function readMessages(
  fd: number,
  count: number,
  onMessage: (message: Buffer) => void,
  path: string,
  deadline: Deadline,
): Promise<void> {
  const byte = Buffer.alloc(1);
  const backoff = new Backoff();
  let line: number[] = [];
  let received = 0;
  let sawWriter = false;
  while (received < count) {
    let n: number;
    try {
      n = fs.readSync(fd, byte, 0, 1, null);
    } catch (err) {
      if (!isErrno(err, 'EAGAIN', 'EINTR')) throw errnoToCli(err, path);
      n = -1;
    }
    if (n !== 0) sawWriter = true;
    if (n === 1) {
      backoff.reset();
      if (byte[0] === 10) {
        onMessage(Buffer.from(line));
        line = [];
        received += 1;
      } else {
        line.push(byte[0] as number);
      }
      continue;
    }
    if (n === 0 && line.length > 0) {
      // end of file: the last writer left mid-line
      onMessage(Buffer.from(line));
      line = [];
      received += 1;
      continue;
    }
    if (n === 0 && sawWriter) {
      throw new CliError(ExitCode.FAILURE, `end of stream on ${path}: the writer closed it after ${received} of ${count} message(s)`);
    }
    // n === 0 before any writer: wait for one; -1: a writer, no data yet
    if (deadline.expired) {
      const writer = n === 0 ? ' (no writer has the pipe open: is the server running?)' : '';
      throw new CliError(
        ExitCode.TIMEOUT,
        `timed out after ${deadline.timeout} ms on ${path}: received ${received} of ${count} message(s)${writer}`,
      );
    }
    await deadline.pause(backoff.next());
  }
}
