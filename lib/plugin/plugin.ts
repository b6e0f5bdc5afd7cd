/**
 * Plugin: the handle of one supervised child process and its pipe pair.
 * Created by {@link PluginHost.spawnPlugin} (or the `spawnPlugin` shortcut),
 * never directly.
 *
 *   running ──crash──> restarting ──backoff──> running      (restart option)
 *      │                   │
 *      ├──exit 0 / budget spent / stop()──> stopping ──> closed
 *
 *   stopping: stop signal -> grace -> SIGKILL, sweep the process group,
 *             wait for its last messages (flush marker), remove the pair.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { asError, pipeIOError, PipeIOError } from '../errors';
import { RestartBudget, type ResolvedRestartOptions } from './backoff';
import { makeFlushMarker, stripFlushMarker, writeFlushMarker } from './flush-marker';
import { PluginProcess, type PluginExit, type PluginSpawnSpec } from './plugin-process';
import type { PluginEvents, PluginState } from './types';

/** @internal hooks the host calls on its plugins */
export const kDeliver = Symbol('pipe-io-server.plugin.deliver');
/** @internal */
export const kPairError = Symbol('pipe-io-server.plugin.pairError');
/** @internal */
export const kPairDrain = Symbol('pipe-io-server.plugin.pairDrain');
/** @internal */
export const kStart = Symbol('pipe-io-server.plugin.start');
/** @internal */
export const kAdoptHost = Symbol('pipe-io-server.plugin.adoptHost');

/** @internal what a plugin needs from its host */
export interface PluginLink {
  send(name: string, message: string | Uint8Array): boolean;
  /** Removes the plugin's pair and forgets the plugin. */
  release(plugin: Plugin): Promise<void>;
}

/** @internal fully resolved per-plugin settings */
export interface PluginSettings {
  spec: PluginSpawnSpec;
  restart: ResolvedRestartOptions | undefined;
  gracePeriod: number;
  killSignal: NodeJS.Signals;
  drainTimeout: number;
}

/** Poll interval while the flush marker cannot be written (pipe full), in ms. */
const FLUSH_RETRY = 10;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `promise` settles or after `ms` ms, whichever is first (timer cleared). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise.then(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A plugin process supervised by a {@link PluginHost}, talking over its own
 * pipe pair. The child finds its pipes in `PIPE_IO_READ_PIPE` (it reads:
 * {@link readPipe}) and `PIPE_IO_WRITE_PIPE` (it writes: {@link writePipe}).
 */
export class Plugin extends EventEmitter<PluginEvents> {
  /** Name of the plugin's pipe pair. */
  readonly name: string;
  /** The command that was started. */
  readonly command: string;
  /** Its arguments. */
  readonly args: readonly string[];
  /** Pipe the plugin reads (the host writes it): `PIPE_IO_READ_PIPE`. */
  readonly readPipe: string;
  /** Pipe the plugin writes (the host reads it): `PIPE_IO_WRITE_PIPE`. */
  readonly writePipe: string;

  private readonly link: PluginLink;
  private readonly settings: PluginSettings;
  private readonly budget: RestartBudget | undefined;
  private stateValue: PluginState = 'running';
  private instance: PluginProcess | undefined;
  private lastInstance: PluginProcess | undefined;
  private lastExit: PluginExit | undefined;
  private spawning: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private endPromise: Promise<PluginExit> | undefined;
  private flushMarker: Buffer | undefined;
  private flushDone: (() => void) | undefined;
  private ownedHost: { stop(): Promise<void> } | undefined;
  private readonly closed: Promise<PluginExit>;
  private resolveClosed!: (exit: PluginExit) => void;

  /** @internal use PluginHost.spawnPlugin() */
  constructor(
    link: PluginLink,
    pair: { name: string; inPipe: string; outPipe: string },
    command: string,
    args: readonly string[],
    settings: PluginSettings,
  ) {
    super();
    this.link = link;
    this.name = pair.name;
    this.command = command;
    this.args = Object.freeze([...args]);
    this.readPipe = pair.outPipe;
    this.writePipe = pair.inPipe;
    this.settings = settings;
    this.budget = settings.restart ? new RestartBudget(settings.restart) : undefined;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** 'running' | 'restarting' (down, waiting for backoff) | 'stopping' | 'closed'. */
  get state(): PluginState {
    return this.stateValue;
  }

  /** Pid of the running instance, or undefined while down. */
  get pid(): number | undefined {
    return this.instance?.pid;
  }

  /** The running instance's ChildProcess (e.g. for `stdout: 'pipe'`), or undefined while down. */
  get process(): ChildProcess | undefined {
    return this.instance?.child;
  }

  /** Restarts done since the counter was last reset (see `restart.resetAfter`). */
  get restarts(): number {
    return this.budget?.attempt ?? 0;
  }

  /**
   * Sends one message (a newline is appended; it must not contain one).
   * While the plugin is restarting, messages queue for the next instance.
   * Returns false at/above the high-water mark (wait for 'drain').
   * Throws `PIPEIO_ERR_CLOSED` once the plugin is stopping or closed, and
   * the pipe server's errors (`PIPEIO_ERR_QUEUE_FULL`, `PIPEIO_ERR_INVALID_MESSAGE`).
   */
  send(message: string | Uint8Array): boolean {
    if (this.stateValue === 'stopping' || this.stateValue === 'closed') {
      throw pipeIOError('PIPEIO_ERR_CLOSED', `plugin ${this.name} is ${this.stateValue}`);
    }
    return this.link.send(this.name, message);
  }

  /**
   * Stops the plugin for good: no more restarts; the stop signal (SIGTERM),
   * SIGKILL after the grace period; then its last messages are delivered and
   * its pipe pair removed. Idempotent; resolves with how its last instance
   * ended. A plugin from the `spawnPlugin` shortcut also stops its host.
   */
  stop(): Promise<PluginExit> {
    return this.end();
  }

  /** Resolves (never rejects) once the plugin is closed, with how its last instance ended. */
  wait(): Promise<PluginExit> {
    return this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** @internal starts the first instance; rejects with PIPEIO_ERR_SPAWN */
  async [kStart](): Promise<void> {
    await this.spawnInstance();
  }

  /**
   * @internal the plugin owns its host and stops it when it closes. Returns
   * false if the plugin closed already (the caller then stops the host).
   */
  [kAdoptHost](host: { stop(): Promise<void> }): boolean {
    if (this.stateValue === 'closed') return false;
    this.ownedHost = host;
    return true;
  }

  /** @internal a message arrived on the plugin's write pipe */
  [kDeliver](message: Buffer): void {
    if (this.flushMarker) {
      const before = stripFlushMarker(message, this.flushMarker);
      if (before !== undefined) {
        if (before.length > 0) this.emit('message', before);
        this.flushDone?.();
        return;
      }
    }
    this.emit('message', message);
  }

  /** @internal */
  [kPairError](err: PipeIOError): void {
    this.emit('error', err);
  }

  /** @internal */
  [kPairDrain](): void {
    this.emit('drain');
  }

  private spawnInstance(): Promise<void> {
    const attempt = PluginProcess.spawn(this.settings.spec, (line) => this.emit('stderr', line)).then((proc) => {
      this.instance = proc;
      this.lastInstance = proc;
      this.emit('spawn', proc.pid);
      void proc.exited.then((exit) => this.instanceOnExit(proc, exit));
    });
    this.spawning = attempt.finally(() => (this.spawning = undefined)).catch(() => {});
    return attempt;
  }

  private instanceOnExit(proc: PluginProcess, exit: PluginExit): void {
    if (this.instance === proc) this.instance = undefined;
    this.lastExit = exit;
    this.emit('exit', exit.code, exit.signal);
    if (this.stateValue !== 'running') return; // stop() is handling it
    const crashed = exit.code !== 0 || exit.signal !== null;
    const next = crashed ? this.budget?.next(Date.now() - proc.startedAt) : undefined;
    if (!next) {
      this.endQuietly();
      return;
    }
    this.scheduleRestart(proc, next.attempt, next.delay);
  }

  private scheduleRestart(proc: PluginProcess | undefined, attempt: number, wait: number): void {
    this.stateValue = 'restarting';
    this.emit('restart', attempt, wait);
    // leftovers of the crashed instance's group must not read the next one's messages
    const swept = proc ? proc.sweep(this.settings.gracePeriod, this.settings.killSignal) : Promise.resolve();
    void swept.then(() => {
      if (this.stateValue !== 'restarting') return;
      this.restartTimer = setTimeout(() => this.respawn(), wait);
    });
  }

  private respawn(): void {
    this.restartTimer = undefined;
    if (this.stateValue !== 'restarting') return;
    this.spawnInstance().then(
      () => {
        if (this.stateValue === 'restarting') this.stateValue = 'running';
      },
      (err: unknown) => {
        if (this.stateValue !== 'restarting') return;
        if (this.listenerCount('error') > 0) this.emit('error', err as PipeIOError);
        const next = this.budget?.next(0);
        if (next) this.scheduleRestart(undefined, next.attempt, next.delay);
        else this.endQuietly();
      },
    );
  }

  private endQuietly(): void {
    this.end().catch((err: unknown) => {
      if (this.listenerCount('error') > 0) this.emit('error', err as PipeIOError);
    });
  }

  private end(): Promise<PluginExit> {
    this.endPromise ??= this.runEnd();
    return this.endPromise;
  }

  private async runEnd(): Promise<PluginExit> {
    this.stateValue = 'stopping';
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const { gracePeriod, killSignal, drainTimeout } = this.settings;
    let failure: unknown;
    try {
      if (this.spawning) await this.spawning;
      const proc = this.instance ?? this.lastInstance;
      if (proc) {
        await proc.terminate(gracePeriod, killSignal);
        // once the whole group is gone, its stderr pipe closes at once
        await within(proc.stderrClosed, drainTimeout);
      }
      await this.flush(drainTimeout);
    } catch (err) {
      failure = err;
    }
    try {
      await this.link.release(this);
      // no await between this check and 'closed' below: see kAdoptHost
      if (this.ownedHost) await this.ownedHost.stop();
    } catch (err) {
      failure ??= err;
    }
    this.stateValue = 'closed';
    const exit = this.lastExit ?? { code: null, signal: null };
    this.resolveClosed(exit);
    process.nextTick(() => this.emit('close', exit));
    if (failure !== undefined) throw asError(failure);
    return exit;
  }

  /** Waits (bounded) until every message the plugin wrote before ending was delivered. */
  private async flush(timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    const marker = makeFlushMarker();
    const delivered = new Promise<void>((resolve) => (this.flushDone = resolve));
    this.flushMarker = marker;
    try {
      for (;;) {
        const result = writeFlushMarker(this.writePipe, marker);
        if (result === 'impossible') return;
        if (result === 'written') break;
        if (Date.now() >= deadline) return;
        await delay(FLUSH_RETRY);
      }
      await within(delivered, Math.max(0, deadline - Date.now()));
    } finally {
      this.flushDone = undefined;
    }
  }
}
