/**
 * The machine side of provisioning: finding programs, and installing Debian
 * packages when this run may (root, apt-get present, PIO_NO_INSTALL unset).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where a program is: PATH first, then the sbin folders Debian installs servers to (nats-server). */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a program to completion, output captured; never throws (a spawn failure is in `error`). */
export function run(command: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  return spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

/** The last non-empty line of a failed run's output, for a report. */
export function lastLine(r: SpawnSyncReturns<string>): string {
  if (r.error) return r.error.message;
  const lines = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.pop() ?? `exit ${r.status ?? r.signal}`;
}

/** Why this run cannot install packages itself, or undefined if it can. */
export function installBlocker(): string | undefined {
  if (process.env['PIO_NO_INSTALL']) return 'PIO_NO_INSTALL is set';
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (!findTool('apt-get')) return 'no apt-get (not Debian)';
  return undefined;
}

/** The command a user types to install `packages`. */
export function aptCommand(packages: readonly string[]): string {
  return `${process.getuid?.() === 0 ? '' : 'sudo '}apt-get install ${[...new Set(packages)].join(' ')}`;
}

let aptUpdated = false;

/**
 * apt-get installs `packages` (an `apt-get update` first, once per process).
 * Returns undefined on success, else the reason. Progress goes to `log`.
 */
export function aptInstall(packages: readonly string[], log: (line: string) => void): string | undefined {
  const list = [...new Set(packages)];
  log(`installing with apt-get (root on Debian): ${list.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    const update = run('apt-get', ['update', '-qq'], 10 * 60_000, env);
    if (update.status !== 0) return `apt-get update failed: ${lastLine(update)}`;
    aptUpdated = true;
  }
  // --no-upgrade: a package that is installed (but not on PATH) is left as it is.
  const install = run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', '--no-upgrade', ...list], 30 * 60_000, env);
  return install.status === 0 ? undefined : `apt-get install failed: ${lastLine(install)}`;
}
