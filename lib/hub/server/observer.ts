/**
 * HubObserver: what the routing core and its connections report as they
 * work, for metrics (lib/metrics). The core calls it at a few points on the
 * hot path, so an implementation must be cheap: count, never allocate per
 * call. {@link NO_OBSERVER} is the disabled one (`metrics: false`).
 */
import type { Fields } from '../protocol/codec';

/** How a call ended, as the hub saw it (docs/observability.md). */
export type CallOutcome =
  | 'ok'
  | 'remote_error'
  | 'no_provider'
  | 'provider_gone'
  | 'timeout'
  | 'validation'
  | 'refused'
  | 'abandoned';

export type MessageKind = 'broadcast' | 'send' | 'publish';
export type MessageOutcome = 'ok' | 'no_provider' | 'refused';

/** The parts of a call in flight an observer reads (lib/hub/server/request-table.ts). */
export interface ObservedCall {
  readonly channel: string;
  readonly event: string;
  /** The caller asked for a stream. */
  readonly stream: boolean;
  /** {@link HubObserver.now} when the call was routed. */
  readonly startedAt: number;
  /** The observer's own, for the life of the call (its record of the call's event), undefined until it sets it. */
  observed: unknown;
}

export interface HubObserver {
  /**
   * A clock in ms (performance.now()'s) for call latencies, read at most
   * once per turn of the event loop (the frames of one socket read share it:
   * reading it per call costs more than the rest of the metrics); 0 when disabled.
   */
  now(): number;
  /** One socket read: its bytes and the whole frames it completed. */
  received(bytes: number, frames: number): void;
  /** One socket write: its bytes and frames. */
  sent(bytes: number, frames: number): void;
  /** A call the hub answered itself, without routing it (no provider, refused). */
  callRejected(channel: string, event: string, stream: boolean, outcome: 'no_provider' | 'refused', authRefused: boolean): void;
  /** A response for a routed call: a stream chunk (`final` false) or its end (`fields` of the frame). */
  response(call: ObservedCall, fields: Fields, final: boolean): void;
  /** A routed call ended without an answer from its provider (provider_gone, abandoned). */
  callDropped(call: ObservedCall, outcome: 'provider_gone' | 'abandoned'): void;
  /** A broadcast, send or publication, with the members it reached. */
  message(kind: MessageKind, channel: string, event: string, outcome: MessageOutcome, deliveries: number, authRefused?: boolean): void;
}

const nothing = (): void => undefined;

/** Observes nothing (metrics disabled). */
export const NO_OBSERVER: HubObserver = {
  now: () => 0,
  received: nothing,
  sent: nothing,
  callRejected: nothing,
  response: nothing,
  callDropped: nothing,
  message: nothing,
};
