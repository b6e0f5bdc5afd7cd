/**
 * `pipe-io-server send` and `pipe-io-server recv`: one-shot helpers for
 * scripts. Both have a deadline (--timeout, default 10000 ms) and never hang.
 */
import * as fs from 'node:fs';
import { CliError, ExitCode, flushed, parseCommandArgs, parseCount, usageError, type CliIO } from './common';
import { Deadline, openFifo, readMessages, writeAll } from './fifo-client';
import { RECV_HELP, SEND_HELP } from './help';

/** Default --timeout of send and recv, in ms. */
export const DEFAULT_CLIENT_TIMEOUT = 10000;

function pipeOption(command: string, value: string | undefined, env: string | undefined, envName: string): string {
  const pipe = value ?? env;
  if (pipe === undefined || pipe === '') {
    throw usageError(command, `missing --pipe PATH (or ${envName} in the environment)`);
  }
  return pipe;
}

async function readStdin(stdin: CliIO['stdin']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** `send [--pipe PATH] [--timeout MS] [MESSAGE...]`; resolves with the exit code. */
export async function runSend(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('send', argv, {
    pipe: { type: 'string', short: 'p' },
    timeout: { type: 'string', short: 't' },
  });
  if (values.help) {
    io.stdout.write(SEND_HELP);
    return ExitCode.OK;
  }
  const pipe = pipeOption('send', values.pipe as string | undefined, io.env.PIPE_IO_WRITE_PIPE, 'PIPE_IO_WRITE_PIPE');
  const timeout = parseCount('send', 'timeout', values.timeout as string | undefined, DEFAULT_CLIENT_TIMEOUT);
  let data: Buffer;
  if (positionals.length > 0) {
    const bad = positionals.findIndex((m) => m.includes('\n'));
    if (bad !== -1) throw usageError('send', `MESSAGE ${bad + 1} contains a newline; send one line per argument`);
    data = Buffer.from(positionals.map((m) => `${m}\n`).join(''), 'utf8');
  } else {
    if (io.stdin.isTTY) throw usageError('send', 'no MESSAGE given and stdin is a terminal');
    data = await readStdin(io.stdin);
    if (data.length > 0 && data[data.length - 1] !== 10) data = Buffer.concat([data, Buffer.from('\n')]);
  }
  const deadline = new Deadline(timeout);
  const fd = await openFifo(pipe, 'write', deadline);
  try {
    await writeAll(fd, data, pipe, deadline);
  } finally {
    fs.closeSync(fd);
  }
  return ExitCode.OK;
}

/** `recv [--pipe PATH] [--timeout MS] [--count N]`; resolves with the exit code. */
export async function runRecv(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(
    'recv',
    argv,
    {
      pipe: { type: 'string', short: 'p' },
      timeout: { type: 'string', short: 't' },
      count: { type: 'string', short: 'n' },
    },
    false,
  );
  if (values.help) {
    io.stdout.write(RECV_HELP);
    return ExitCode.OK;
  }
  const pipe = pipeOption('recv', values.pipe as string | undefined, io.env.PIPE_IO_READ_PIPE, 'PIPE_IO_READ_PIPE');
  const timeout = parseCount('recv', 'timeout', values.timeout as string | undefined, DEFAULT_CLIENT_TIMEOUT);
  const count = parseCount('recv', 'count', values.count as string | undefined, 1);
  if (count < 1) throw usageError('recv', 'option --count needs a number >= 1');
  const deadline = new Deadline(timeout);
  const fd = await openFifo(pipe, 'read', deadline);
  try {
    await readMessages(fd, count, (message) => io.stdout.write(Buffer.concat([message, Buffer.from('\n')])), pipe, deadline);
  } catch (err) {
    if (err instanceof CliError) await flushed(io.stdout);
    throw err;
  } finally {
    fs.closeSync(fd);
  }
  await flushed(io.stdout);
  return ExitCode.OK;
}
