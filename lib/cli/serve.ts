/**
 * `pipe-io-server serve`: an echo PipeIOServer on a pair of FIFOs until
 * SIGINT/SIGTERM. Prints where it listens and a bash line that talks to it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isErrno } from '../errors';
import { PipeIOServer } from '../pipe/server';
import { CliError, ExitCode, parseCommandArgs, shellQuote, usageError, type CliIO } from './common';
import { SERVE_HELP } from './help';

const { O_WRONLY, O_NONBLOCK } = fs.constants;

/** Default directory of `serve`'s pair: `$TMPDIR/pipe-io-server-$UID`. */
export function defaultServeDir(): string {
  return path.join(os.tmpdir(), `pipe-io-server-${process.getuid?.() ?? os.userInfo().username}`);
}

/** The bash line printed by `serve` that sends "hello" and prints the reply. */
export function bashOneLiner(inPipe: string, outPipe: string): string {
  return `echo hello > ${shellQuote(inPipe)} && head -n1 ${shellQuote(outPipe)}`;
}

/**
 * Makes sure `dir` is a directory we may use: created 0700 if missing
 * (returns true then). The default directory must be ours and not writable
 * by others, since anyone can create it first in /tmp.
 */
function prepareDir(dir: string, strict: boolean): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw dirError(dir, err);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
    } catch (mkErr) {
      throw dirError(dir, mkErr);
    }
    return true;
  }
  if (!st.isDirectory()) throw new CliError(ExitCode.FAILURE, `${dir} exists and is not a directory`);
  if (strict) {
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new CliError(ExitCode.PERMISSION, `${dir} belongs to another user (uid ${st.uid}); use --dir`);
    }
    if ((st.mode & 0o022) !== 0) {
      throw new CliError(ExitCode.PERMISSION, `${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)}); use --dir`);
    }
  }
  return false;
}

function dirError(dir: string, err: unknown): CliError {
  if (isErrno(err, 'EACCES', 'EPERM')) return new CliError(ExitCode.PERMISSION, `permission denied: cannot create ${dir}`);
  return new CliError(ExitCode.FAILURE, `cannot use directory ${dir}: ${err instanceof Error ? err.message : String(err)}`);
}

/** rmdir that leaves a non-empty directory (someone else's files) alone. */
function removeDirQuietly(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    /* not empty or gone */
  }
}

/** Fails if a live server already reads `inPipe` (a FIFO with a reader). */
function refuseIfServed(inPipe: string): void {
  let fd: number;
  try {
    if (!fs.lstatSync(inPipe).isFIFO()) return; // PipeIOServer reports NOT_A_FIFO
    fd = fs.openSync(inPipe, O_WRONLY | O_NONBLOCK);
  } catch {
    return; // missing, or ENXIO: nobody reads it, a stale FIFO
  }
  fs.closeSync(fd);
  throw new CliError(ExitCode.FAILURE, `another server is already reading ${inPipe}`);
}

/** `serve [--in PATH --out PATH | --dir DIR] [--mode OCTAL] [--quiet]`. */
export async function runServe(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(
    'serve',
    argv,
    {
      in: { type: 'string', short: 'i' },
      out: { type: 'string', short: 'o' },
      dir: { type: 'string', short: 'd' },
      mode: { type: 'string', short: 'm' },
      quiet: { type: 'boolean', short: 'q' },
    },
    false,
  );
  if (values.help) {
    io.stdout.write(SERVE_HELP);
    return ExitCode.OK;
  }
  const inOpt = values.in as string | undefined;
  const outOpt = values.out as string | undefined;
  const dirOpt = values.dir as string | undefined;
  if ((inOpt === undefined) !== (outOpt === undefined)) throw usageError('serve', 'give both --in and --out, or neither');
  if (inOpt !== undefined && dirOpt !== undefined) throw usageError('serve', '--dir cannot be combined with --in/--out');
  const modeText = (values.mode as string | undefined) ?? '600';
  if (!/^0?[0-7]{3}$/.test(modeText)) throw usageError('serve', `--mode needs octal permission bits such as 600 (got ${JSON.stringify(modeText)})`);
  const permissions = parseInt(modeText, 8);

  let inPipe: string;
  let outPipe: string;
  let dir: string | undefined;
  let createdDir = false;
  if (inOpt !== undefined && outOpt !== undefined) {
    inPipe = path.resolve(inOpt);
    outPipe = path.resolve(outOpt);
    if (inPipe === outPipe) throw usageError('serve', '--in and --out must be different paths');
  } else {
    dir = path.resolve(dirOpt ?? defaultServeDir());
    createdDir = prepareDir(dir, dirOpt === undefined);
    inPipe = path.join(dir, 'in');
    outPipe = path.join(dir, 'out');
  }
  refuseIfServed(inPipe);

  const server = new PipeIOServer(inPipe, outPipe, { permissions });
  server.handleMessage = (message) => {
    server.sendMessage(message);
  };
  server.on('error', (err) => io.stderr.write(`pipe-io-server serve: ${err.message} [${err.code}]\n`));
  const stop = (): void => void server.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    try {
      await server.start();
    } catch (err) {
      if (createdDir && dir) removeDirQuietly(dir);
      throw err;
    }
    if (!values.quiet) {
      io.stdout.write(
        `pipe-io-server: echo server running (pid ${process.pid})\n` +
          `  in pipe  (clients write): ${inPipe}\n` +
          `  out pipe (clients read):  ${outPipe}\n` +
          `Try it from bash:\n` +
          `  ${bashOneLiner(inPipe, outPipe)}\n` +
          `Clients and plugins: PIPE_IO_READ_PIPE=${shellQuote(outPipe)} PIPE_IO_WRITE_PIPE=${shellQuote(inPipe)}\n` +
          `Press Ctrl-C to stop.\n`,
      );
    }
    await server.wait();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (createdDir && dir) removeDirQuietly(dir);
  if (!values.quiet) io.stdout.write('pipe-io-server: stopped\n');
  return ExitCode.OK;
}
