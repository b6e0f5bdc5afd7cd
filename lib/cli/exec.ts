/**
 * `pipe-io-server exec -- CMD ARGS...`: runs a plugin on a fresh pipe pair
 * and bridges it to the terminal: stdin lines -> plugin, plugin messages ->
 * stdout, plugin stdout/stderr -> stderr.
 *
 *   stdin EOF ──> keep printing replies ──plugin exits──────────────> exit with its status
 *                        │
 *                        └──silent for --linger ms──> stop (SIGTERM, grace, SIGKILL) ──> exit 0
 */
import * as os from 'node:os';
import { isErrno, PipeIOError } from '../errors';
import { LineSplitter } from '../framing/line-splitter';
import type { Plugin } from '../plugin/plugin';
import { spawnPlugin } from '../plugin/plugin-host';
import type { PluginExit } from '../plugin/plugin-process';
import { DEFAULT_GRACE_PERIOD } from '../plugin/types';
import { CliError, ExitCode, flushed, parseCommandArgs, parseCount, usageError, type CliIO } from './common';
import { EXEC_HELP } from './help';

/** Default --linger of exec, in ms. */
export const DEFAULT_LINGER = 1000;

/** Shell-style status of an exit: the code, or 128 + the signal number. */
export function exitStatus(exit: PluginExit): number {
  if (exit.code !== null) return exit.code;
  const number = exit.signal ? os.constants.signals[exit.signal] : undefined;
  return number === undefined ? ExitCode.FAILURE : 128 + number;
}

function spawnFailure(err: PipeIOError, command: string): CliError {
  if (isErrno(err.cause, 'ENOENT')) return new CliError(ExitCode.COMMAND_NOT_FOUND, `command not found: ${command}`);
  if (isErrno(err.cause, 'EACCES', 'EPERM')) {
    return new CliError(ExitCode.CANNOT_EXECUTE, `cannot execute ${command}: permission denied`);
  }
  return new CliError(ExitCode.FAILURE, err.message);
}

/** `exec [--restart] [--max-restarts N] [--linger MS] [--grace MS] -- CMD ARGS...`. */
export async function runExec(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('exec', argv, {
    restart: { type: 'boolean', short: 'r' },
    'max-restarts': { type: 'string' },
    linger: { type: 'string', short: 'l' },
    grace: { type: 'string', short: 'g' },
  });
  if (values.help) {
    io.stdout.write(EXEC_HELP);
    return ExitCode.OK;
  }
  const [command, ...args] = positionals;
  if (command === undefined || command === '') throw usageError('exec', 'missing COMMAND (usage: exec [options] -- COMMAND [ARGS...])');
  const linger = parseCount('exec', 'linger', values.linger as string | undefined, DEFAULT_LINGER);
  const grace = parseCount('exec', 'grace', values.grace as string | undefined, DEFAULT_GRACE_PERIOD);
  const maxRestartsText = values['max-restarts'] as string | undefined;
  const maxRestarts = parseCount('exec', 'max-restarts', maxRestartsText, 5);
  const restart = values.restart === true || maxRestartsText !== undefined ? { maxRestarts } : false;

  let plugin: Plugin;
  try {
    // the plugin's own stdout goes to our stderr: our stdout carries its messages only
    plugin = await spawnPlugin(command, args, { stdout: 2, restart, gracePeriod: grace });
  } catch (err) {
    if (err instanceof PipeIOError && err.code === 'PIPEIO_ERR_SPAWN') throw spawnFailure(err, command);
    throw err;
  }
  return bridge(plugin, io, linger);
}

async function bridge(plugin: Plugin, io: CliIO, linger: number): Promise<number> {
  let stoppedByUs = false;
  let lingerTimer: NodeJS.Timeout | undefined;
  let stdinEnded = false;

  const stopPlugin = (): void => {
    if (plugin.state === 'running' || plugin.state === 'restarting') stoppedByUs = true;
    void plugin.stop().catch(() => {});
  };
  const armLinger = (): void => {
    if (!stdinEnded) return;
    if (lingerTimer) clearTimeout(lingerTimer);
    lingerTimer = setTimeout(stopPlugin, linger);
  };

  const pluginOnMessage = (message: Buffer): void => {
    io.stdout.write(Buffer.concat([message, Buffer.from('\n')]));
    armLinger();
  };
  const pluginOnStderr = (line: string): void => void io.stderr.write(`${line}\n`);
  const pluginOnError = (err: PipeIOError): void => void io.stderr.write(`pipe-io-server exec: ${err.message} [${err.code}]\n`);
  const pluginOnRestart = (attempt: number, delay: number): void =>
    void io.stderr.write(`pipe-io-server exec: plugin crashed; restart ${attempt} in ${delay} ms\n`);
  const pluginOnDrain = (): void => void io.stdin.resume();
  plugin.on('message', pluginOnMessage);
  plugin.on('stderr', pluginOnStderr);
  plugin.on('error', pluginOnError);
  plugin.on('restart', pluginOnRestart);
  plugin.on('drain', pluginOnDrain);

  const splitter = new LineSplitter(
    (line) => {
      if (plugin.state === 'stopping' || plugin.state === 'closed') return;
      try {
        if (!plugin.send(Buffer.from(line))) io.stdin.pause();
      } catch (err) {
        pluginOnError(err as PipeIOError);
      }
    },
    (length) => void io.stderr.write(`pipe-io-server exec: stdin line of ${length}+ bytes is too long; skipped\n`),
  );
  const stdinOnData = (chunk: Buffer | string): void => splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const stdinOnEnd = (): void => {
    splitter.end();
    stdinEnded = true;
    armLinger();
  };
  const stdoutOnError = (): void => stopPlugin();
  io.stdin.on('data', stdinOnData);
  io.stdin.once('end', stdinOnEnd);
  io.stdout.on('error', stdoutOnError);
  process.once('SIGINT', stopPlugin);
  process.once('SIGTERM', stopPlugin);

  const exit = await plugin.wait();

  if (lingerTimer) clearTimeout(lingerTimer);
  process.off('SIGINT', stopPlugin);
  process.off('SIGTERM', stopPlugin);
  io.stdin.off('data', stdinOnData);
  io.stdin.off('end', stdinOnEnd);
  io.stdout.off('error', stdoutOnError);
  // the plugin may end while stdin is still open (a terminal): stop reading it
  io.stdin.pause();
  (io.stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  await flushed(io.stdout);
  return stoppedByUs ? ExitCode.OK : exitStatus(exit);
}
