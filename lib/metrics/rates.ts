/**
 * Rates and latency percentiles from two snapshots of a hub's metrics, as
 * the dashboard and `pipe-io-server top` show them: calls/s per event, p50
 * and p99 over the interval (from the histogram buckets that moved), and
 * the hub's traffic per second.
 */
import { quantile } from './histogram';
import type { HistogramSample, HubMetricsSnapshot, MetricFamily, MetricSample } from './types';

export interface EventRate {
  channel: string;
  event: string;
  /** Calls since the hub started. */
  calls: number;
  callsPerSec: number;
  /** Calls that did not end `ok`, per second. */
  errorsPerSec: number;
  /** Latency percentiles over the interval, ms (undefined without answered calls in it). */
  p50Ms?: number;
  p99Ms?: number;
}

export interface HubRates {
  intervalSec: number;
  callsPerSec: number;
  errorsPerSec: number;
  messagesPerSec: number;
  framesInPerSec: number;
  framesOutPerSec: number;
  bytesInPerSec: number;
  bytesOutPerSec: number;
  /** Every (channel, event) with calls, busiest first. */
  events: EventRate[];
}

export function family(s: HubMetricsSnapshot | undefined, name: string): MetricFamily | undefined {
  return s?.metrics.find((f) => f.name === name);
}

/** The sum of a counter or gauge's samples whose labels match `where`. */
export function total(s: HubMetricsSnapshot | undefined, name: string, where: Record<string, string> = {}): number {
  const f = family(s, name);
  if (!f || f.type === 'histogram') return 0;
  let n = 0;
  for (const x of f.samples) if (Object.entries(where).every(([k, v]) => x.labels[k] === v)) n += x.value;
  return n;
}

const key = (l: Record<string, string>): string => `${l['channel'] ?? ''}\u0000${l['event'] ?? ''}`;

export function computeRates(prev: HubMetricsSnapshot | undefined, cur: HubMetricsSnapshot): HubRates {
  const dt = prev ? Math.max((cur.time - prev.time) / 1000, 0.001) : 0;
  const per = (name: string, where?: Record<string, string>): number => (prev ? Math.max(0, total(cur, name, where) - total(prev, name, where)) / dt : 0);
  const calls = family(cur, 'pipeio_hub_calls_total');
  const prevCalls = family(prev, 'pipeio_hub_calls_total');
  const before = new Map<string, { all: number; bad: number }>();
  for (const x of (prevCalls?.samples ?? []) as MetricSample[]) {
    const e = before.get(key(x.labels)) ?? { all: 0, bad: 0 };
    e.all += x.value;
    if (x.labels['outcome'] !== 'ok') e.bad += x.value;
    before.set(key(x.labels), e);
  }
  const byEvent = new Map<string, EventRate & { bad: number }>();
  for (const x of (calls?.samples ?? []) as MetricSample[]) {
    const k = key(x.labels);
    let e = byEvent.get(k);
    if (!e) byEvent.set(k, (e = { channel: x.labels['channel'] ?? '', event: x.labels['event'] ?? '', calls: 0, callsPerSec: 0, errorsPerSec: 0, bad: 0 }));
    e.calls += x.value;
    if (x.labels['outcome'] !== 'ok') e.bad += x.value;
  }
  const hist = family(cur, 'pipeio_hub_call_duration_seconds');
  const prevHist = family(prev, 'pipeio_hub_call_duration_seconds');
  const prevBuckets = new Map<string, number[]>();
  if (prevHist?.type === 'histogram') for (const x of prevHist.samples) prevBuckets.set(key(x.labels), x.buckets);
  const events: EventRate[] = [];
  for (const [k, e] of byEvent) {
    const b = before.get(k) ?? { all: 0, bad: 0 };
    const out: EventRate = {
      channel: e.channel,
      event: e.event,
      calls: e.calls,
      callsPerSec: prev ? Math.max(0, e.calls - b.all) / dt : 0,
      errorsPerSec: prev ? Math.max(0, e.bad - b.bad) / dt : 0,
    };
    if (hist?.type === 'histogram') {
      const h = (hist.samples as HistogramSample[]).find((x) => key(x.labels) === k);
      if (h) {
        const p = prevBuckets.get(k);
        const delta = p ? h.buckets.map((c, i) => c - (p[i] ?? 0)) : h.buckets;
        const p50 = quantile(0.5, hist.bounds, delta);
        const p99 = quantile(0.99, hist.bounds, delta);
        if (p50 !== undefined) out.p50Ms = p50 * 1000;
        if (p99 !== undefined) out.p99Ms = p99 * 1000;
      }
    }
    events.push(out);
  }
  events.sort((a, b) => b.callsPerSec - a.callsPerSec || b.calls - a.calls);
  let errorsPerSec = 0;
  for (const e of events) errorsPerSec += e.errorsPerSec;
  return {
    intervalSec: dt,
    callsPerSec: per('pipeio_hub_calls_total'),
    errorsPerSec,
    messagesPerSec: per('pipeio_hub_broadcasts_total') + per('pipeio_hub_sends_total') + per('pipeio_hub_publications_total'),
    framesInPerSec: per('pipeio_hub_received_frames_total'),
    framesOutPerSec: per('pipeio_hub_sent_frames_total'),
    bytesInPerSec: per('pipeio_hub_received_bytes_total'),
    bytesOutPerSec: per('pipeio_hub_sent_bytes_total'),
    events,
  };
}
