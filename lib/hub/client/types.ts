/**
 * Public types of the hub client: where to connect, options (with units and
 * defaults), events, handler signatures, call options, explore() output.
 */
import type * as tls from 'node:tls';
import type { PipeIOError } from '../../errors';
import type { SchemaInput } from '../../schema/compile';
import type { HubMessage } from '../protocol/messages';

/** Where the hub listens: a Unix socket path, or TCP (TLS when `tls` is given). */
export type HubClientAddress =
  | { path: string }
  | { host: string; port: number; tls?: tls.ConnectionOptions };

export interface HubClientOptions {
  /** Proposed client id; the hub's `identified` reply is adopted. @default 'cli-' + 8 hex chars */
  clientId?: string;
  /** Connection secret (comm-ipc 2.4), answered to `conn_challenge`. */
  secret?: string;
  /** Reconnect (and replay channels, events, subscriptions) when the link drops. @default true */
  autoReconnect?: boolean;
  /** Failed reconnect attempts in a row before giving up and closing; 0 = unlimited. @default 0 */
  reconnectMaxTries?: number;
  /**
   * Milliseconds between `ping`s (comm-ipc servers drop clients silent for 60 s);
   * at most idleTimeout / 2 is used, since pongs keep the link alive. @default 30000
   */
  heartbeatInterval?: number;
  /** Default timeout of `call()`/`stream()` in milliseconds (a stream: between two chunks). @default none */
  callTimeout?: number;
  /** Milliseconds of silence from the hub after which the link counts as dead. @default 60000 */
  idleTimeout?: number;
  /** Milliseconds control requests (open, addEvent, subscribe, ...) may take. @default 10000 */
  requestTimeout?: number;
  /** `mode` sent in `identify` (`'bridge'` has special semantics on the hub). @default 'client' */
  mode?: string;
  /** Largest accepted frame payload in bytes; a larger header drops the link. @default 67108864 (64 MiB) */
  maxFrameSize?: number;
  /** Chunks a stream buffers before the client stops reading the socket. @default 1000 */
  streamHighWaterMark?: number;
  /**
   * Validate what arrives (call results, stream chunks, publications)
   * against the JSON Schema its sender announced (explore()), our
   * counterpart of comm-ipc's `return_type="model"`: a result that does not
   * fit rejects with PIPEIO_ERR_VALIDATION, a publication is dropped
   * ('dropped' event). A typed channel (lib/typed) parses with its
   * contract's schemas instead. @default false
   */
  validateReceived?: boolean;
}

/** Lifecycle of a {@link HubClient}. */
export type HubClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed';

export interface HubClientEvents {
  /** The first handshake succeeded. */
  connect: [];
  /** The link dropped (not after close()); `err` says why. Pending calls have failed. */
  disconnect: [err?: PipeIOError];
  /** A reconnect succeeded and every channel, event and subscription was replayed. */
  reconnect: [];
  /**
   * A hub `error` frame that matched no request (password changed, channel
   * terminated, refused broadcast, ...), a listener that threw, a refused
   * replay. Emitted only if someone listens: without an 'error' listener these
   * are dropped, never thrown.
   */
  error: [err: PipeIOError];
  /** Every `metadata_update` frame (any channel). */
  metadata: [msg: HubMessage];
  /**
   * A broadcast/send on a password channel failed its signature check and was
   * dropped (as comm-ipc does silently).
   */
  dropped: [msg: HubMessage, reason: PipeIOError];
  /** close() finished, or reconnecting gave up. */
  close: [];
}

/** Per-call options. */
export interface CallOptions {
  /** Milliseconds to wait for the response (for stream(): between chunks). @default options.callTimeout */
  timeout?: number;
  /** Aborting rejects with `PIPEIO_ERR_ABORTED` (the provider is not told). */
  signal?: AbortSignal;
}

/** What a provider's handler gets beside the message. */
export interface CallContext {
  /**
   * Aborted when the caller gives up (a `cancel` from our hub: the caller
   * left a stream early, aborted or timed out). A stream's generator is also
   * returned (its `finally` runs) at its next `yield`.
   */
  readonly signal: AbortSignal;
}

/** A provider of a plain event: returns (or resolves to) the response data, or throws. */
export type EventHandler = (msg: HubMessage, context: CallContext) => unknown;
/** A provider of a streaming event: yields chunks. */
export type StreamHandler = (msg: HubMessage, context: CallContext) => AsyncIterable<unknown>;
/** A listener for broadcasts, sends and pushes. */
export type ReceiveListener = (msg: HubMessage) => unknown;

export interface AddEventOptions {
  /**
   * Schema of the call data: a Standard Schema (zod, valibot, arktype, ...)
   * or a JSON Schema. Calls that do not fit are refused with
   * PIPEIO_ERR_VALIDATION before the handler runs; the handler gets the
   * parsed data. Its JSON Schema is announced to the channel.
   */
  parameters?: SchemaInput | null;
  /** Schema of the result (of each chunk, for a stream): a result that does not fit reaches the caller as PIPEIO_ERR_VALIDATION. */
  returns?: SchemaInput | null;
  /** Treat the handler as a stream (its result is iterated). Async generator functions are detected. */
  stream?: boolean;
}

/** One event as explore() shows it. */
export interface ExploredEvent {
  owner: string;
  is_stream: boolean;
  parameters: unknown;
  returns: unknown;
}

/** One subscription as explore() shows it. */
export interface ExploredSubscription {
  owner: string;
  returns: unknown;
}

export interface ExploreResult {
  events: Record<string, ExploredEvent>;
  subscriptions: Record<string, ExploredSubscription>;
}

/**
 * What `schema(name)` tells of an event or a subscription (comm-ipc's
 * `get_schema`): the JSON Schemas as announced, unchanged.
 */
export type SchemaInfo =
  | { type: 'event'; owner: string; is_stream: boolean; is_group: boolean; parameters: unknown; returns: unknown }
  | { type: 'subscription'; owner: string; returns: unknown };

/** An entry of listMembers(). */
export interface HubMember {
  id: string;
  mode: string;
  is_local: boolean;
  path: string[];
  bridge_id?: string | null;
}
