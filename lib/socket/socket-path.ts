/**
 * Socket paths: the OS length limit of `sun_path`, owner-only parent
 * directories, and the stale-socket probe. Nothing here follows a symlink at
 * the socket path or touches a file that is not a socket.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { isErrno, pipeIOError } from '../errors';

/**
 * Longest socket path in bytes for a platform: `sizeof(sun_path) - 1`,
 * i.e. 107 on Linux, 103 on macOS and the BSDs.
 */
export function maxSocketPathLength(platform: NodeJS.Platform = process.platform): number {
  return platform === 'linux' ? 107 : 103;
}

/**
 * Throws `PIPEIO_ERR_SOCKET_PATH_TOO_LONG` if `socketPath` (in UTF-8 bytes)
 * is longer than the platform limit; a TypeError if it is empty or not a string.
 */
export function checkSocketPath(socketPath: string, platform: NodeJS.Platform = process.platform): void {
  if (typeof socketPath !== 'string' || socketPath.length === 0) {
    throw new TypeError('the socket path must be a non-empty string');
  }
  if (socketPath.includes('\0')) throw new TypeError('the socket path must not contain NUL bytes');
  const bytes = Buffer.byteLength(socketPath, 'utf8');
  const max = maxSocketPathLength(platform);
  if (bytes > max) {
    throw pipeIOError(
      'PIPEIO_ERR_SOCKET_PATH_TOO_LONG',
      `socket path is ${bytes} bytes, longer than the ${max}-byte limit of ${platform}: ${socketPath}`,
      { path: socketPath },
    );
  }
}

/**
 * Creates the missing parents of `dir` with mode 0700 (exactly: the mode is
 * set by chmod after mkdir, so the umask cannot widen or narrow it). Existing
 * directories are left as they are.
 */
export function ensurePrivateDir(dir: string): void {
  const missing: string[] = [];
  let cur = path.resolve(dir);
  for (;;) {
    try {
      const st = fs.statSync(cur);
      if (!st.isDirectory()) {
        throw pipeIOError('PIPEIO_ERR_PERMISSION', `${cur} exists and is not a directory`, { path: cur });
      }
      break;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      missing.push(cur);
      const parent = path.dirname(cur);
      if (parent === cur) break;
      cur = parent;
    }
  }
  for (const d of missing.reverse()) {
    try {
      // 0700 & ~umask can only be narrower than 0700, never wider: no window.
      fs.mkdirSync(d, { mode: 0o700 });
      fs.chmodSync(d, 0o700);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) {
        if (isErrno(err, 'EACCES', 'EPERM')) {
          throw pipeIOError('PIPEIO_ERR_PERMISSION', `cannot create directory ${d}`, { path: d, cause: err });
        }
        throw err;
      }
    }
  }
}

/** What sits at a socket path. */
export type SocketPathState = 'missing' | 'stale' | 'live';

/**
 * Probes `socketPath`: `'missing'` if nothing is there, `'live'` if a server
 * accepts connections, `'stale'` if it is a socket nobody listens on
 * (ECONNREFUSED: a crashed run left it). Anything that is not a socket is
 * `PIPEIO_ERR_NOT_A_SOCKET` (a symlink included: never followed).
 * @param timeout Deadline of the probe connect in milliseconds. @default 1000
 */
export async function probeSocketPath(socketPath: string, timeout = 1000): Promise<SocketPathState> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'missing';
    throw err;
  }
  if (!st.isSocket()) {
    throw pipeIOError('PIPEIO_ERR_NOT_A_SOCKET', `${socketPath} exists and is not a socket; refusing to touch it`, {
      path: socketPath,
    });
  }
  return new Promise<SocketPathState>((resolve, reject) => {
    const sock = net.connect(socketPath);
    const timer = setTimeout(() => finish('live'), timeout); // accepted-but-slow backlog: someone is there
    function finish(state: SocketPathState | Error): void {
      clearTimeout(timer);
      sock.removeListener('connect', probeOnConnect);
      sock.removeListener('error', probeOnError);
      sock.on('error', () => undefined);
      sock.destroy();
      if (state instanceof Error) reject(state);
      else resolve(state);
    }
    function probeOnConnect(): void {
      finish('live');
    }
    function probeOnError(err: Error): void {
      if (isErrno(err, 'ECONNREFUSED')) finish('stale');
      else if (isErrno(err, 'ENOENT')) finish('missing');
      else if (isErrno(err, 'EAGAIN')) finish('live'); // backlog full: it is alive
      else if (isErrno(err, 'EACCES', 'EPERM')) {
        finish(pipeIOError('PIPEIO_ERR_PERMISSION', `permission denied on ${socketPath}`, { path: socketPath, cause: err }));
      } else finish(err);
    }
    sock.once('connect', probeOnConnect);
    sock.once('error', probeOnError);
  });
}

/** Unlinks `socketPath` only if it is still the socket inode `ino`/`dev`. */
export function removeSocketIfSame(socketPath: string, id: { dev: number; ino: number }): void {
  try {
    const st = fs.lstatSync(socketPath);
    if (st.isSocket() && st.ino === id.ino && st.dev === id.dev) fs.unlinkSync(socketPath);
  } catch {
    /* gone already */
  }
}
