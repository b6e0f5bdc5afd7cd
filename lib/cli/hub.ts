/**
 * `pipe-io-server hub`: a comm-ipc-compatible Hub in the foreground until
 * SIGINT/SIGTERM. Prints where it listens (one line per listener).
 */
import * as fs from 'node:fs';
import { isErrno } from '../errors';
import { Hub } from '../hub/server/hub';
import type { HubOptions } from '../hub/server/options';
import { CliError, ExitCode, parseCommandArgs, usageError, type CliIO } from './common';
import { HUB_HELP } from './help';
import { defaultHubSocket, parseHostPort } from './hub-address';

function readFileOption(option: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'EACCES', 'EPERM')) throw new CliError(ExitCode.PERMISSION, `--${option}: permission denied: ${file}`);
    throw new CliError(ExitCode.FAILURE, `--${option}: cannot read ${file}`);
  }
}

/** Runs `hub`; resolves with the exit code once stopped by a signal. */
export async function runHub(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(
    'hub',
    argv,
    {
      socket: { type: 'string', short: 's' },
      tcp: { type: 'string', short: 't' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'secret-file': { type: 'string' },
      'server-id': { type: 'string' },
      'lb-policy': { type: 'string' },
      'channel-policy': { type: 'string' },
      'error-policy': { type: 'string' },
      'allow-bridges': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
    },
    false,
  );
  if (values['help']) {
    io.stdout.write(HUB_HELP);
    return ExitCode.OK;
  }
  const cert = values['tls-cert'] as string | undefined;
  const key = values['tls-key'] as string | undefined;
  if ((cert === undefined) !== (key === undefined)) throw usageError('hub', '--tls-cert and --tls-key go together');
  if (cert !== undefined && values['tcp'] === undefined) throw usageError('hub', 'TLS needs --tcp HOST:PORT');
  const options: HubOptions = {};
  if (values['server-id'] !== undefined) options.serverId = values['server-id'] as string;
  if (values['secret-file'] !== undefined) {
    options.secret = readFileOption('secret-file', values['secret-file'] as string).replace(/\r?\n$/, '');
    if (options.secret === '') throw usageError('hub', '--secret-file is empty');
  }
  for (const [flag, key2] of [
    ['lb-policy', 'lbPolicy'],
    ['channel-policy', 'channelPolicy'],
    ['error-policy', 'errorPolicy'],
  ] as const) {
    if (values[flag] !== undefined) (options as Record<string, unknown>)[key2] = values[flag];
  }
  if (values['allow-bridges']) options.allowBridges = true;
  let hub: Hub;
  try {
    hub = new Hub(options);
  } catch (err) {
    throw usageError('hub', err instanceof Error ? err.message : String(err));
  }
  hub.on('clientError', () => undefined);
  const say = (line: string): void => {
    if (!values['quiet']) io.stdout.write(`${line}\n`);
  };
  try {
    const socketPath = (values['socket'] as string | undefined) ?? (values['tcp'] === undefined ? defaultHubSocket(io.env) : undefined);
    if (socketPath !== undefined) {
      await hub.listen({ path: socketPath });
      say(`hub ${hub.serverId} listening on unix:${socketPath}`);
    }
    if (values['tcp'] !== undefined) {
      const { host, port } = parseHostPort('hub', values['tcp'] as string);
      const tls = cert !== undefined ? { cert: readFileOption('tls-cert', cert), key: readFileOption('tls-key', key!) } : undefined;
      const addr = (await hub.listen({ host, port, ...(tls ? { tls } : {}) })) as { host: string; port: number };
      say(`hub ${hub.serverId} listening on ${tls ? 'tls' : 'tcp'}:${addr.host}:${addr.port}`);
    }
  } catch (err) {
    await hub.stop();
    throw err;
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await hub.stop();
  say('hub stopped');
  return ExitCode.OK;
}
