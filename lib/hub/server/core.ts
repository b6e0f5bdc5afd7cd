/**
 * HubCore: the routing core of a hub. It owns every table (channels,
 * providers, topics, calls in flight, bridge routes, challenges) and turns
 * decoded frames from identified members into deliveries. It knows members
 * only as {@link Endpoint}s, so a member on another hub is routed exactly
 * like a local connection; transports (sockets, TLS, NATS) live elsewhere.
 *
 *   connection --HubFrame--> dispatch() --> handle-register / handle-routed /
 *                                           handle-pubsub / handle-bridge
 *                                       --> Endpoint.deliver(frame bytes)
 *                                           (calls to in-process members: Endpoint.deliverCall(decoded frame))
 *   connection closed ------> detach()  --> cleanup in comm-ipc's order (1.3)
 */
import type { PipeIOError, PipeIOErrorCode } from '../../errors';
import { pipeIOError } from '../../errors';
import { encodeFrame, type HubFrame } from '../protocol/codec';
import { ERRORS_CHANNEL, LOGS_CHANNEL, SYSTEM_CHANNEL, Texts } from '../protocol/messages';
import { createStrategy, type LbPolicy, type Strategy } from '../strategies';
import { ChallengeStore } from './challenges';
import { ChannelTable, type ChannelState } from './channel-table';
import type { Endpoint } from './endpoint';
import { requestIdOf } from './fields';
import { NO_OBSERVER, type HubObserver } from './observer';
import { ProviderTable } from './provider-table';
import { RemoteRoutes } from './remote-routes';
import { RequestTable } from './request-table';
import { SubscriptionTable } from './subscription-table';
import { handleRegister, handleSetPassword } from './handle-register';
import { handleCall, handleResponse, handleBroadcast, handleSend } from './handle-routed';
import { handleAddSubscription, handleRemoveSubscription, handleSubscribe, handleUnsubscribe, handlePublish } from './handle-pubsub';
import { handleAnnounceRemote, handleForgetRemote, handleListMembers } from './handle-bridge';
import { cleanupClient, restoreBridge } from './cleanup';
import { handleCancel } from './handle-cancel';

export type ChannelPolicy = 'terminate' | 'promote';
export type ErrorPolicy = 'ignore' | 'raise' | 'broadcast';

export interface CoreOptions {
  serverId: string;
  channelPolicy: ChannelPolicy;
  lbPolicy: LbPolicy;
  errorPolicy: ErrorPolicy;
  channelPasswords: Record<string, string>;
  /** Calls one client may have waiting for an answer. */
  maxPendingCalls: number;
}

export interface CoreHooks {
  /** An error attributed to a client (also handled per errorPolicy). */
  onClientError?(err: PipeIOError, clientId: string | undefined): void;
  /**
   * Something members hold may have changed (a member came or left, or a
   * frame of a state-changing type was handled). The federation rebuilds
   * and announces this hub's state from it; called synchronously, so keep it cheap.
   */
  onStateChange?(): void;
  /**
   * A call into `__comm_ipc_system` (read-only for members): the data of the
   * hub's own answer (event 'stats': lib/metrics), or undefined if the event
   * is not one the hub answers.
   */
  onSystemCall?(event: string, data: unknown): object | undefined;
}

type Handler = (core: HubCore, from: Endpoint, frame: HubFrame) => void;

/** A frame type's handler, and whether the type may change channels, providers, topics or passwords. */
interface Route {
  readonly handle: Handler;
  readonly changesState: boolean;
}

const route = (handle: Handler, changesState = false): Route => ({ handle, changesState });

/** One Map lookup per frame. */
const ROUTES: ReadonlyMap<string, Route> = new Map([
  ['register', route(handleRegister, true)],
  ['set_password', route(handleSetPassword, true)],
  ['call', route(handleCall)],
  ['response', route(handleResponse)],
  ['broadcast', route(handleBroadcast)],
  ['send', route(handleSend)],
  ['add_subscription', route(handleAddSubscription, true)],
  ['remove_subscription', route(handleRemoveSubscription, true)],
  ['subscribe', route(handleSubscribe, true)],
  ['unsubscribe', route(handleUnsubscribe, true)],
  ['publish', route(handlePublish)],
  ['list_members', route(handleListMembers)],
  ['announce_remote', route(handleAnnounceRemote)],
  ['forget_remote', route(handleForgetRemote)],
  ['cancel', route(handleCancel)],
]);

/** Unix seconds, an integer (CommData requires one). */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export class HubCore {
  readonly serverId: string;
  readonly options: CoreOptions;
  readonly channels: ChannelTable;
  readonly providers = new ProviderTable();
  readonly topics = new SubscriptionTable();
  readonly requests = new RequestTable();
  readonly remotes = new RemoteRoutes();
  readonly challenges = new ChallengeStore();
  /** Identified members by id. */
  readonly clients = new Map<string, Endpoint>();
  /** Ids of the other hubs of this hub's NATS cluster (kept by lib/hub/federation); empty when not federated. */
  readonly peerHubs = new Set<string>();
  readonly strategy: Strategy;
  private readonly hooks: CoreHooks;
  /** Told what the core does (metrics); {@link observe} sets it. */
  observer: HubObserver = NO_OBSERVER;

  constructor(options: CoreOptions, hooks: CoreHooks = {}) {
    this.options = options;
    this.serverId = options.serverId;
    this.channels = new ChannelTable(options.channelPasswords);
    this.strategy = createStrategy(options.lbPolicy);
    this.hooks = hooks;
  }

  /**
   * Set while the hub stops: members leave without telling each other (no
   * leave notices, no provider-gone answers); each just sees its link close.
   */
  quiet = false;

  /** Reports to `observer` from now on (the core and its request table). */
  observe(observer: HubObserver): void {
    this.observer = observer;
    this.requests.observer = observer;
  }

  /** Answers a call into `__comm_ipc_system` the hub serves itself; false if it serves no such event. */
  answerSystemCall(from: Endpoint, event: string, requestId: string | undefined, data: unknown): boolean {
    const answer = this.hooks.onSystemCall?.(event, data);
    if (answer === undefined) return false;
    if (requestId !== undefined) {
      this.sendTo(from.id, {
        type: 'response',
        request_id: requestId,
        channel: SYSTEM_CHANNEL,
        event,
        sender_id: 'server',
        server_id: this.serverId,
        origin_server_id: this.serverId,
        timestamp: nowSeconds(),
        target_id: from.id,
        is_stream: false,
        is_final: true,
        data: answer,
      });
    }
    return true;
  }

  isIdInUse(id: string): boolean {
    return this.clients.has(id);
  }

  /** Adds an identified member. */
  attach(ep: Endpoint): void {
    this.clients.set(ep.id, ep);
    if (ep.mode === 'bridge') restoreBridge(this, ep.id);
    this.hooks.onStateChange?.();
  }

  /** Removes a member and everything it held (comm-ipc 1.3 step 4, without its quirks). */
  detach(id: string): void {
    if (!this.clients.has(id)) return;
    cleanupClient(this, id);
    this.clients.delete(id);
    this.hooks.onStateChange?.();
  }

  /**
   * Handles one frame from an identified member. Field errors are answered
   * with a coded error and the member keeps its connection; only unknown
   * types are fatal (the caller closes).
   */
  dispatch(from: Endpoint, frame: HubFrame): void {
    const r = ROUTES.get(frame.type);
    if (!r) {
      throw pipeIOError('PIPEIO_ERR_PROTOCOL', `unknown message type "${frame.type}"`);
    }
    try {
      r.handle(this, from, frame);
    } catch (err) {
      const e = err as PipeIOError;
      if (e?.code !== 'PIPEIO_ERR_PROTOCOL') throw err;
      const rid = requestIdOf(frame.fields);
      this.replyError(from, rid, e.message, e.code);
    } finally {
      if (r.changesState) this.hooks.onStateChange?.();
    }
  }

  // -- delivery helpers ---------------------------------------------------
  //
  // Hub-made messages (replies, notices, errors, system pushes) go to local
  // members only: each federated hub tells its own clients (lib/hub/federation).
  // Routed frames (call, response, broadcast, send, publications) use
  // deliverTo and reach members wherever they live.

  /** Encodes and delivers `message` to local member `id`; false if it is gone or remote. */
  sendTo(id: string, message: object): boolean {
    if (this.quiet) return false;
    const ep = this.clients.get(id);
    return ep?.local ? ep.deliver(encodeFrame(message)) : false;
  }

  /** Delivers already-encoded bytes to member `id` (`startsWork`: a call, see Endpoint.deliver). */
  deliverTo(id: string, frame: Buffer, startsWork = false): boolean {
    if (this.quiet) return false;
    const ep = this.clients.get(id);
    return ep ? ep.deliver(frame, startsWork) : false;
  }

  /**
   * Delivers call `frame` from `callerId` to member `id`: decoded to an
   * endpoint that takes calls that way ({@link Endpoint.deliverCall}), else
   * as the bytes `stamped()` makes (a call: `startsWork`).
   */
  deliverCallTo(id: string, frame: HubFrame, callerId: string, stamped: () => Buffer): boolean {
    if (this.quiet) return false;
    const ep = this.clients.get(id);
    if (!ep) return false;
    return ep.deliverCall ? ep.deliverCall(frame, callerId) : ep.deliver(stamped(), true);
  }

  /** Encodes once and delivers to every local opener of `ch` but `except`. */
  notifyOpeners(ch: ChannelState | undefined, message: object, except?: string): void {
    if (this.quiet || !ch || ch.openers.size === 0) return;
    let frame: Buffer | undefined;
    for (const id of ch.openers) {
      if (id === except) continue;
      const ep = this.clients.get(id);
      if (!ep?.local) continue;
      frame ??= encodeFrame(message);
      ep.deliver(frame);
    }
  }

  /** A `response` error to `to` (with request_id if any), plus this hub's code. */
  replyError(to: Endpoint | string, requestId: string | undefined, text: string, code: PipeIOErrorCode, extra: object = {}): void {
    const id = typeof to === 'string' ? to : to.id;
    const message =
      requestId === undefined
        ? { type: 'error', message: text, code }
        : { type: 'response', request_id: requestId, ...extra, error: text, code };
    this.sendTo(id, message);
  }

  /**
   * Refuses a request: the `response` error to `to` and the report per
   * errorPolicy, in comm-ipc's order. Its reporter writes the `error` frame at
   * once and the response from a task, so under 'broadcast' the error frame
   * comes first; comm-ipc's Python client depends on it (a frame arriving
   * while close() cancels its read loop makes close() hang). Under 'raise'
   * the response goes out before the close.
   */
  refuse(to: Endpoint, requestId: string | undefined, text: string, code: PipeIOErrorCode, extra: object = {}): void {
    if (this.options.errorPolicy === 'raise') {
      this.replyError(to, requestId, text, code, extra);
      this.report(text, to.id, code);
      return;
    }
    this.report(text, to.id, code);
    this.replyError(to, requestId, text, code, extra);
  }

  /** A comm-ipc `receive` push into a system channel. */
  pushSystem(channel: string, event: string, data: object): void {
    const ch = this.channels.get(channel);
    if (!ch || ch.openers.size === 0) return;
    this.notifyOpeners(ch, {
      type: 'receive',
      channel,
      event,
      data,
      sender_id: 'system',
      server_id: this.serverId,
      timestamp: nowSeconds(),
    });
  }

  log(message: string, level: 'info' | 'error' = 'info', clientId: string | null = null): void {
    this.pushSystem(LOGS_CHANNEL, 'server_log', { message, level, client_id: clientId, server_id: this.serverId });
  }

  newRegistration(channel: string, event: string | null, isProvider: boolean, isStream: boolean, clientId: string): void {
    this.pushSystem(SYSTEM_CHANNEL, 'new_registration', {
      channel,
      event,
      is_provider: isProvider,
      is_stream: isStream,
      client_id: clientId,
    });
  }

  /**
   * Reports an error per `errorPolicy` (comm-ipc 4.5), after any explicit
   * error response: 'broadcast' pushes it to `__comm_ipc_errors` and the
   * logs and sends the client an `error` (text cut at its first ':');
   * 'raise' closes the client's connection, as comm-ipc does.
   */
  report(text: string, clientId: string | undefined, code: PipeIOErrorCode): void {
    this.hooks.onClientError?.(pipeIOError(code, text), clientId);
    const policy = this.options.errorPolicy;
    if (policy === 'broadcast') {
      const cut = text.split(':')[0]!;
      this.pushSystem(ERRORS_CHANNEL, 'server_error', { error: cut, client_id: clientId ?? null, server_id: this.serverId });
      this.log(cut, 'error', clientId ?? null);
      if (clientId !== undefined) this.sendTo(clientId, { type: 'error', message: cut, code });
    } else if (policy === 'raise' && clientId !== undefined) {
      const ep = this.clients.get(clientId);
      ep?.close?.(pipeIOError(code, text));
    }
  }

  /** Texts shared by handlers. */
  readonly texts = Texts;
}
