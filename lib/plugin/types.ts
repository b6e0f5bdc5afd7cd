/**
 * Option and event types of the plugin host. See docs/plugins.md.
 */
import type { PipeIOError } from '../errors';
import type { PluginRestartOptions } from './backoff';
import type { PluginExit } from './plugin-process';

export type { PluginRestartOptions } from './backoff';
export type { PluginExit } from './plugin-process';

/** Default time between SIGTERM and SIGKILL when a plugin is stopped, in ms. */
export const DEFAULT_GRACE_PERIOD = 2000;
/**
 * Default bound on waiting, once a plugin has ended, for the messages it
 * wrote before ending to be delivered, in ms.
 */
export const DEFAULT_DRAIN_TIMEOUT = 2000;

/** Options of {@link PluginHost.spawnPlugin} and {@link spawnPlugin}. */
export interface PluginOptions {
  /**
   * Name of the plugin's pipe pair (`<dir>/<name>.in`, `<dir>/<name>.out`):
   * /^[A-Za-z0-9._-]{1,64}$/, not starting with '.'.
   * @default the command's base name plus a counter, e.g. `worker.py-1`
   */
  name?: string;
  /**
   * Environment of the child. `PIPE_IO_READ_PIPE` and `PIPE_IO_WRITE_PIPE`
   * are always added (and override values given here).
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /** Working directory of the child. @default the host's cwd */
  cwd?: string;
  /** The child's stdin. @default 'ignore' */
  stdin?: 'ignore' | 'inherit' | 'pipe';
  /**
   * The child's stdout, left for the plugin's own use: `'inherit'` shares the
   * host's stdout, `'pipe'` exposes it as `plugin.process.stdout` (read it, or
   * the plugin blocks once the pipe is full), `'ignore'` discards it, a number
   * is an fd of the host to write to (e.g. 2 for the host's stderr).
   * @default 'inherit'
   */
  stdout?: 'inherit' | 'pipe' | 'ignore' | number;
  /**
   * Restart the plugin when it crashes (non-zero exit status, or killed by a
   * signal it was not sent by stop()), with exponential backoff. The pipe
   * pair stays: messages sent while the plugin is down wait for the next
   * instance. `true` = defaults {maxRestarts: 5, initialDelay: 100,
   * maxDelay: 5000, resetAfter: 10000}. An exit with status 0 is never
   * restarted.
   * @default false
   */
  restart?: boolean | PluginRestartOptions;
  /** Time between the stop signal and SIGKILL, in ms. @default the host's (2000) */
  gracePeriod?: number;
  /** Signal sent first on stop. @default 'SIGTERM' */
  killSignal?: NodeJS.Signals;
  /**
   * Start the child as the leader of its own process group and signal the
   * whole group, so that its own children (a pipeline, a background job) end
   * with it. Note: a Ctrl-C in the terminal then reaches only the host, which
   * stops its plugins itself.
   * @default true
   */
  processGroup?: boolean;
  /**
   * Once the plugin has ended, how long to wait for the messages it wrote
   * before ending to be delivered, in ms. @default 2000
   */
  drainTimeout?: number;
}

/** Events of a {@link Plugin}. */
export interface PluginEvents {
  /** A line the plugin wrote to its write pipe (without the newline). */
  message: [message: Buffer];
  /** A line the plugin wrote to its stderr (UTF-8, without `\n` / `\r\n`). */
  stderr: [line: string];
  /** An instance of the plugin was started (the first one, then each restart). */
  spawn: [pid: number];
  /** An instance exited: exit status, or the signal that killed it. */
  exit: [code: number | null, signal: NodeJS.Signals | null];
  /** A crashed plugin will be restarted after `delay` ms (attempt counts from 1). */
  restart: [attempt: number, delay: number];
  /** A pair or restart failure (`PIPEIO_ERR_SPAWN`, `PIPEIO_ERR_LINE_TOO_LONG`, ...). */
  error: [err: PipeIOError];
  /** `send()` returned false earlier and the queue is below the high-water mark again. */
  drain: [];
  /** The plugin is finished for good: processes ended, pipe pair removed. */
  close: [exit: PluginExit];
}

/** Lifecycle of a {@link Plugin}. */
export type PluginState = 'running' | 'restarting' | 'stopping' | 'closed';

/** Options of {@link PluginHost}. */
export interface PluginHostOptions {
  /**
   * Directory for the plugins' pipe pairs (created 0700 if missing). Without
   * it, the host makes a private temporary directory (0700) under
   * os.tmpdir() and removes it when it stops.
   */
  dir?: string;
  /** Default time between SIGTERM and SIGKILL when stopping plugins, in ms. @default 2000 */
  gracePeriod?: number;
  /** FIFO permission bits, exact whatever the umask. @default 0o600 */
  permissions?: number;
  /** Longest accepted message from a plugin, in bytes. @default 67108864 (64 MiB) */
  maxMessageSize?: number;
  /** Per plugin: `send()` returns false at/above this many queued bytes. @default 1048576 */
  highWaterMark?: number;
  /** Per plugin: `send()` throws PIPEIO_ERR_QUEUE_FULL beyond this many queued bytes. @default 67108864 */
  maxQueueBytes?: number;
}

/** Events of a {@link PluginHost}. */
export interface PluginHostEvents {
  /** An error of the host's pipe server not tied to one plugin. */
  error: [err: PipeIOError];
  /** The host stopped: every plugin ended, pipes (and private dir) removed. */
  close: [];
}

/** Lifecycle of a {@link PluginHost}. */
export type PluginHostState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';
