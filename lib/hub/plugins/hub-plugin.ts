/**
 * HubPlugin: a command run as N supervised instances, each a member of a hub
 * that provides one event (or, in 'rpc' mode, whatever it registers), talking
 * JSON lines over its own FIFO pair (docs/hub-plugins.md).
 *
 *   start():  per instance: join the hub (link) -> register the provider
 *             -> spawn the first incarnation on a fresh pipe pair
 *   crash:    incarnation closed (its last lines delivered) -> its calls in
 *             flight get errors -> backoff -> a new incarnation on a new pair
 *             (calls arriving meanwhile wait, bounded by timeout/maxPending)
 *   breach:   'line' mode, a missed answer or a line no call asked for: its
 *             calls fail at once, it is stopped, then restarted as after a crash
 *   exit 0 /  the instance leaves the hub; when no instance is left the
 *   budget    plugin closes ('close')
 *   stop():   callers of calls still open get PIPEIO_ERR_CLOSED -> leave
 *             the hub -> stop the processes -> stop the private host
 *
 * A new pair per incarnation means nothing a dead incarnation left unread can
 * reach its successor, so 'line' mode's answer-by-order never mismatches.
 */
import { EventEmitter } from 'node:events';
import { pipeIOError, type PipeIOError } from '../../errors';
import { RestartBudget } from '../../plugin/backoff';
import type { Plugin } from '../../plugin/plugin';
import { PluginHost } from '../../plugin/plugin-host';
import type { PluginExit } from '../../plugin/types';
import { InstanceBridge } from './instance-bridge';
import type { LinkFactory, MemberLink } from './member-link';
import { resolveHubPluginOptions, type HubPluginOptions, type ResolvedHubPluginOptions } from './options';

/** Events of a {@link HubPlugin}; `index` is the instance (0-based). */
export interface HubPluginEvents {
  /** An incarnation of instance `index` started. */
  spawn: [index: number, pid: number];
  /** An incarnation exited. */
  exit: [index: number, code: number | null, signal: NodeJS.Signals | null];
  /** A crashed instance will be started again after `delay` ms. */
  restart: [index: number, attempt: number, delay: number];
  /** A line of a plugin's stderr. */
  stderr: [line: string, index: number];
  /** Something no caller could be told (a line-mode breach: a missed answer or a line no call asked for; a bad 'rpc' line; a restart that failed). Emitted only when listened to. */
  error: [err: PipeIOError, index: number];
  /** Every instance is gone (stopped, or ended for good). */
  close: [];
}

export type HubPluginState = 'starting' | 'running' | 'closing' | 'closed';

interface Slot {
  index: number;
  id: string;
  link: MemberLink | undefined;
  bridge: InstanceBridge | undefined;
  plugin: Plugin | undefined;
  budget: RestartBudget | undefined;
  timer: NodeJS.Timeout | undefined;
  ended: boolean;
  /** The incarnation being stopped because it breached the line protocol (restarted as after a crash). */
  breached: Plugin | undefined;
}

function exitText(exit: PluginExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

/**
 * A plugin serving a hub. Made by `hub.attachPlugin()` / {@link attachPlugin}
 * (in-process hub) or by the CLI's `provide` (remote hub), never directly.
 */
export class HubPlugin extends EventEmitter<HubPluginEvents> {
  readonly command: string;
  readonly args: readonly string[];
  /** The channel and the hub event name it provides (`<group>.<event>` for a named group). */
  readonly channel: string;
  readonly event: string | undefined;
  /** Member id of each instance. */
  readonly ids: readonly string[];
  private readonly options: ResolvedHubPluginOptions;
  private readonly links: LinkFactory;
  private readonly slots: Slot[];
  private host: PluginHost | undefined;
  private ownsHost = false;
  private stateValue: HubPluginState = 'starting';
  private stopPromise: Promise<void> | undefined;
  private readonly passwords = new Map<string, string>();

  /** @internal use hub.attachPlugin() or attachPlugin() */
  constructor(links: LinkFactory, command: string, args: readonly string[], options: HubPluginOptions) {
    super();
    if (typeof command !== 'string' || command === '') throw new TypeError('command must be a non-empty string');
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw new TypeError('args must be an array of strings');
    this.options = resolveHubPluginOptions(options);
    this.links = links;
    this.command = command;
    this.args = Object.freeze([...args]);
    this.channel = this.options.channel;
    this.event = this.options.event;
    const n = this.options.instances;
    this.ids = Object.freeze(Array.from({ length: n }, (_, i) => (n === 1 ? this.options.id : `${this.options.id}-${i + 1}`)));
    this.slots = this.ids.map((id, index) => ({
      index,
      id,
      link: undefined,
      bridge: undefined,
      plugin: undefined,
      budget: this.options.restart ? new RestartBudget(this.options.restart) : undefined,
      timer: undefined,
      ended: false,
      breached: undefined,
    }));
    if (this.options.password !== undefined) this.passwords.set(this.channel, this.options.password);
  }

  get state(): HubPluginState {
    return this.stateValue;
  }

  /** Pid of each instance's running incarnation (undefined while down). */
  get pids(): (number | undefined)[] {
    return this.slots.map((s) => s.plugin?.pid);
  }

  /** Calls waiting or in flight, per instance. */
  get pending(): number[] {
    return this.slots.map((s) => s.bridge?.pending ?? 0);
  }

  /** @internal joins the hub, registers, spawns; on failure everything is undone and the error rethrown. */
  async start(): Promise<void> {
    try {
      this.host = this.options.host;
      if (!this.host) {
        this.host = new PluginHost();
        this.ownsHost = true;
      }
      for (const slot of this.slots) await this.join(slot);
      await Promise.all(this.slots.map((slot) => this.spawn(slot)));
      if (this.stateValue === 'starting') this.stateValue = 'running';
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  private async join(slot: Slot): Promise<void> {
    const link = await this.links(slot.id, {
      frame: (frame) => slot.bridge?.onHubFrame(frame),
      call: (rid, caller, channel, event, isStream, data) => slot.bridge?.onDecodedCall(rid, caller, channel, event, isStream, data),
      lost: (err) => this.instanceLost(slot, err),
    });
    slot.link = link;
    slot.bridge = new InstanceBridge(link, {
      mode: this.options.mode,
      name: slot.id,
      timeout: this.options.timeout,
      maxPending: this.options.maxPending,
      pipeline: this.options.pipeline,
      passwords: this.passwords,
      onError: (err) => this.report(err, slot.index),
      onBreach: () => this.incarnationBreached(slot),
    });
    if (this.options.event === undefined) return;
    const reply = await slot.bridge.request({
      type: 'register',
      channel: this.channel,
      is_provider: true,
      event: this.options.event,
      is_stream: this.options.stream,
      is_group: this.options.isGroup,
      param_schema: null,
      return_schema: null,
    });
    if ('error' in reply) {
      const code = typeof reply['code'] === 'string' && reply['code'].startsWith('PIPEIO_ERR_') ? reply['code'] : 'PIPEIO_ERR_REMOTE';
      throw pipeIOError(code as PipeIOError['code'], `cannot provide ${this.channel}:${this.options.event}: ${String(reply['error'])}`, { remoteMessage: String(reply['error']) });
    }
  }

  private async spawn(slot: Slot): Promise<void> {
    const host = this.host!;
    const plugin = await host.spawnPlugin(this.command, this.args, {
      env: this.options.env,
      cwd: this.options.cwd,
      stdout: this.options.stdout,
      gracePeriod: this.options.gracePeriod,
      restart: false, // restarts happen here, each on a fresh pair
    });
    const startedAt = Date.now();
    if (this.stateValue === 'closing' || this.stateValue === 'closed' || slot.ended) {
      await plugin.stop();
      return;
    }
    slot.plugin = plugin;
    plugin.on('message', (m) => slot.bridge?.onPluginLine(m));
    plugin.on('stderr', (line) => this.emit('stderr', line, slot.index));
    plugin.on('error', (err) => this.report(err, slot.index));
    plugin.on('exit', (code, signal) => {
      slot.bridge?.detachWriter();
      this.emit('exit', slot.index, code, signal);
    });
    plugin.on('close', (exit) => this.incarnationClosed(slot, plugin, exit, startedAt));
    this.emit('spawn', slot.index, plugin.pid ?? 0);
    slot.bridge?.attachWriter((line) => {
      plugin.send(line);
    });
  }

  /** 'line' mode: the running incarnation cannot be trusted any more (its calls are already failed): stop it; incarnationClosed restarts. */
  private incarnationBreached(slot: Slot): void {
    const plugin = slot.plugin;
    if (!plugin || slot.breached === plugin) return;
    slot.breached = plugin;
    plugin.stop().catch((err: unknown) => this.report(err as PipeIOError, slot.index));
  }

  private incarnationClosed(slot: Slot, plugin: Plugin, exit: PluginExit, startedAt: number): void {
    if (slot.plugin !== plugin) return;
    slot.plugin = undefined;
    const breached = slot.breached === plugin;
    slot.breached = undefined;
    slot.bridge?.incarnationEnded(`plugin ${slot.id} exited (${exitText(exit)}) before answering`);
    if (this.stateValue === 'closing' || this.stateValue === 'closed') return;
    const crashed = breached || exit.code !== 0 || exit.signal !== null;
    const next = crashed ? slot.budget?.next(Date.now() - startedAt) : undefined;
    if (!next) {
      this.endSlot(slot, `plugin ${slot.id} ended (${exitText(exit)})`);
      return;
    }
    this.scheduleRespawn(slot, next.attempt, next.delay);
  }

  private scheduleRespawn(slot: Slot, attempt: number, delay: number): void {
    this.emit('restart', slot.index, attempt, delay);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      this.spawn(slot).catch((err: unknown) => {
        if (this.stateValue === 'closing' || this.stateValue === 'closed') return;
        this.report(err as PipeIOError, slot.index);
        const again = slot.budget?.next(0);
        if (again) this.scheduleRespawn(slot, again.attempt, again.delay);
        else this.endSlot(slot, `plugin ${slot.id} could not be restarted`);
      });
    }, delay);
  }

  private instanceLost(slot: Slot, err: PipeIOError): void {
    this.report(err, slot.index);
    if (this.stateValue === 'closing' || this.stateValue === 'closed') return;
    this.endSlot(slot, `plugin ${slot.id} lost its hub membership: ${err.message}`);
  }

  /** One instance is finished for good: callers are answered, it leaves the hub, its process stops. */
  private endSlot(slot: Slot, reason: string): void {
    if (slot.ended) return;
    slot.ended = true;
    clearTimeout(slot.timer);
    slot.bridge?.close(reason);
    slot.link?.close();
    const plugin = slot.plugin;
    slot.plugin = undefined;
    void plugin?.stop().catch(() => undefined);
    if (this.slots.every((s) => s.ended)) void this.stop().catch(() => undefined);
  }

  private report(err: PipeIOError, index: number): void {
    if (this.listenerCount('error') > 0) this.emit('error', err, index);
  }

  /**
   * Stops every instance: open calls are answered with PIPEIO_ERR_CLOSED,
   * the members leave the hub, the processes get SIGTERM (SIGKILL after the
   * grace period), a private host is stopped. Idempotent.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.runStop();
    return this.stopPromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async runStop(): Promise<void> {
    this.stateValue = 'closing';
    const plugins: Plugin[] = [];
    for (const slot of this.slots) {
      slot.ended = true;
      clearTimeout(slot.timer);
      slot.bridge?.close(`plugin ${slot.id} is stopping`);
      slot.link?.close();
      if (slot.plugin) plugins.push(slot.plugin);
      slot.plugin = undefined;
    }
    const results = await Promise.allSettled(plugins.map((p) => p.stop()));
    if (this.ownsHost) await this.host?.stop().catch(() => undefined);
    this.stateValue = 'closed';
    process.nextTick(() => this.emit('close'));
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }
}
