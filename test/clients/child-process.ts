/**
 * Test helpers for real child processes: start one with its output captured,
 * wait for its exit or for a line of output with a deadline, and kill the
 * leftovers. Shared by the client conformance suite and the example tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started child with its stdout/stderr collected. */
export interface RunningChild {
  readonly child: ChildProcess;
  readonly label: string;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when the child has exited and its streams are closed. */
  readonly exited: Promise<Exit>;
  /** Set once exited. */
  exit?: Exit;
}

/** Every child started by {@link startChild} and not yet reaped. */
const live = new Set<RunningChild>();

/** Starts `file args` with piped stdout/stderr; `env` is merged over process.env. */
export function startChild(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; label?: string } = {},
): RunningChild {
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const running: RunningChild = {
    child,
    label: options.label ?? [file, ...args].join(' '),
    stdout: () => out,
    stderr: () => err,
    exited: new Promise<Exit>((resolve, reject) => {
      child.once('error', reject); // spawn failure (ENOENT, ...)
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        running.exit = { code, signal };
        live.delete(running);
        resolve(running.exit);
      });
    }),
  };
  live.add(running);
  return running;
}

/** Resolves with the exit, or rejects if the child is still running after `ms`. */
export async function waitForExit(running: RunningChild, ms: number, why = 'to exit'): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`${running.label} did not ${why} within ${ms} ms\nstdout: ${running.stdout()}\nstderr: ${running.stderr()}`),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([running.exited, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the child's stdout or stderr matches `pattern`; rejects on exit or after `ms`. */
export function waitForOutput(
  running: RunningChild,
  stream: 'stdout' | 'stderr',
  pattern: RegExp,
  ms: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const source = running.child[stream]!;
    const text = (): string => (stream === 'stdout' ? running.stdout() : running.stderr());
    const cleanup = (): void => {
      clearTimeout(timer);
      source.off('data', check);
      running.child.off('close', onClose);
    };
    const check = (): void => {
      // 'data' listeners run in order: ours after the collector, so text() is current.
      const match = pattern.exec(text());
      if (match) {
        cleanup();
        resolve(match[0]);
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`${running.label} exited before printing ${pattern} on ${stream}: ${text()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${running.label} did not print ${pattern} on ${stream} within ${ms} ms; got: ${text()}`));
    }, ms);
    source.on('data', check);
    running.child.on('close', onClose);
    check();
  });
}

/** SIGKILLs every child still running and waits for them (for afterEach). */
export async function killAll(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const running of live) {
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    waits.push(running.exited.catch(() => undefined));
  }
  await Promise.all(waits);
}

/** Sends `signal` and waits for the exit (deadline `ms`). */
export async function stopChild(running: RunningChild, signal: NodeJS.Signals, ms: number): Promise<Exit> {
  if (running.exit) return running.exit;
  running.child.kill(signal);
  return waitForExit(running, ms, `exit after ${signal}`);
}

/** Waits for `emitter` to emit `event`, or rejects after `ms` with `what`. */
export async function eventWithin(emitter: NodeJS.EventEmitter, event: string, ms: number, what: string): Promise<unknown[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await once(emitter, event, { signal: controller.signal });
  } catch (err) {
    if (controller.signal.aborted) throw new Error(`${what}: no '${event}' within ${ms} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
