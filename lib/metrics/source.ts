/**
 * Where the HTTP endpoints, the dashboard and `top` get a hub's figures:
 * the Hub in this process, or any of our hubs over its own protocol (a
 * `stats` call into `__comm_ipc_system`, answered by the hub itself; see
 * docs/observability.md).
 */
import { pipeIOError } from '../errors';
import type { HubClient } from '../hub/client';
import type { HubChannel } from '../hub/client';
import type { Hub } from '../hub/server/hub';
import { STATS_CHANNEL, STATS_EVENT } from './stats-call';
import type { MetricsSnapshotOptions } from './hub-snapshot';
import type { HealthReport, HubMetricsSnapshot } from './types';

export interface StatsSource {
  snapshot(options?: MetricsSnapshotOptions): Promise<HubMetricsSnapshot>;
  health(): Promise<HealthReport>;
}

/** The figures of a Hub in this process. */
export function hubSource(hub: Hub): StatsSource {
  return {
    snapshot: (options) => Promise.resolve(hub.metrics(options)),
    health: () => Promise.resolve(hub.health()),
  };
}

/**
 * The figures of the hub `client` is connected to, asked over the hub
 * protocol (one `stats` call per snapshot). `timeout` ms per call.
 */
export function clientSource(client: HubClient, timeout = 5000): StatsSource {
  let channel: Promise<HubChannel> | undefined;
  const snapshot = async (options: MetricsSnapshotOptions = {}): Promise<HubMetricsSnapshot> => {
    channel ??= client.open(STATS_CHANNEL);
    let ch: HubChannel;
    try {
      ch = await channel;
    } catch (err) {
      channel = undefined;
      throw err;
    }
    let answer;
    try {
      answer = await ch.call(STATS_EVENT, { topology: options.topology === true, ...(options.limit !== undefined ? { limit: options.limit } : {}) }, { timeout });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'PIPEIO_ERR_RESERVED' && code !== 'PIPEIO_ERR_NO_PROVIDER') throw err;
      throw pipeIOError(code, `this hub does not serve its stats (comm-ipc's hub, or ours with metrics off): ${(err as Error).message}`, { cause: err });
    }
    const data = answer.data as HubMetricsSnapshot | undefined;
    if (!data || !Array.isArray(data.metrics)) throw pipeIOError('PIPEIO_ERR_PROTOCOL', 'the hub answered the stats call without metrics');
    return data;
  };
  return {
    snapshot,
    health: async () => {
      try {
        return (await snapshot()).health;
      } catch (err) {
        return { live: false, ready: false, checks: [{ name: 'hub', ok: false, detail: (err as Error).message }] };
      }
    },
  };
}
