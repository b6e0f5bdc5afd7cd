/**
 * Helpers of the plugin tests: fixture paths, waiting for plugin events with
 * a deadline, and process liveness.
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Plugin } from '../../lib/plugin/plugin';

export const FIXTURES = path.join(__dirname, 'fixtures');
export const BASH_PLUGIN = path.join(FIXTURES, 'echo-plugin.sh');
export const PY_PLUGIN = path.join(FIXTURES, 'echo_plugin.py');
export const STUBBORN_PLUGIN = path.join(FIXTURES, 'stubborn.sh');

/** Resolves with the first event `name` whose arguments satisfy `match`; rejects after `timeout` ms. */
export function nextEvent<A extends unknown[]>(
  emitter: EventEmitter,
  name: string,
  match: (...args: A) => boolean = () => true,
  timeout = 5000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`no matching '${name}' event within ${timeout} ms`));
    }, timeout);
    function listener(...args: unknown[]): void {
      if (!match(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(args as A);
    }
    emitter.on(name, listener);
  });
}

/** The next message of `plugin` (as a string) matching `pattern`. */
export async function nextMessage(plugin: Plugin, pattern: RegExp, timeout = 5000): Promise<string> {
  const [message] = await nextEvent<[Buffer]>(plugin, 'message', (m) => pattern.test(m.toString()), timeout);
  return message.toString();
}

/**
 * Does a live process with this pid exist? A zombie counts as gone: an
 * orphan that died waits for init to reap it, and some container inits
 * never do.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
