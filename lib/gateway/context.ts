/** What the request handlers share: the hub side, the options, the topic fan-out, counters. */
import type { GatewayHub } from './hub-side';
import type { ResolvedGatewayOptions } from './options';
import type { TopicFanout } from './fanout';

/** Counters of a gateway (read by `gateway.stats()`; monotonic unless said otherwise). */
export interface GatewayCounters {
  requests: number;
  calls: number;
  streams: number;
  /** Answers with a status of 400 or more. */
  errors: number;
  /** SSE or WebSocket readers cut off for reading too slowly. */
  slowReadersCut: number;
  /** Calls and streams cancelled because the web client went away. */
  clientAborts: number;
  uploadBytes: number;
  downloadBytes: number;
}

export interface GatewayContext {
  readonly hub: GatewayHub;
  readonly options: ResolvedGatewayOptions;
  readonly fanout: TopicFanout;
  readonly counters: GatewayCounters;
}
