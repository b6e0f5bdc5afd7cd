/**
 * `pipe-io-server gateway`: the hub on the web (lib/gateway) in the
 * foreground until SIGINT/SIGTERM; and {@link startHttpGateway}, which
 * `pipe-io-server hub --http` uses to serve it from the hub process itself.
 */
import * as fs from 'node:fs';
import { isErrno } from '../errors';
import { HubGateway } from '../gateway/gateway';
import type { GatewaySource } from '../gateway/hub-side';
import type { GatewayOptions } from '../gateway/options';
import { CliError, ExitCode, parseCommandArgs, usageError, type CliIO, type OptionSpec } from './common';
import { GATEWAY_HELP } from './gateway-help';
import { parseHostPort } from './hub-address';
import { connectionOf } from './hub-remote';

/** The options `gateway` and `hub --http` share. */
export const HTTP_OPTIONS: OptionSpec = {
  http: { type: 'string' },
  channel: { type: 'string', short: 'c', multiple: true },
  topic: { type: 'string', multiple: true },
  'token-file': { type: 'string' },
  cors: { type: 'string', multiple: true },
  prefix: { type: 'string' },
};

function readLine(command: string, option: string, file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'EACCES', 'EPERM')) throw new CliError(ExitCode.PERMISSION, `--${option}: permission denied: ${file}`);
    throw new CliError(ExitCode.FAILURE, `--${option}: cannot read ${file}`);
  }
  const line = text.replace(/\r?\n$/, '');
  if (line === '') throw usageError(command, `--${option} is empty`);
  return line;
}

/** Gateway options from the command line (`--channel`, `--topic C:T`, `--token-file`, `--cors`, `--prefix`). */
export function gatewayOptionsOf(command: string, values: Record<string, unknown>): GatewayOptions {
  const options: GatewayOptions = {};
  const channels = values['channel'] as string[] | undefined;
  if (channels && channels.length > 0) options.channels = channels;
  const topics: Record<string, string[]> = {};
  for (const t of (values['topic'] as string[] | undefined) ?? []) {
    const cut = t.indexOf(':');
    if (cut <= 0 || cut === t.length - 1) throw usageError(command, `--topic takes CHANNEL:TOPIC (got ${JSON.stringify(t)})`);
    (topics[t.slice(0, cut)] ??= []).push(t.slice(cut + 1));
  }
  if (Object.keys(topics).length > 0) options.topics = topics;
  if (values['token-file'] !== undefined) {
    const expected = `Bearer ${readLine(command, 'token-file', values['token-file'] as string)}`;
    options.authorize = (req) => req.headers.authorization === expected;
  }
  const cors = values['cors'] as string[] | undefined;
  if (cors && cors.length > 0) options.cors = { origins: cors.includes('*') ? '*' : cors };
  if (values['prefix'] !== undefined) options.prefix = values['prefix'] as string;
  return options;
}

/** Starts a gateway on `--http HOST:PORT`; prints where. */
export async function startHttpGateway(
  command: string,
  source: GatewaySource,
  values: Record<string, unknown>,
  say: (line: string) => void,
  extra: GatewayOptions = {},
): Promise<HubGateway> {
  const { host, port } = parseHostPort(command, values['http'] as string);
  let gateway: HubGateway;
  try {
    gateway = new HubGateway(source, { ...gatewayOptionsOf(command, values), ...extra });
  } catch (err) {
    throw usageError(command, err instanceof Error ? err.message : String(err));
  }
  try {
    const addr = await gateway.listen({ host, port });
    const shown = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
    say(`gateway listening on http://${shown}:${addr.port}`);
  } catch (err) {
    await gateway.close();
    throw err;
  }
  return gateway;
}

/** Resolves on SIGINT or SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Runs `gateway`; resolves with the exit code once stopped by a signal. */
export async function runGateway(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(
    'gateway',
    argv,
    {
      ...HTTP_OPTIONS,
      hub: { type: 'string' },
      'secret-file': { type: 'string' },
      'secret-env': { type: 'string' },
      'tls-ca': { type: 'string' },
      'password-file': { type: 'string', multiple: true },
      quiet: { type: 'boolean', short: 'q' },
    },
    false,
  );
  if (values['help']) {
    io.stdout.write(GATEWAY_HELP);
    return ExitCode.OK;
  }
  if (values['http'] === undefined) throw usageError('gateway', '--http HOST:PORT is required');
  // The hub address forms, TLS and the secret as every hub command takes them (--password-file differs: CHANNEL=FILE).
  const { 'password-file': _channelPasswords, ...connValues } = values;
  const { address, secret } = connectionOf('gateway', connValues as Record<string, string | boolean | undefined>, io);
  const say = (line: string): void => {
    if (!values['quiet']) io.stdout.write(`${line}\n`);
  };
  const passwords: Record<string, string> = {};
  for (const spec of (values['password-file'] as unknown as string[] | undefined) ?? []) {
    const cut = spec.indexOf('=');
    if (cut <= 0) throw usageError('gateway', `--password-file takes CHANNEL=FILE (got ${JSON.stringify(spec)})`);
    passwords[spec.slice(0, cut)] = readLine('gateway', 'password-file', spec.slice(cut + 1));
  }
  const extra: GatewayOptions = { passwords, ...(secret === undefined ? {} : { clientOptions: { secret } }) };
  const gateway = await startHttpGateway('gateway', { address }, values, say, extra);
  await untilSignal();
  await gateway.close();
  say('gateway stopped');
  return ExitCode.OK;
}
