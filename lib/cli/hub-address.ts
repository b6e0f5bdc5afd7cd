/** Hub addresses on the command line: a socket path or HOST:PORT, and the default socket. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { usageError } from './common';

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
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw usageError(command, `expected HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: (m[1] ?? m[2])!, port };
}

/** A hub address: HOST:PORT if it looks like one (and is not an existing path), else a socket path. */
export function parseHubAddress(command: string, value: string): { path: string } | { host: string; port: number } {
  if (/:\d{1,5}$/.test(value) && !value.includes('/') && !fs.existsSync(value)) return parseHostPort(command, value);
  return { path: value };
}
