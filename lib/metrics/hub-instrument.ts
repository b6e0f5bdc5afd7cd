/**
 * What a Hub holds for observability, in one place so hub.ts only forwards:
 * its {@link HubMetrics} (installed as the core's observer), the plugins it
 * runs, the prom-client registration, health, snapshots, and the answer to a
 * `__comm_ipc_system` `stats` call.
 */
import { pipeIOError } from '../errors';
import type { ClusterEvent, Federation } from '../hub/federation/federation';
import type { ClusterTransport } from '../hub/federation/transport';
import { controlSubject } from '../hub/federation/wire';
import type { HubPlugin } from '../hub/plugins';
import type { HubCore } from '../hub/server/core';
import { countingTransport } from './counting-transport';
import { evaluateHealth } from './health';
import { HubMetrics, type ResolvedHubMetricsOptions, type Transport } from './hub-metrics';
import { snapshotOptionsOf, takeSnapshot, type MetricsSnapshotOptions, type SnapshotProbe } from './hub-snapshot';
import { registerInto, type PromRegistryLike } from './prom-client';
import { STATS_EVENT } from './stats-call';
import type { HealthReport, HubMetricsSnapshot } from './types';
import { packageVersion } from './version';

/** The parts of a Hub its instrument reads. */
export interface HubInternals {
  readonly serverId: string;
  readonly core: HubCore;
  readonly maxConnections: number;
  state(): string;
  listeners(): Array<{ name: string; listening: boolean }>;
  connections(): ReadonlySet<{ readonly queuedBytes: number }>;
  federation(): Federation | undefined;
}


export class HubInstrument {
  readonly metrics: HubMetrics | undefined;
  private readonly hub: HubInternals;
  private readonly options: ResolvedHubMetricsOptions | undefined;
  private readonly plugins = new Map<HubPlugin, { restarts: number }>();
  private unregister: (() => void) | undefined;
  private readonly probe: SnapshotProbe;

  constructor(hub: HubInternals, options: ResolvedHubMetricsOptions | undefined) {
    this.hub = hub;
    this.options = options;
    if (options) {
      this.metrics = new HubMetrics(options);
      hub.core.observe(this.metrics);
    }
    this.probe = {
      serverId: hub.serverId,
      version: packageVersion(),
      core: hub.core,
      state: () => hub.state(),
      connections: () => hub.connections(),
      health: () => this.health(),
      federation: () => {
        const fed = hub.federation();
        if (!fed) return undefined;
        return { up: fed.state === 'up', ...fed.stats() };
      },
      plugins: () => [...this.plugins.keys()].map((p) => ({ channel: p.channel, event: p.event, running: p.pids.filter((x) => x !== undefined).length })),
      pluginDetails: () =>
        [...this.plugins].map(([p, s]) => ({
          command: p.command,
          channel: p.channel,
          event: p.event ?? null,
          ids: [...p.ids],
          pids: p.pids.map((x) => x ?? null),
          restarts: s.restarts,
        })),
    };
  }

  /** Registers into the user's prom-client registry, if given (once the hub is built). */
  start(): void {
    const registry = this.options?.registry as PromRegistryLike | undefined;
    if (registry && this.metrics && !this.unregister) this.unregister = registerInto(registry, () => this.snapshot().metrics);
  }

  stop(): void {
    this.unregister?.();
    this.unregister = undefined;
  }

  /** The federation's transport, counted. */
  transport(inner: ClusterTransport, subjectPrefix: string): ClusterTransport {
    if (!this.metrics) return inner;
    const ctl = controlSubject(subjectPrefix);
    return countingTransport(inner, this.metrics, (subject) => subject !== ctl);
  }

  accepted(conn: object, transport: Transport): void {
    this.metrics?.connectionOpened(conn, transport);
  }

  closed(conn: object): void {
    this.metrics?.connectionClosed(conn);
  }

  clientError(code: string, stage: 'connection' | 'core'): void {
    this.metrics?.clientError(code, stage);
  }

  cluster(ev: ClusterEvent): void {
    this.metrics?.cluster(ev);
  }

  plugin(p: HubPlugin): void {
    const state = { restarts: 0 };
    this.plugins.set(p, state);
    p.on('restart', () => {
      state.restarts++;
      this.metrics?.pluginRestarted(p.channel, p.event);
    });
    p.once('close', () => this.plugins.delete(p));
  }

  health(): HealthReport {
    const fed = this.hub.federation();
    return evaluateHealth({
      state: this.hub.state(),
      listeners: this.hub.listeners(),
      connections: this.hub.connections().size,
      maxConnections: this.hub.maxConnections,
      federation: fed ? { state: fed.state } : undefined,
    });
  }

  /** @throws PipeIOError PIPEIO_ERR_INVALID_STATE when the hub was made with `metrics: false`. */
  snapshot(options?: MetricsSnapshotOptions): HubMetricsSnapshot {
    if (!this.metrics) throw pipeIOError('PIPEIO_ERR_INVALID_STATE', 'this hub keeps no metrics (options.metrics is false)');
    return takeSnapshot(this.metrics, this.probe, options);
  }

  /** The answer to a `__comm_ipc_system` call, or undefined if the hub does not serve that event. */
  systemCall(event: string, data: unknown): object | undefined {
    if (event !== STATS_EVENT || !this.metrics || !this.options?.systemStats) return undefined;
    return this.snapshot(snapshotOptionsOf(data));
  }
}
