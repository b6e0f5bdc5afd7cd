/**
 * Binding a Unix socket path safely, shared by UnixServer and the hub:
 * check the path length, make missing parents 0700, probe what is there
 * (missing | stale -> unlink | live -> ADDRESS_IN_USE | not a socket ->
 * NOT_A_SOCKET, never touched), then bind with an exact mode
 * ({@link listenPrivately}).
 */
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import { isErrno, pipeIOError } from '../errors';
import { listenPrivately } from './private-listen';
import { checkSocketPath, ensurePrivateDir, probeSocketPath } from './socket-path';

/** The identity of the bound socket inode (to remove only our own file later). */
export interface BoundSocket {
  dev: number;
  ino: number;
}

export interface BindOptions {
  backlog?: number;
  /**
   * true: missing parent directories are created 0700 (UnixServer). false: a missing
   * directory is refused with `PIPEIO_ERR_NO_DIRECTORY` (the hub: as root, creating
   * `/run/user/1000` for a mistyped path would break that user's session later).
   * @default true
   */
  createParents?: boolean;
}

/**
 * Makes `server` listen on `socketPath` with `mode`. Rejects with
 * `PIPEIO_ERR_SOCKET_PATH_TOO_LONG`, `PIPEIO_ERR_NO_DIRECTORY`, `PIPEIO_ERR_ADDRESS_IN_USE`,
 * `PIPEIO_ERR_NOT_A_SOCKET` or `PIPEIO_ERR_PERMISSION`.
 */
export async function bindUnixSocket(server: net.Server, socketPath: string, mode: number, options: BindOptions = {}): Promise<BoundSocket> {
  const { backlog, createParents = true } = options;
  checkSocketPath(socketPath);
  if (createParents) ensurePrivateDir(path.dirname(socketPath));
  else requireDirectory(path.dirname(socketPath));
  for (let attempt = 0; ; attempt++) {
    const state = await probeSocketPath(socketPath);
    if (state === 'live') {
      throw pipeIOError('PIPEIO_ERR_ADDRESS_IN_USE', `a server already listens on ${socketPath}`, { path: socketPath });
    }
    if (state === 'stale') unlinkStale(socketPath);
    try {
      const bound = await listenPrivately(server, socketPath, mode, backlog);
      return { dev: bound.dev, ino: bound.ino };
    } catch (err) {
      // Someone bound the path between our probe and link(): probe again.
      if (isErrno(err, 'EEXIST') && attempt < 2) continue;
      if (isErrno(err, 'EACCES', 'EPERM')) {
        throw pipeIOError('PIPEIO_ERR_PERMISSION', `cannot bind ${socketPath}`, { path: socketPath, cause: err });
      }
      throw err;
    }
  }
}

/** Refuses a socket directory that does not exist (or is not a directory), creating nothing. */
function requireDirectory(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    if (!isErrno(err, 'ENOENT', 'ENOTDIR')) throw err;
    throw pipeIOError('PIPEIO_ERR_NO_DIRECTORY', `the directory ${dir} does not exist; create it first (mkdir -m 700 ${dir}): the hub creates no directories`, {
      path: dir,
      cause: err,
    });
  }
  if (!st.isDirectory()) throw pipeIOError('PIPEIO_ERR_NO_DIRECTORY', `${dir} is not a directory`, { path: dir });
}

function unlinkStale(socketPath: string): void {
  try {
    // Re-checked right before unlinking: whatever replaced the socket since the probe is left alone.
    if (!fs.lstatSync(socketPath).isSocket()) {
      throw pipeIOError('PIPEIO_ERR_NOT_A_SOCKET', `${socketPath} is no longer a socket; refusing to touch it`, {
        path: socketPath,
      });
    }
    fs.unlinkSync(socketPath);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return; // gone meanwhile: fine
    if (isErrno(err, 'EACCES', 'EPERM')) {
      throw pipeIOError('PIPEIO_ERR_PERMISSION', `cannot remove stale socket ${socketPath}`, { path: socketPath, cause: err });
    }
    throw err;
  }
}
