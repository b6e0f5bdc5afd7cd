/**
 * A hub's metrics as one JSON snapshot (`hub.metrics()`, `/api/stats`, the
 * `__comm_ipc_system` `stats` call), and the options a caller may pass.
 */
import { hubFamilies, transportOf, type HubProbe } from './hub-families';
import type { HubMetrics } from './hub-metrics';
import { buildTopology, type TopologyPlugin } from './topology';
import type { HubMetricsSnapshot } from './types';

export interface MetricsSnapshotOptions {
  /** Include channels, events, topics, peers and plugins. @default false */
  topology?: boolean;
  /** Most entries per topology list. @default 1000 */
  limit?: number;
}

export interface SnapshotProbe extends HubProbe {
  state(): string;
  pluginDetails(): TopologyPlugin[];
}

export function takeSnapshot(m: HubMetrics, probe: SnapshotProbe, options: MetricsSnapshotOptions = {}): HubMetricsSnapshot {
  const health = probe.health();
  const snapshot: HubMetricsSnapshot = {
    serverId: probe.serverId,
    version: probe.version,
    time: Date.now(),
    startedAt: m.startedAt,
    state: probe.state(),
    health,
    metrics: hubFamilies(m, { ...probe, health: () => health }),
  };
  if (options.topology) {
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 100_000));
    snapshot.topology = buildTopology(
      probe.core,
      (id) => {
        const ep = probe.core.clients.get(id);
        return ep ? transportOf(m, ep) : 'gone';
      },
      probe.pluginDetails(),
      queues(m, probe),
      limit,
    );
  }
  return snapshot;
}

/** The 20 connections with the most unread output. */
function queues(m: HubMetrics, probe: SnapshotProbe): Array<{ id: string; transport: string; queuedBytes: number }> {
  const all: Array<{ id: string; transport: string; queuedBytes: number }> = [];
  for (const c of probe.connections()) {
    all.push({ id: (c as { id?: string }).id || '(not identified)', transport: m.transports.get(c) ?? 'unknown', queuedBytes: c.queuedBytes });
  }
  return all.sort((a, b) => b.queuedBytes - a.queuedBytes).slice(0, 20);
}

/** Reads snapshot options from a call's data (a decoded map or a plain object); anything else means defaults. */
export function snapshotOptionsOf(data: unknown): MetricsSnapshotOptions {
  const get = (k: string): unknown => (data instanceof Map ? data.get(k) : data !== null && typeof data === 'object' ? (data as Record<string, unknown>)[k] : undefined);
  const topology = get('topology');
  const limit = get('limit');
  return {
    topology: topology === true,
    ...(typeof limit === 'number' && Number.isFinite(limit) ? { limit } : {}),
  };
}
