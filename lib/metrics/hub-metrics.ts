/**
 * HubMetrics: the hub's counters, kept as it works. It is the hub's
 * {@link HubObserver} (the routing core and its connections call it on the
 * hot path: plain additions into preallocated arrays, no allocation per
 * call), and hub.ts tells it about connections, client errors, plugins and
 * the federation. Gauges (connections, channels, queues...) are read from the
 * hub when a snapshot is taken (./hub-families.ts), never kept.
 */
import type { Fields } from '../hub/protocol/codec';
import type { HubObserver, MessageKind, MessageOutcome, ObservedCall } from '../hub/server/observer';
import type { ClusterEvent } from '../hub/federation/federation';
import { KIND_INDEX, MESSAGE_OUTCOME_INDEX, MESSAGE_OUTCOMES, OUTCOME_INDEX, SeriesTable, type Series } from './series-table';

/** How a connection reached the hub. */
export type Transport = 'unix' | 'tcp' | 'tls';

export interface HubMetricsOptions {
  /**
   * Distinct (channel, event) pairs with series of their own; beyond, pairs
   * are counted under channel="other", event="other". @default 1000
   */
  maxSeries?: number;
  /**
   * A prom-client `Registry` of the application's: the hub's metrics are
   * registered in it and read at its scrape (prom-client itself is never
   * loaded by us). Removed when the hub stops.
   */
  registry?: unknown;
  /** Answer `stats` calls into `__comm_ipc_system` (what `pipe-io-server top` uses). @default true */
  systemStats?: boolean;
}

export interface ResolvedHubMetricsOptions {
  maxSeries: number;
  registry: unknown;
  systemStats: boolean;
}

export function resolveMetricsOptions(options: boolean | HubMetricsOptions | undefined): ResolvedHubMetricsOptions | undefined {
  if (options === false) return undefined;
  if (options !== undefined && options !== true && (options === null || typeof options !== 'object')) {
    throw new TypeError('options.metrics must be a boolean or an object');
  }
  const o = typeof options === 'object' ? options : {};
  const maxSeries = o.maxSeries ?? 1000;
  if (!Number.isInteger(maxSeries) || maxSeries < 0) throw new RangeError('options.metrics.maxSeries must be a non-negative integer');
  if (o.registry !== undefined && typeof (o.registry as { registerMetric?: unknown })?.registerMetric !== 'function') {
    throw new TypeError('options.metrics.registry must be a prom-client Registry (it has no registerMetric)');
  }
  return { maxSeries, registry: o.registry, systemStats: o.systemStats ?? true };
}

const OK = OUTCOME_INDEX.ok;

/** The outcome of a final response: its `error` and, for errors, our `code`. */
function outcomeIndex(fields: Fields): number {
  const error = fields.get('error');
  if (error === undefined || error === null) return OK;
  switch (fields.get('code')) {
    case 'PIPEIO_ERR_TIMEOUT':
      return OUTCOME_INDEX.timeout;
    case 'PIPEIO_ERR_VALIDATION':
      return OUTCOME_INDEX.validation;
    case 'PIPEIO_ERR_PROVIDER_GONE':
      return OUTCOME_INDEX.provider_gone;
    default:
      return OUTCOME_INDEX.remote_error;
  }
}

export class HubMetrics implements HubObserver {
  readonly series: SeriesTable;
  readonly startedAt = Date.now();
  bytesIn = 0;
  framesIn = 0;
  bytesOut = 0;
  framesOut = 0;
  /** [broadcast, send, publish]. */
  readonly deliveries = new Float64Array(3);
  readonly opened: Record<Transport, number> = { unix: 0, tcp: 0, tls: 0 };
  /** Open connections and how they came. */
  readonly transports = new Map<object, Transport>();
  slowConsumers = 0;
  readonly authRefusals = { connection: 0, channel: 0, message: 0 };
  readonly clientErrors = new Map<string, number>();
  readonly pluginRestarts = new Map<string, number>();
  readonly federation = {
    sentMessages: 0,
    sentBytes: 0,
    sentFrames: 0,
    receivedMessages: 0,
    receivedBytes: 0,
    receivedFrames: 0,
    linkUps: 0,
    linkDowns: 0,
    peerJoins: 0,
    peerLosses: new Map<string, number>(),
  };

  constructor(readonly options: ResolvedHubMetricsOptions) {
    this.series = new SeriesTable(options.maxSeries);
  }

  // -- HubObserver (hot path) ------------------------------------------------

  private clock = 0;
  private clockFresh = false;
  private readonly staleClock = (): void => {
    this.clockFresh = false;
  };

  now(): number {
    if (!this.clockFresh) {
      this.clockFresh = true;
      this.clock = performance.now();
      queueMicrotask(this.staleClock);
    }
    return this.clock;
  }

  received(bytes: number, frames: number): void {
    this.bytesIn += bytes;
    this.framesIn += frames;
  }

  sent(bytes: number, frames: number): void {
    this.bytesOut += bytes;
    this.framesOut += frames;
  }

  callRejected(channel: string, event: string, stream: boolean, outcome: 'no_provider' | 'refused', authRefused: boolean): void {
    const s = this.series.get(channel, event, true);
    const i = OUTCOME_INDEX[outcome];
    s.calls[i]!++;
    if (stream) s.streams[i]!++;
    if (authRefused) this.authRefusals.message++;
  }

  /** The series of a routed call, looked up once per call (a stream's chunks reuse it). */
  private seriesOf(call: ObservedCall): Series {
    return (call.observed ??= this.series.get(call.channel, call.event)) as Series;
  }

  response(call: ObservedCall, fields: Fields, final: boolean): void {
    const s = this.seriesOf(call);
    if (!final) {
      s.streamChunks++;
      return;
    }
    const i = outcomeIndex(fields);
    s.calls[i]!++;
    if (call.stream) s.streams[i]!++;
    s.latency.observeMs(this.now() - call.startedAt);
  }

  callDropped(call: ObservedCall, outcome: 'provider_gone' | 'abandoned'): void {
    const s = this.seriesOf(call);
    const i = OUTCOME_INDEX[outcome];
    s.calls[i]!++;
    if (call.stream) s.streams[i]!++;
  }

  message(kind: MessageKind, channel: string, event: string, outcome: MessageOutcome, deliveries: number, authRefused = false): void {
    const k = KIND_INDEX[kind];
    const s = this.series.get(channel, event, outcome !== 'ok');
    s.messages[k * MESSAGE_OUTCOMES.length + MESSAGE_OUTCOME_INDEX[outcome]]!++;
    this.deliveries[k]! += deliveries;
    if (authRefused) this.authRefusals.message++;
  }

  // -- told by the hub ---------------------------------------------------------

  connectionOpened(conn: object, transport: Transport): void {
    this.opened[transport]++;
    this.transports.set(conn, transport);
  }

  connectionClosed(conn: object): void {
    this.transports.delete(conn);
  }

  /**
   * A client error the hub reported: `stage` 'connection' for those that
   * closed a connection (handshake, framing, slow consumer), 'core' for those
   * the routing core reported (a refused channel password...).
   */
  clientError(code: string, stage: 'connection' | 'core'): void {
    this.clientErrors.set(code, (this.clientErrors.get(code) ?? 0) + 1);
    if (code === 'PIPEIO_ERR_SLOW_CONSUMER') this.slowConsumers++;
    if (code === 'PIPEIO_ERR_AUTH') {
      if (stage === 'connection') this.authRefusals.connection++;
      else this.authRefusals.channel++;
    }
  }

  pluginRestarted(channel: string, event: string | undefined): void {
    const key = `${channel}\u0000${event ?? ''}`;
    this.pluginRestarts.set(key, (this.pluginRestarts.get(key) ?? 0) + 1);
  }

  cluster(ev: ClusterEvent): void {
    const f = this.federation;
    if (ev.type === 'link') {
      if (ev.up) f.linkUps++;
      else f.linkDowns++;
    } else if (ev.type === 'peer') {
      if (ev.up) f.peerJoins++;
      else {
        const reason = ev.reason ?? 'unknown';
        f.peerLosses.set(reason, (f.peerLosses.get(reason) ?? 0) + 1);
      }
    }
  }
}
