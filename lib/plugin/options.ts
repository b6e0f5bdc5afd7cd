/**
 * Validation of plugin options: TypeError/RangeError with the option's name,
 * and the defaults filled in.
 */
import * as path from 'node:path';
import { resolveRestartOptions } from './backoff';
import type { PluginSettings } from './plugin';
import { DEFAULT_DRAIN_TIMEOUT, type PluginOptions } from './types';
import { PAIR_NAME_PATTERN as PAIR_NAME } from '../multi/multi-pipe-server';


const STDIN = ['ignore', 'inherit', 'pipe'];
const STDOUT = ['ignore', 'inherit', 'pipe'];

/** Throws a RangeError unless `value` is a non-negative safe integer (ms). */
export function checkMilliseconds(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer number of milliseconds (got ${String(value)})`);
  }
  return value;
}

/** A pair name derived from a command: its base name with unusable characters replaced. */
export function pairBaseName(command: string): string {
  const base = path
    .basename(command)
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '')
    .slice(0, 48);
  return base.length > 0 ? base : 'plugin';
}

/**
 * Validates `spawnPlugin(command, args, options)` and resolves everything but
 * the environment's pipe variables (added once the pair exists).
 */
export function resolvePluginSettings(
  command: unknown,
  args: unknown,
  options: PluginOptions,
  hostGracePeriod: number,
): PluginSettings {
  if (typeof command !== 'string' || command.length === 0) {
    throw new TypeError('command must be a non-empty string');
  }
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    throw new TypeError('args must be an array of strings');
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (options.name !== undefined && (typeof options.name !== 'string' || !PAIR_NAME.test(options.name))) {
    throw new TypeError(`options.name must match ${String(PAIR_NAME)} (got ${JSON.stringify(options.name)})`);
  }
  const stdin = options.stdin ?? 'ignore';
  if (!STDIN.includes(stdin)) throw new TypeError(`options.stdin must be one of ${STDIN.join(', ')}`);
  const stdout = options.stdout ?? 'inherit';
  if (typeof stdout === 'number' ? !Number.isSafeInteger(stdout) || stdout < 0 : !STDOUT.includes(stdout)) {
    throw new TypeError(`options.stdout must be one of ${STDOUT.join(', ')} or an fd number`);
  }
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null)) {
    throw new TypeError('options.env must be an object');
  }
  if (options.cwd !== undefined && typeof options.cwd !== 'string') throw new TypeError('options.cwd must be a string');
  const killSignal = options.killSignal ?? 'SIGTERM';
  if (typeof killSignal !== 'string' || !/^SIG[A-Z0-9]+$/.test(killSignal)) {
    throw new TypeError('options.killSignal must be a signal name such as "SIGTERM"');
  }
  return {
    spec: {
      command,
      args: [...(args as string[])],
      env: { ...(options.env ?? process.env) },
      cwd: options.cwd,
      stdin,
      stdout,
      processGroup: options.processGroup ?? true,
    },
    restart: resolveRestartOptions(options.restart),
    gracePeriod: checkMilliseconds('options.gracePeriod', options.gracePeriod ?? hostGracePeriod),
    killSignal,
    drainTimeout: checkMilliseconds('options.drainTimeout', options.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT),
  };
}
