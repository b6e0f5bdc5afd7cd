/**
 * flock(2) for Node, which has no binding for it: a short-lived helper
 * program receives our fd as its fd 3 and runs `flock(3, LOCK_EX|LOCK_NB)`.
 * A flock lock belongs to the open file description, which the helper shares
 * with us, so the lock outlives the helper and is held until our fd closes:
 * on release, on exit, and on SIGKILL alike (the kernel drops it). The
 * helper is util-linux `flock` (Linux), else `perl` (present on macOS).
 */
import { spawn } from 'node:child_process';
import { pipeIOError } from '../errors';

/** Exit status the helpers use for "held by someone else". */
const BUSY = 75;

interface Helper {
  command: string;
  args: string[];
}

const HELPERS: Helper[] = [
  { command: 'flock', args: ['-n', '-E', String(BUSY), '3'] },
  {
    command: 'perl',
    args: ['-e', `use Fcntl ':flock'; open(my $fh, '<&=', 3) or exit 2; flock($fh, LOCK_EX | LOCK_NB) or exit ${BUSY}; exit 0`],
  },
];

let preferred: Helper | undefined;

function run(helper: Helper, fd: number, timeout: number): Promise<number | 'missing'> {
  return new Promise((resolve, reject) => {
    const child = spawn(helper.command, helper.args, { stdio: ['ignore', 'ignore', 'pipe', fd], timeout });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') resolve('missing');
      else reject(err);
    });
    child.once('close', (code, signal) => {
      if (code !== null) return resolve(code);
      reject(new Error(`${helper.command} was killed by ${signal ?? 'a signal'} (timeout ${timeout} ms) ${stderr}`.trim()));
    });
  });
}

/**
 * Tries to take an exclusive flock on `fd` without waiting. Resolves `true`
 * if we now hold it, `false` if another open file description holds it.
 * Rejects with `PIPEIO_ERR_PIDFILE_INVALID` if no helper program is available.
 * @param timeout Deadline for the helper process in milliseconds. @default 10000
 */
export async function tryFlock(fd: number, timeout = 10000): Promise<boolean> {
  const candidates = preferred ? [preferred] : HELPERS;
  for (const helper of candidates) {
    const status = await run(helper, fd, timeout);
    if (status === 'missing') continue;
    preferred = helper;
    if (status === 0) return true;
    if (status === BUSY) return false;
    throw pipeIOError('PIPEIO_ERR_PIDFILE_INVALID', `${helper.command} failed with status ${status} while locking`);
  }
  throw pipeIOError(
    'PIPEIO_ERR_PIDFILE_INVALID',
    'locking a pidfile needs the flock program (util-linux) or perl on PATH; neither was found',
  );
}
