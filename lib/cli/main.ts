#!/usr/bin/env node
/**
 * `pipe-io-server` command line: serve, exec, send, recv. Entry point of
 * package.json `bin` (compiled to dist/cli/main.js). Exit codes: see
 * {@link ExitCode} and docs/cli.md.
 */
import { PipeIOError } from '../errors';
import { CliError, ExitCode, packageVersion, usageError, type CliIO } from './common';
import { runExec } from './exec';
import { MAIN_HELP } from './help';
import { runRecv, runSend } from './send-recv';
import { runServe } from './serve';

type Command = (argv: string[], io: CliIO) => Promise<number>;

/**
 * A command whose module is loaded when it runs: the hub commands need
 * msgpackr (node_modules), the pipe commands (serve, exec, send, recv) do not
 * and keep working from a bare copy of dist/.
 */
function lazy<M>(load: () => Promise<M>, pick: (m: M) => Command): Command {
  return async (argv, io) => pick(await load())(argv, io);
}

const COMMANDS: Record<string, Command> = {
  serve: runServe,
  exec: runExec,
  send: runSend,
  recv: runRecv,
  hub: lazy(() => import('./hub'), (m) => m.runHub),
  provide: lazy(() => import('./provide'), (m) => m.runProvide),
  call: lazy(() => import('./hub-call'), (m) => m.runCall),
  publish: lazy(() => import('./hub-pubsub'), (m) => m.runPublish),
  subscribe: lazy(() => import('./hub-pubsub'), (m) => m.runSubscribe),
  broadcast: lazy(() => import('./hub-pubsub'), (m) => m.runBroadcast),
  listen: lazy(() => import('./hub-pubsub'), (m) => m.runListen),
  explore: lazy(() => import('./hub-call'), (m) => m.runExplore),
  top: lazy(() => import('./top'), (m) => m.runTop),
  gateway: lazy(() => import('./gateway'), (m) => m.runGateway),
};

/** Exit code for a library error reaching the top. */
function exitCodeOf(err: PipeIOError): number {
  switch (err.code) {
    case 'PIPEIO_ERR_PIPE_MISSING':
      return ExitCode.NO_PIPE;
    case 'PIPEIO_ERR_NOT_A_FIFO':
      return ExitCode.NOT_A_FIFO;
    case 'PIPEIO_ERR_PERMISSION':
      return ExitCode.PERMISSION;
    case 'PIPEIO_ERR_TIMEOUT':
      return ExitCode.TIMEOUT;
    default:
      return ExitCode.FAILURE;
  }
}

/**
 * Runs the CLI with `argv` (without node and script) and resolves with the
 * exit code; errors are reported on `io.stderr`, never thrown.
 */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv;
  const name = first !== undefined && Object.hasOwn(COMMANDS, first) ? first : '';
  try {
    if (first === undefined) {
      io.stderr.write(MAIN_HELP);
      return ExitCode.USAGE;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      io.stdout.write(MAIN_HELP);
      return ExitCode.OK;
    }
    if (first === '--version' || first === '-v') {
      io.stdout.write(`${packageVersion()}\n`);
      return ExitCode.OK;
    }
    const command = COMMANDS[name];
    if (!command) {
      throw usageError('', first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`);
    }
    return await command(rest, io);
  } catch (err) {
    const prefix = name ? `pipe-io-server ${name}` : 'pipe-io-server';
    if (err instanceof CliError) {
      io.stderr.write(`${prefix}: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof PipeIOError) {
      io.stderr.write(`${prefix}: ${err.message} [${err.code}]\n`);
      return exitCodeOf(err);
    }
    io.stderr.write(`${prefix}: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.FAILURE;
  }
}

function stdoutOnError(err: NodeJS.ErrnoException): void {
  // the reader of our stdout went away (e.g. `| head -1`): nothing more to say
  if (err.code === 'EPIPE') return;
  process.stderr.write(`pipe-io-server: stdout: ${err.message}\n`);
  process.exitCode = ExitCode.FAILURE;
}

if (require.main === module) {
  process.stdout.on('error', stdoutOnError);
  void main(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  }).then((code) => {
    process.exitCode = code;
  });
}
