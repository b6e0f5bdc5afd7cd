/**
 * Binding a Unix socket with an exact mode and no window where it is wider,
 * without touching the process umask (racy, and not allowed in workers):
 *
 *   1. mkdir DIR/.XXXXXXXX with mode 0700 (only the owner can reach inside)
 *   2. listen on DIR/.XXXXXXXX/s (its mode follows the umask, harmless here)
 *   3. chmod DIR/.XXXXXXXX/s to `mode`
 *   4. link() it to the final path: atomic, and fails with EEXIST instead of
 *      clobbering whatever appeared there meanwhile
 *   5. unlink the temporary name, rmdir the private directory
 *
 * The listening socket stays bound to the inode, so clients connect through
 * the final name. On any failure everything made here is removed.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { isErrno, pipeIOError } from '../errors';
import { maxSocketPathLength } from './socket-path';

/** The listening server and the identity of the socket inode it is bound to. */
export interface PrivateListenResult {
  server: net.Server;
  dev: number;
  ino: number;
}

const NAME_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomName(length: number): string {
  const bytes = randomBytes(length);
  let name = '';
  for (let i = 0; i < length; i++) name += NAME_ALPHABET[bytes[i]! % NAME_ALPHABET.length];
  return name;
}

/** Creates a fresh 0700 directory next to `socketPath` whose `s` child fits the path limit. */
function makeBindDir(socketPath: string): string {
  const dir = path.dirname(socketPath);
  // DIR + '/.' + name + '/s' must fit in sun_path.
  const room = maxSocketPathLength() - Buffer.byteLength(dir, 'utf8') - 4;
  const length = Math.min(10, room);
  if (length < 4) {
    throw pipeIOError(
      'PIPEIO_ERR_SOCKET_PATH_TOO_LONG',
      `the directory of ${socketPath} leaves no room (under the ${maxSocketPathLength()}-byte limit) for the private bind directory; use a shorter directory`,
      { path: socketPath },
    );
  }
  for (let attempt = 0; ; attempt++) {
    const candidate = path.join(dir, `.${randomName(length)}`);
    try {
      fs.mkdirSync(candidate, { mode: 0o700 });
      fs.chmodSync(candidate, 0o700);
      return candidate;
    } catch (err) {
      if (isErrno(err, 'EEXIST') && attempt < 10) continue;
      if (isErrno(err, 'EACCES', 'EPERM')) {
        throw pipeIOError('PIPEIO_ERR_PERMISSION', `cannot create a directory in ${dir}`, { path: dir, cause: err });
      }
      throw err;
    }
  }
}

function listen(server: net.Server, bindPath: string, backlog: number | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    function serverOnError(err: Error): void {
      server.removeListener('listening', serverOnListening);
      reject(err);
    }
    function serverOnListening(): void {
      server.removeListener('error', serverOnError);
      resolve();
    }
    server.once('error', serverOnError);
    server.once('listening', serverOnListening);
    server.listen({ path: bindPath, backlog });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Listens on `socketPath` with exactly `mode`, as described above. Rejects
 * with the `link()` error (EEXIST...) if the final path got taken; the caller
 * decides whether to probe and retry.
 */
export async function listenPrivately(
  server: net.Server,
  socketPath: string,
  mode: number,
  backlog?: number,
): Promise<PrivateListenResult> {
  const bindDir = makeBindDir(socketPath);
  const bindPath = path.join(bindDir, 's');
  let listening = false;
  try {
    await listen(server, bindPath, backlog);
    listening = true;
    fs.chmodSync(bindPath, mode & 0o777);
    fs.linkSync(bindPath, socketPath);
    const st = fs.lstatSync(socketPath);
    return { server, dev: st.dev, ino: st.ino };
  } catch (err) {
    if (listening) await closeServer(server);
    throw err;
  } finally {
    try {
      fs.unlinkSync(bindPath);
    } catch {
      /* never bound, or removed by close() */
    }
    try {
      fs.rmdirSync(bindDir);
    } catch {
      /* best effort */
    }
  }
}
