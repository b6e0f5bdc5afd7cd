/**
 * Pidfile: a "don't start twice" guard, interoperable with flock-based
 * pidfiles (codechu-ipc, Python `fcntl.flock`, util-linux `flock`).
 *
 *   acquire(path):
 *     mkdir parents 0700
 *     fd = open(path, O_RDWR|O_CREAT|O_NOFOLLOW, 0600)   never follows a symlink
 *     flock(fd, LOCK_EX|LOCK_NB) through a helper         see ./flock.ts
 *       busy -> read the holder's PID -> PIPEIO_ERR_PIDFILE_LOCKED (err.pid)
 *     path still names fd's inode?                         else a releaser unlinked it: retry
 *     empty or a PID?                                      else not a pidfile: never clobbered
 *     ftruncate + write "PID\n", fchmod 0600
 *   release():  unlink (if still ours), then close fd      the kernel drops the lock
 *
 * The lock, not the file's content, decides: a file left by a SIGKILLed
 * holder, or naming a PID that now belongs to another process, is not
 * locked by anyone, so it never blocks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isErrno, pipeIOError } from '../errors';
import { ensurePrivateDir } from '../socket/socket-path';
import { tryFlock } from './flock';

const { O_RDWR, O_CREAT, O_NOFOLLOW } = fs.constants;

export interface PidfileOptions {
  /** Permission bits of the pidfile. @default 0o600 */
  mode?: number;
  /** Milliseconds to wait for a just-started holder to write its PID, for err.pid. @default 1000 */
  holderPidTimeout?: number;
}

function invalid(file: string, why: string, cause?: unknown): Error {
  return pipeIOError('PIPEIO_ERR_PIDFILE_INVALID', `cannot use ${file} as a pidfile: ${why}`, { path: file, cause });
}

function openPidfile(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600);
  } catch (err) {
    if (isErrno(err, 'ELOOP', 'EMLINK')) throw invalid(file, 'it is a symbolic link (never followed)', err);
    if (isErrno(err, 'EISDIR')) throw invalid(file, 'it is a directory', err);
    if (isErrno(err, 'EACCES', 'EPERM')) {
      throw pipeIOError('PIPEIO_ERR_PERMISSION', `permission denied on ${file}`, { path: file, cause: err });
    }
    throw err;
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw invalid(file, 'it is not a regular file');
  }
  return fd;
}

function parsePid(text: string): number | undefined {
  const m = /^\s*(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** True if the file at `fd` is empty or holds one PID (what any pidfile writer leaves). */
function holdsOnlyPid(fd: number): boolean {
  const buf = Buffer.alloc(64);
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  if (n === 0) return true;
  if (n === buf.length) return false; // no PID is 64 bytes long
  return parsePid(buf.toString('utf8', 0, n)) !== undefined;
}

function readPidFromFd(fd: number): number | undefined {
  const buf = Buffer.alloc(64);
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  return parsePid(buf.toString('utf8', 0, n));
}

/** A held pidfile lock. Get one with {@link Pidfile.acquire} or {@link Pidfile.withLock}. */
export class Pidfile {
  /** Absolute path of the pidfile. */
  readonly path: string;
  /** The PID written in the file (this process). */
  readonly pid: number;
  private fd: number | undefined;
  private readonly dev: number;
  private readonly ino: number;
  private readonly exitListener: () => void;

  private constructor(file: string, fd: number, st: fs.Stats) {
    this.path = file;
    this.pid = process.pid;
    this.fd = fd;
    this.dev = st.dev;
    this.ino = st.ino;
    this.exitListener = () => this.releaseSync();
    process.on('exit', this.exitListener);
  }

  /**
   * Takes the pidfile at `file` or fails at once: creates owner-only parents,
   * writes `PID\n`. Rejects with `PIPEIO_ERR_PIDFILE_LOCKED` (`err.pid` = the
   * holder's PID when it wrote one), `PIPEIO_ERR_PIDFILE_INVALID` (symlink,
   * directory, special file, no locking helper), `PIPEIO_ERR_PERMISSION`.
   */
  static async acquire(file: string, options: PidfileOptions = {}): Promise<Pidfile> {
    if (typeof file !== 'string' || file.length === 0) throw new TypeError('the pidfile path must be a non-empty string');
    const mode = options.mode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new RangeError('options.mode must be within 0..0o777');
    const holderPidTimeout = options.holderPidTimeout ?? 1000;
    const abs = path.resolve(file);
    ensurePrivateDir(path.dirname(abs));
    for (let attempt = 0; ; attempt++) {
      const fd = openPidfile(abs);
      let locked = false;
      try {
        locked = await tryFlock(fd);
        if (!locked) {
          const holder = await readHolderPid(fd, holderPidTimeout);
          throw pipeIOError(
            'PIPEIO_ERR_PIDFILE_LOCKED',
            `${abs} is locked by ${holder === undefined ? 'another process' : `process ${holder}`}`,
            holder === undefined ? { path: abs } : { path: abs, pid: holder },
          );
        }
        const st = fs.fstatSync(fd);
        const now = lstatOrUndefined(abs);
        if (!now || now.ino !== st.ino || now.dev !== st.dev) {
          // We locked an inode a releasing holder just unlinked: start over on the new file.
          fs.closeSync(fd);
          if (attempt >= 10) throw invalid(abs, 'it keeps being replaced while locking');
          continue;
        }
        if (!holdsOnlyPid(fd)) {
          // Not a pidfile (a config file given by mistake...): never clobber it.
          throw invalid(abs, 'it holds something other than a PID; refusing to overwrite it');
        }
        fs.ftruncateSync(fd, 0);
        fs.writeSync(fd, `${process.pid}\n`, 0, 'utf8');
        fs.fchmodSync(fd, mode);
        return new Pidfile(abs, fd, st);
      } catch (err) {
        try {
          fs.closeSync(fd);
        } catch {
          /* closed above */
        }
        throw err;
      }
    }
  }

  /**
   * Runs `fn` while holding the pidfile, releasing it afterwards whatever
   * happens. Resolves with `fn`'s result.
   */
  static async withLock<T>(file: string, fn: (lock: Pidfile) => T | Promise<T>, options?: PidfileOptions): Promise<T> {
    const lock = await Pidfile.acquire(file, options);
    try {
      return await fn(lock);
    } finally {
      lock.releaseSync();
    }
  }

  /**
   * The PID written in the pidfile at `file`, or `undefined` if it is
   * missing or holds no PID. Says nothing about whether it is locked.
   */
  static readPid(file: string): number | undefined {
    try {
      const fd = fs.openSync(file, fs.constants.O_RDONLY | O_NOFOLLOW);
      try {
        return readPidFromFd(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return undefined;
    }
  }

  /** True until released. */
  get held(): boolean {
    return this.fd !== undefined;
  }

  /** Removes the file (if it is still ours) and drops the lock. Idempotent. */
  releaseSync(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    process.removeListener('exit', this.exitListener);
    // Unlink before closing: anyone who opened the old inode meanwhile will see it is gone.
    const st = lstatOrUndefined(this.path);
    if (st && st.ino === this.ino && st.dev === this.dev) {
      try {
        fs.unlinkSync(this.path);
      } catch {
        /* removed by someone else */
      }
    }
    fs.closeSync(fd);
  }

  /** Async form of {@link releaseSync}. */
  async release(): Promise<void> {
    this.releaseSync();
  }

  /** Same as {@link release}; for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.releaseSync();
  }

  /** Same as {@link releaseSync}; for `using`. */
  [Symbol.dispose](): void {
    this.releaseSync();
  }
}

function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch {
    return undefined;
  }
}

/** The holder's PID; a holder that just locked may not have written it yet. */
async function readHolderPid(fd: number, timeout: number): Promise<number | undefined> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const pid = readPidFromFd(fd);
    // A dead PID is the previous holder's, read before the new holder rewrote the file.
    if (pid !== undefined && isAlive(pid)) return pid;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, 'ESRCH');
  }
}
