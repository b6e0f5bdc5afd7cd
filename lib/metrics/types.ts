/**
 * The JSON shapes of a hub's metrics: `hub.metrics()`, `/api/stats`, and the
 * answer to a `__comm_ipc_system` `stats` call. Every value is plain JSON.
 */
import type { HubTopology } from './topology';

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Record<string, string>;

export interface MetricSample {
  labels: Labels;
  value: number;
}

export interface HistogramSample {
  labels: Labels;
  /** Cumulative counts per bound of the family's `bounds`, then +Inf (equal to `count`). */
  buckets: number[];
  /** Sum of the observations (seconds). */
  sum: number;
  count: number;
}

export type MetricFamily =
  | { name: string; help: string; type: 'counter' | 'gauge'; samples: MetricSample[] }
  | { name: string; help: string; type: 'histogram'; bounds: number[]; samples: HistogramSample[] };

export interface HealthCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/**
 * `live`: the process serves (the hub is running and every listener is up);
 * `ready`: it should get traffic (live, accepting connections below the
 * limit, and its federation link up when federated). docs/observability.md.
 */
export interface HealthReport {
  live: boolean;
  ready: boolean;
  checks: HealthCheck[];
}

export interface HubMetricsSnapshot {
  serverId: string;
  version: string;
  /** When this snapshot was taken, ms since the epoch. */
  time: number;
  /** When the hub was made, ms since the epoch. */
  startedAt: number;
  state: string;
  health: HealthReport;
  metrics: MetricFamily[];
  /** Channels, events, topics, peers, plugins (when asked for). */
  topology?: HubTopology;
}
