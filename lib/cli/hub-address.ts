/**
 * Hub addresses on the command line, and the default socket.
 *
 *   /run/app/hub.sock, ./hub.sock, dir/hub.sock   a Unix socket (a path: it has a '/')
 *   unix:PATH                                     a Unix socket (also unix://PATH)
 *   HOST:PORT, [::1]:PORT                         TCP
 *   tcp:HOST:PORT (tcp://HOST:PORT)               TCP
 *   tls:HOST:PORT (tls://HOST:PORT)               TLS (as --tls)
 *
 * A bare word (`localhost`, `hub.sock`) is refused unless it names an
 * existing file: it could be meant as a host or as a file in the current
 * directory, and guessing wrong fails far from the cause.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { usageError } from './common';

/** What --hub accepts, for help texts and errors. */
export const HUB_ADDRESS_FORMS = 'a socket path (with a "/": /run/app/hub.sock, ./hub.sock), unix:PATH, HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT';

/**
 * comm-ipc's default socket (its section 1.1): $COMM_IPC_SOCKET, else
 * $XDG_RUNTIME_DIR/comm-ipc.default.sock if that directory exists, else
 * /tmp/comm-ipc.<user>.sock.
 */
export function defaultHubSocket(env: NodeJS.ProcessEnv): string {
  if (env['COMM_IPC_SOCKET']) return env['COMM_IPC_SOCKET'];
  const runtime = env['XDG_RUNTIME_DIR'];
  if (runtime && fs.existsSync(runtime)) return path.join(runtime, 'comm-ipc.default.sock');
  return path.join('/tmp', `comm-ipc.${os.userInfo().username}.sock`);
}

/** Parses HOST:PORT (IPv6 as [::1]:PORT); a usage error otherwise. */
export function parseHostPort(command: string, value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw usageError(command, `expected HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: (m[1] ?? m[2])!, port };
}

/** A parsed --hub value. */
export type HubAddressArg = { path: string } | { host: string; port: number; tls: boolean };

/** Parses a --hub value (forms in the file comment); a usage error naming the forms otherwise. */
export function parseHubAddress(command: string, value: string, option = '--hub'): HubAddressArg {
  const scheme = /^(unix|tcp|tls):(?:\/\/)?(.*)$/s.exec(value);
  if (scheme) {
    const [, kind, rest] = scheme as unknown as [string, string, string];
    if (rest === '') throw usageError(command, `${option} ${value}: nothing after "${kind}:"`);
    if (kind === 'unix') return { path: rest };
    return { ...hostPort(command, option, value, rest), tls: kind === 'tls' };
  }
  if (value.includes('/')) return { path: value };
  if (/:\d+$/.test(value) && !fs.existsSync(value)) return { ...hostPort(command, option, value, value), tls: false };
  if (fs.existsSync(value)) return { path: value };
  throw usageError(
    command,
    `${option} ${JSON.stringify(value)} is neither an existing socket file nor HOST:PORT; it takes ${HUB_ADDRESS_FORMS}` +
      (/^[\w.-]+$/.test(value) ? ` (a socket in this directory: ./${value}; a host: ${value}:PORT)` : ''),
  );
}

function hostPort(command: string, option: string, whole: string, value: string): { host: string; port: number } {
  try {
    return parseHostPort(command, value);
  } catch {
    throw usageError(command, `${option} ${JSON.stringify(whole)}: expected HOST:PORT after the scheme, or ${HUB_ADDRESS_FORMS}`);
  }
}
