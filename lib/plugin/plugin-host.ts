/**
 * PluginHost: owns one MultiPipeServer (in a private 0700 temporary
 * directory, or a given one) and the plugins started on its pairs.
 *
 *   stop():  running ──> closing ──> closed
 *     1. wait for spawnPlugin() calls in flight
 *     2. stop every plugin at once (SIGTERM, grace, SIGKILL; pairs removed)
 *     3. stop the pipe server (worker ends, FIFOs removed)
 *     4. remove the private directory; emit 'close'
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeIOError, type PipeIOError } from '../errors';
import { MultiPipeServer } from '../multi/multi-pipe-server';
import { checkMilliseconds, pairBaseName, resolvePluginSettings } from './options';
import { kAdoptHost, kDeliver, kPairDrain, kPairError, kStart, Plugin, type PluginLink } from './plugin';
import {
  DEFAULT_GRACE_PERIOD,
  type PluginHostEvents,
  type PluginHostOptions,
  type PluginHostState,
  type PluginOptions,
} from './types';

/**
 * Starts and supervises plugin processes, each on its own pipe pair.
 *
 * ```ts
 * await using host = new PluginHost();
 * const plugin = await host.spawnPlugin('python3', ['plugin.py']);
 * plugin.on('message', (m) => console.log(String(m)));
 * plugin.send('hello');
 * ```
 */
export class PluginHost extends EventEmitter<PluginHostEvents> {
  /** Default time between SIGTERM and SIGKILL for this host's plugins, in ms. */
  readonly gracePeriod: number;
  private readonly options: PluginHostOptions;
  private stateValue: PluginHostState = 'idle';
  private dirValue: string | undefined;
  private ownsDir = false;
  private multi: MultiPipeServer | undefined;
  private readonly pluginMap = new Map<string, Plugin>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly counters = new Map<string, number>();
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private readonly link: PluginLink;

  /** @throws TypeError/RangeError on bad options */
  constructor(options: PluginHostOptions = {}) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    if (options.dir !== undefined && (typeof options.dir !== 'string' || options.dir.length === 0)) {
      throw new TypeError('options.dir must be a non-empty string');
    }
    this.gracePeriod = checkMilliseconds('options.gracePeriod', options.gracePeriod ?? DEFAULT_GRACE_PERIOD);
    this.options = { ...options };
    this.link = {
      send: (name, message) => this.server().send(name, message),
      release: (plugin) => this.release(plugin),
    };
  }

  /** 'idle' | 'starting' | 'running' | 'closing' | 'closed'. */
  get state(): PluginHostState {
    return this.stateValue;
  }

  /** Directory of the pipe pairs (known once started). */
  get dir(): string | undefined {
    return this.dirValue;
  }

  /** The plugins currently alive (not yet closed). */
  plugins(): Plugin[] {
    return [...this.pluginMap.values()];
  }

  /**
   * Creates the directory (a private one under os.tmpdir() unless `dir` was
   * given) and starts the pipe server. Called by spawnPlugin() if needed.
   * Idempotent while running; rejects with PIPEIO_ERR_CLOSED after stop().
   */
  start(): Promise<void> {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') {
      return Promise.reject(pipeIOError('PIPEIO_ERR_CLOSED', 'the plugin host is stopped'));
    }
    this.startPromise ??= this.runStart();
    return this.startPromise;
  }

  /**
   * Starts `command` with `args` as a plugin on a fresh pipe pair. The child
   * gets `PIPE_IO_READ_PIPE` (the pipe it reads) and `PIPE_IO_WRITE_PIPE`
   * (the pipe it writes) in its environment. Resolves once the process is
   * running; rejects with `PIPEIO_ERR_SPAWN` (errno in `cause`) if it cannot
   * be started, `PIPEIO_ERR_PAIR_EXISTS` for a taken name, TypeError/RangeError
   * for bad arguments, `PIPEIO_ERR_CLOSED` once the host is stopping.
   */
  async spawnPlugin(command: string, args: readonly string[] = [], options: PluginOptions = {}): Promise<Plugin> {
    const settings = resolvePluginSettings(command, args, options, this.gracePeriod);
    const attempt = this.spawnOnPair(command, settings, options.name);
    this.inFlight.add(attempt);
    try {
      return await attempt;
    } finally {
      this.inFlight.delete(attempt);
    }
  }

  /**
   * Stops every plugin (SIGTERM, then SIGKILL after the grace period), the
   * pipe server, and removes the private directory. Idempotent: concurrent
   * and later calls share one promise. Fine before start().
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.runStop();
    return this.stopPromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async runStart(): Promise<void> {
    this.stateValue = 'starting';
    try {
      if (this.options.dir === undefined) {
        // mkdtemp creates the directory 0700
        this.dirValue = fs.mkdtempSync(path.join(os.tmpdir(), 'pipe-io-plugins-'));
        this.ownsDir = true;
      } else {
        this.dirValue = path.resolve(this.options.dir);
      }
      const multi = new MultiPipeServer(this.dirValue, {
        permissions: this.options.permissions,
        maxMessageSize: this.options.maxMessageSize,
        highWaterMark: this.options.highWaterMark,
        maxQueueBytes: this.options.maxQueueBytes,
      });
      multi.handleMessage = (name: string, message: Buffer): void => {
        this.pluginMap.get(name)?.[kDeliver](message);
      };
      multi.on('error', (err, name) => this.multiOnError(err, name));
      multi.on('drain', (name) => this.pluginMap.get(name)?.[kPairDrain]());
      this.multi = multi;
      await multi.start();
      if (this.stateValue === 'starting') this.stateValue = 'running';
    } catch (err) {
      await this.cleanUpDir();
      if (this.stateValue === 'starting') this.stateValue = 'idle';
      this.startPromise = undefined;
      this.multi = undefined;
      throw err;
    }
  }

  private multiOnError(err: PipeIOError, name: string | undefined): void {
    const plugin = name === undefined ? undefined : this.pluginMap.get(name);
    if (plugin) {
      if (plugin.listenerCount('error') > 0) plugin[kPairError](err);
      return;
    }
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private server(): MultiPipeServer {
    if (!this.multi || this.stateValue === 'closed') {
      throw pipeIOError('PIPEIO_ERR_CLOSED', 'the plugin host is stopped');
    }
    return this.multi;
  }

  private closedError(): PipeIOError {
    return pipeIOError('PIPEIO_ERR_CLOSED', 'the plugin host is stopping');
  }

  private uniqueName(command: string): string {
    const base = pairBaseName(command);
    const multi = this.server();
    for (;;) {
      const n = (this.counters.get(base) ?? 0) + 1;
      this.counters.set(base, n);
      const name = `${base}-${n}`;
      if (!multi.has(name) && !this.pluginMap.has(name)) return name;
    }
  }

  private async spawnOnPair(
    command: string,
    settings: ReturnType<typeof resolvePluginSettings>,
    wanted: string | undefined,
  ): Promise<Plugin> {
    await this.start();
    if (this.stateValue !== 'running') throw this.closedError();
    const multi = this.server();
    const name = wanted ?? this.uniqueName(command);
    const pair = await multi.addPair(name);
    settings.spec.env = { ...settings.spec.env, PIPE_IO_READ_PIPE: pair.outPipe, PIPE_IO_WRITE_PIPE: pair.inPipe };
    const plugin = new Plugin(this.link, pair, command, settings.spec.args, settings);
    this.pluginMap.set(name, plugin);
    try {
      if (this.stateValue !== 'running') throw this.closedError();
      await plugin[kStart]();
    } catch (err) {
      this.pluginMap.delete(name);
      await multi.removePair(name).catch(() => {});
      throw err;
    }
    if (this.stateValue !== 'running') {
      await plugin.stop();
      throw this.closedError();
    }
    return plugin;
  }

  private async release(plugin: Plugin): Promise<void> {
    if (this.pluginMap.get(plugin.name) === plugin) this.pluginMap.delete(plugin.name);
    const multi = this.multi;
    if (multi && multi.has(plugin.name)) await multi.removePair(plugin.name);
  }

  private async runStop(): Promise<void> {
    const wasStarted = this.startPromise;
    this.stateValue = 'closing';
    await Promise.allSettled([...this.inFlight]);
    if (wasStarted) await wasStarted.catch(() => {});
    const results = await Promise.allSettled(this.plugins().map((p) => p.stop()));
    let failure: unknown;
    for (const r of results) if (r.status === 'rejected') failure ??= r.reason;
    try {
      await this.multi?.stop();
    } catch (err) {
      failure ??= err;
    }
    await this.cleanUpDir();
    this.stateValue = 'closed';
    process.nextTick(() => this.emit('close'));
    if (failure !== undefined) throw failure;
  }

  private async cleanUpDir(): Promise<void> {
    if (!this.ownsDir || this.dirValue === undefined) return;
    this.ownsDir = false;
    await fs.promises.rm(this.dirValue, { recursive: true, force: true });
  }
}

/** Options of the {@link spawnPlugin} shortcut: plugin options plus the private host's. */
export interface SpawnPluginOptions extends PluginOptions {
  /** Options of the private host made for this plugin. */
  host?: PluginHostOptions;
}

/**
 * Shortcut: starts `command` as a plugin on a private {@link PluginHost}
 * owned by the returned plugin. When the plugin closes (stop(), or it ended
 * for good) its host stops too: no pipe, worker or directory is left.
 */
export async function spawnPlugin(
  command: string,
  args: readonly string[] = [],
  options: SpawnPluginOptions = {},
): Promise<Plugin> {
  const { host: hostOptions, ...pluginOptions } = options ?? {};
  const host = new PluginHost(hostOptions);
  try {
    const plugin = await host.spawnPlugin(command, args, pluginOptions);
    if (!plugin[kAdoptHost](host)) await host.stop();
    return plugin;
  } catch (err) {
    await host.stop().catch(() => {});
    throw err;
  }
}
