/**
 * Every metric of a hub as {@link MetricFamily}s: the counters HubMetrics
 * kept, plus gauges read from the hub now (connections, tables, queues,
 * federation, plugins). The one list behind the Prometheus text, the JSON
 * snapshot and a prom-client registry. docs/observability.md lists them.
 */
import type { HubCore } from '../hub/server/core';
import { LATENCY_BUCKETS } from './histogram';
import type { HubMetrics, Transport } from './hub-metrics';
import { CALL_OUTCOMES, MESSAGE_KINDS, MESSAGE_OUTCOMES, type Series } from './series-table';
import type { HealthReport, Labels, MetricFamily, MetricSample } from './types';

/** What the families read from the hub when they are built (hub.ts provides it). */
export interface HubProbe {
  readonly serverId: string;
  readonly version: string;
  readonly core: HubCore;
  /** Open connections (identified or not) with their unread outgoing bytes. */
  connections(): Iterable<{ readonly queuedBytes: number }>;
  /** Federation link state and figures; undefined when the hub is not federated. */
  federation(): { up: boolean; peers: number; remoteMembers: number; queuedBytes: number; droppedFrames: number } | undefined;
  /** In-process plugins: channel, event, running instances. */
  plugins(): Array<{ channel: string; event: string | undefined; running: number }>;
  health(): HealthReport;
}

const TRANSPORTS: readonly Transport[] = ['unix', 'tcp', 'tls'];

function counter(name: string, help: string, samples: MetricSample[]): MetricFamily {
  return { name, help, type: 'counter', samples };
}
function gauge(name: string, help: string, samples: MetricSample[]): MetricFamily {
  return { name, help, type: 'gauge', samples };
}
const one = (value: number, labels: Labels = {}): MetricSample[] => [{ labels, value }];

/** Samples of a per-series counter, skipping zeros (a series appears once it moved). */
function perSeries(series: readonly Series[], label: string, pick: (s: Series, out: (labels: Labels, v: number) => void) => void): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const s of series) {
    pick(s, (labels, value) => {
      if (value > 0) samples.push({ labels: { channel: s.channel, [label]: s.event, ...labels }, value });
    });
  }
  return samples;
}

export function hubFamilies(m: HubMetrics, probe: HubProbe): MetricFamily[] {
  const core = probe.core;
  const series = m.series.all();
  const out: MetricFamily[] = [];

  // -- calls, streams, messages per channel and event ------------------------
  const byOutcome = (pick: (s: Series) => Float64Array) => (s: Series, emit: (l: Labels, v: number) => void) =>
    CALL_OUTCOMES.forEach((outcome, i) => emit({ outcome }, pick(s)[i]!));
  out.push(counter('pipeio_hub_calls_total', 'Calls by channel, event and outcome (streams included).', perSeries(series, 'event', byOutcome((s) => s.calls))));
  out.push(counter('pipeio_hub_streams_total', 'Stream calls by channel, event and outcome.', perSeries(series, 'event', byOutcome((s) => s.streams))));
  out.push(counter('pipeio_hub_stream_chunks_total', 'Stream chunks routed to callers.', perSeries(series, 'event', (s, e) => e({}, s.streamChunks))));
  const histogram: MetricFamily = {
    name: 'pipeio_hub_call_duration_seconds',
    help: 'Call latency as seen by the hub, request in to final response out, for calls a provider answered.',
    type: 'histogram',
    bounds: [...LATENCY_BUCKETS],
    samples: series.filter((s) => s.latency.count > 0).map((s) => ({ labels: { channel: s.channel, event: s.event }, buckets: s.latency.cumulative(), sum: s.latency.sum, count: s.latency.count })),
  };
  out.push(histogram);
  const kinds: Array<[string, string, string]> = [
    ['pipeio_hub_broadcasts_total', 'Broadcasts by channel, event and outcome.', 'event'],
    ['pipeio_hub_sends_total', 'One-way sends by channel, event and outcome.', 'event'],
    ['pipeio_hub_publications_total', 'Publications by channel, topic and outcome.', 'topic'],
  ];
  kinds.forEach(([name, help, label], k) => {
    out.push(
      counter(
        name,
        help,
        perSeries(series, label, (s, e) => MESSAGE_OUTCOMES.forEach((o, i) => e({ outcome: o }, s.messages[k * MESSAGE_OUTCOMES.length + i]!))),
      ),
    );
  });
  out.push(counter('pipeio_hub_deliveries_total', 'Members reached by broadcasts, sends and publications.', MESSAGE_KINDS.map((kind, k) => ({ labels: { kind }, value: m.deliveries[k]! }))));
  out.push(gauge('pipeio_hub_series', 'Distinct channel/event pairs with series of their own (the rest are folded into "other").', one(m.series.size)));
  out.push(gauge('pipeio_hub_series_limit', 'The cap on distinct channel/event pairs (metrics.maxSeries).', one(m.series.maxSeries)));
  out.push(counter('pipeio_hub_series_folded_total', 'Operations counted under channel="other" because of the cap.', one(m.series.folded)));

  // -- traffic ------------------------------------------------------------------
  out.push(counter('pipeio_hub_received_bytes_total', 'Bytes read from client sockets.', one(m.bytesIn)));
  out.push(counter('pipeio_hub_sent_bytes_total', 'Bytes written to client sockets.', one(m.bytesOut)));
  out.push(counter('pipeio_hub_received_frames_total', 'Frames read from client sockets.', one(m.framesIn)));
  out.push(counter('pipeio_hub_sent_frames_total', 'Frames written to client sockets.', one(m.framesOut)));

  // -- connections and clients --------------------------------------------------
  const open: Record<string, number> = { unix: 0, tcp: 0, tls: 0 };
  for (const t of m.transports.values()) open[t]!++;
  out.push(gauge('pipeio_hub_connections', 'Open client connections by transport (identified or not).', TRANSPORTS.map((t) => ({ labels: { transport: t }, value: open[t]! }))));
  out.push(counter('pipeio_hub_connections_opened_total', 'Connections accepted by transport.', TRANSPORTS.map((t) => ({ labels: { transport: t }, value: m.opened[t] }))));
  const clients: Record<string, number> = { unix: 0, tcp: 0, tls: 0, in_process: 0, federation: 0 };
  for (const ep of core.clients.values()) clients[transportOf(m, ep)]!++;
  out.push(gauge('pipeio_hub_clients', 'Identified members by transport (in_process: plugins; federation: members of other hubs).', Object.entries(clients).map(([transport, value]) => ({ labels: { transport }, value }))));
  let queued = 0;
  let queuedMax = 0;
  for (const c of probe.connections()) {
    queued += c.queuedBytes;
    if (c.queuedBytes > queuedMax) queuedMax = c.queuedBytes;
  }
  out.push(gauge('pipeio_hub_queued_bytes', 'Outgoing bytes not yet taken by clients, all connections.', one(queued)));
  out.push(gauge('pipeio_hub_queued_bytes_max', 'Outgoing bytes not yet taken by the slowest connection.', one(queuedMax)));
  out.push(counter('pipeio_hub_slow_consumers_total', 'Connections closed because their unread output passed maxQueueBytes.', one(m.slowConsumers)));
  out.push(counter('pipeio_hub_auth_refusals_total', 'Refused authentications: connection secret, channel password, frames into a password channel without it.', Object.entries(m.authRefusals).map(([stage, value]) => ({ labels: { stage }, value }))));
  out.push(counter('pipeio_hub_client_errors_total', 'Errors attributed to clients, by code.', [...m.clientErrors].map(([code, value]) => ({ labels: { code }, value }))));

  // -- tables -------------------------------------------------------------------
  let members = 0;
  for (const ch of core.channels.all()) members += ch.members.length;
  let events = 0;
  let providers = 0;
  for (const e of core.providers.all()) {
    events++;
    providers += e.providers.length;
  }
  let topics = 0;
  let subscribers = 0;
  for (const t of core.topics.all()) {
    topics++;
    subscribers += t.subscribers.size;
  }
  out.push(gauge('pipeio_hub_channels', 'Channels.', one(core.channels.size)));
  out.push(gauge('pipeio_hub_channel_members', 'Channel memberships (a member of two channels counts twice).', one(members)));
  out.push(gauge('pipeio_hub_events', 'Events with at least one provider.', one(events)));
  out.push(gauge('pipeio_hub_providers', 'Provider registrations (a group of three counts three).', one(providers)));
  out.push(gauge('pipeio_hub_topics', 'Pub/sub topics.', one(topics)));
  out.push(gauge('pipeio_hub_subscribers', 'Topic subscriptions.', one(subscribers)));
  out.push(gauge('pipeio_hub_pending_calls', 'Calls routed and not yet answered.', one(core.requests.size)));
  out.push(counter('pipeio_hub_orphan_responses_total', 'Responses that matched no call in flight (late, duplicate or injected).', one(core.requests.orphanResponses)));

  // -- plugins ------------------------------------------------------------------
  const running = new Map<string, [string, string, number]>();
  for (const p of probe.plugins()) {
    const key = `${p.channel}\u0000${p.event ?? ''}`;
    const prev = running.get(key);
    running.set(key, [p.channel, p.event ?? '', (prev?.[2] ?? 0) + p.running]);
  }
  out.push(gauge('pipeio_hub_plugin_instances', 'Running instances of in-process hub plugins.', [...running.values()].map(([channel, event, value]) => ({ labels: { channel, event }, value }))));
  out.push(
    counter(
      'pipeio_hub_plugin_restarts_total',
      'Restarts of crashed plugin instances.',
      [...m.pluginRestarts].map(([key, value]) => {
        const [channel, event] = key.split('\u0000') as [string, string];
        return { labels: { channel, event }, value };
      }),
    ),
  );

  // -- federation ---------------------------------------------------------------
  const fed = probe.federation();
  if (fed) {
    const f = m.federation;
    out.push(gauge('pipeio_hub_federation_link_up', '1 while the NATS link is up.', one(fed.up ? 1 : 0)));
    out.push(gauge('pipeio_hub_federation_peers', 'Other hubs of the cluster this hub hears from.', one(fed.peers)));
    out.push(gauge('pipeio_hub_federation_remote_members', 'Members of other hubs known here.', one(fed.remoteMembers)));
    out.push(gauge('pipeio_hub_federation_queued_bytes', 'Bytes queued for other hubs (link down or peer not yet confirmed).', one(fed.queuedBytes)));
    out.push(counter('pipeio_hub_federation_dropped_frames_total', 'Frames from other hubs that could not be delivered.', one(fed.droppedFrames)));
    out.push(counter('pipeio_hub_federation_messages_total', 'NATS messages by direction.', [{ labels: { direction: 'sent' }, value: f.sentMessages }, { labels: { direction: 'received' }, value: f.receivedMessages }]));
    out.push(counter('pipeio_hub_federation_bytes_total', 'NATS payload bytes by direction.', [{ labels: { direction: 'sent' }, value: f.sentBytes }, { labels: { direction: 'received' }, value: f.receivedBytes }]));
    out.push(counter('pipeio_hub_federation_frames_total', 'Hub frames carried in NATS batches, by direction.', [{ labels: { direction: 'sent' }, value: f.sentFrames }, { labels: { direction: 'received' }, value: f.receivedFrames }]));
    out.push(counter('pipeio_hub_federation_reconnects_total', 'Times the NATS link came back after being lost.', one(Math.max(0, f.linkUps - 1))));
    out.push(counter('pipeio_hub_federation_peer_joins_total', 'Hubs that joined (or came back).', one(f.peerJoins)));
    out.push(counter('pipeio_hub_federation_peer_losses_total', 'Hubs dropped, by reason (bye, timeout, restart, link).', [...f.peerLosses].map(([reason, value]) => ({ labels: { reason }, value }))));
  }

  // -- the hub itself -------------------------------------------------------------
  const health = probe.health();
  out.push(gauge('pipeio_hub_info', 'Constant 1, labelled with the hub id and the package version.', one(1, { server_id: probe.serverId, version: probe.version })));
  out.push(gauge('pipeio_hub_start_time_seconds', 'When the hub was made, seconds since the epoch.', one(m.startedAt / 1000)));
  out.push(gauge('pipeio_hub_ready', '1 while /readyz would answer 200.', one(health.ready ? 1 : 0)));
  return out;
}

/** How member `ep` reached the hub. */
export function transportOf(m: HubMetrics, ep: { local: boolean }): string {
  if (!ep.local) return 'federation';
  return m.transports.get(ep) ?? 'in_process';
}
