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
import { runHub } from './hub';
import { runCall, runExplore } from './hub-call';
import { runBroadcast, runListen, runPublish, runSubscribe } from './hub-pubsub';
import { runProvide } from './provide';
import { runRecv, runSend } from './send-recv';
import { runServe } from './serve';

type Command = (argv: string[], io: CliIO) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  serve: runServe,
  exec: runExec,
  send: runSend,
  recv: runRecv,
  hub: runHub,
  provide: runProvide,
  call: runCall,
  publish: runPublish,
  subscribe: runSubscribe,
  broadcast: runBroadcast,
  listen: runListen,
  explore: runExplore,
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
