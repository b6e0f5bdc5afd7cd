/**
 * Shared pieces of the CLI commands that talk to a running hub (provide,
 * call, publish, subscribe, broadcast, listen, explore): the connection
 * options, the client, their exit codes, JSON arguments and output, and
 * waiting for SIGINT/SIGTERM.
 */
import * as fs from 'node:fs';
import { isErrno, PipeIOError } from '../errors';
import { HubClient } from '../hub/client';
import type { HubClientAddress } from '../hub/client/types';
import { CliError, ExitCode, usageError, type CliIO, type OptionSpec } from './common';
import { defaultHubSocket, parseHubAddress } from './hub-address';

/** Exit codes of the hub client commands beyond the common ones (see docs/cli.md). */
export const HubExit = Object.freeze({
  /** The hub cannot be reached (no socket, refused, TLS failure). */
  UNREACHABLE: 7,
  /** The hub refused us: connection secret or channel password. */
  REFUSED: 8,
});

/** Options every hub client command takes. */
export const CONNECT_OPTIONS: OptionSpec = {
  hub: { type: 'string', short: 'H' },
  'tls-ca': { type: 'string' },
  tls: { type: 'boolean' },
  'secret-file': { type: 'string' },
  'secret-env': { type: 'string' },
  'client-id': { type: 'string' },
  'password-file': { type: 'string' },
  'password-env': { type: 'string' },
};

export interface Connection {
  address: HubClientAddress;
  secret: string | undefined;
  clientId: string | undefined;
  password: string | undefined;
}

/** Reads the file of option --`option` (exit 6 if denied, 1 if unreadable). */
export function readFileOption(option: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'EACCES', 'EPERM')) throw new CliError(ExitCode.PERMISSION, `--${option}: permission denied: ${file}`);
    throw new CliError(ExitCode.FAILURE, `--${option}: cannot read ${file}`);
  }
}

/**
 * A secret given by --`name`-file FILE (its first line) or --`name`-env VAR
 * (that environment variable): never on the command line itself, where
 * other users see it (ps, /proc/PID/cmdline). Undefined if neither is given.
 */
export function secretOption(command: string, values: Record<string, string | boolean | undefined>, io: CliIO, name: string): string | undefined {
  const file = values[`${name}-file`] as string | undefined;
  const variable = values[`${name}-env`] as string | undefined;
  if (file !== undefined && variable !== undefined) throw usageError(command, `--${name}-file and --${name}-env exclude each other`);
  let secret: string | undefined;
  if (file !== undefined) {
    secret = readFileOption(`${name}-file`, file).replace(/\r?\n$/, '');
    if (secret === '') throw usageError(command, `--${name}-file is empty`);
  } else if (variable !== undefined) {
    secret = io.env[variable];
    if (secret === undefined || secret === '') throw usageError(command, `--${name}-env: the environment variable ${variable} is not set or empty`);
  }
  return secret;
}

/** The connection options of a parsed command line. */
export function connectionOf(command: string, values: Record<string, string | boolean | undefined>, io: CliIO): Connection {
  const hub = (values['hub'] as string | undefined) ?? defaultHubSocket(io.env);
  const parsed = parseHubAddress(command, hub);
  let address: HubClientAddress;
  const ca = values['tls-ca'] as string | undefined;
  if ('path' in parsed) {
    if (ca !== undefined || values['tls']) throw usageError(command, `TLS needs a TCP hub address (--hub HOST:PORT or tls://HOST:PORT), not the socket ${hub}`);
    address = parsed;
  } else {
    const useTls = parsed.tls || ca !== undefined || values['tls'] === true;
    address = { host: parsed.host, port: parsed.port, ...(useTls ? { tls: ca !== undefined ? { ca: readFileOption('tls-ca', ca) } : {} } : {}) };
  }
  const secret = secretOption(command, values, io, 'secret');
  const password = secretOption(command, values, io, 'password');
  return { address, secret, clientId: values['client-id'] as string | undefined, password };
}

/** Connects a HubClient (no auto-reconnect: a command ends when its hub goes). */
export async function connectClient(conn: Connection, callTimeout?: number): Promise<HubClient> {
  const client = new HubClient(conn.address, {
    clientId: conn.clientId,
    secret: conn.secret,
    autoReconnect: false,
    ...(callTimeout ? { callTimeout } : {}),
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The exit code for a library error (hub commands). */
export function hubExitCode(err: PipeIOError): number {
  switch (err.code) {
    case 'PIPEIO_ERR_CONNECTION':
      return HubExit.UNREACHABLE;
    case 'PIPEIO_ERR_AUTH':
      return HubExit.REFUSED;
    case 'PIPEIO_ERR_TIMEOUT':
      return ExitCode.TIMEOUT;
    case 'PIPEIO_ERR_PERMISSION':
      return ExitCode.PERMISSION;
    default:
      return ExitCode.FAILURE;
  }
}

/** Runs `body`, turning library errors into CliErrors with the hub exit codes. */
export async function withHubErrors<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof PipeIOError) throw new CliError(hubExitCode(err), `${err.message} [${err.code}]`);
    throw err;
  }
}

/** Parses a JSON argument (usage error if it is not JSON). */
export function parseJsonArg(command: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw usageError(command, `not JSON: ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)} (a string needs quotes: '"text"')`);
  }
}

/** JSON text of a value for output: bytes as {"$bytes": base64}, one line. */
export { toJsonText as jsonLine } from '../hub/plugins/json-value';

/** Resolves on SIGINT or SIGTERM (listeners removed). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Non-negative integer option; usage error otherwise. */
export function intOption(command: string, name: string, value: string | boolean | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw usageError(command, `option --${name} needs a non-negative integer (got ${JSON.stringify(value)})`);
  }
  return Number(value);
}

/** Required string option; usage error when missing. */
export function required(command: string, values: Record<string, string | boolean | undefined>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw usageError(command, `--${name} is required`);
  return v;
}
