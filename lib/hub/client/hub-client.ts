/**
 * HubClient: a client of a comm-ipc-compatible hub (ours or the Python one).
 *
 *   idle --connect()--> connecting --identified--> connected
 *     ^                     |                          | link drops
 *     |  (autoReconnect off)|  refused / timeout       v
 *     +---------------------+-- rejects --   reconnecting --backoff--> dial, identify (same id),
 *                                                 ^   |                 replay channels --> connected
 *                                                 +---+ fails (retry; AUTH or maxTries: closed)
 *   close() from any state --> closing --> closed
 *
 * Every wait has an end: a dropped link fails every pending call and stream
 * with PIPEIO_ERR_CONNECTION, close() with PIPEIO_ERR_CLOSED; calls take
 * `timeout`/`callTimeout` (PIPEIO_ERR_TIMEOUT) and `signal` (PIPEIO_ERR_ABORTED);
 * control requests take `requestTimeout`. The handshake is bounded by idleTimeout.
 * Heartbeat: a `ping` every heartbeatInterval; idleTimeout of silence from the
 * hub (which answers pings) drops the link.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { pipeIOError, type PipeIOError } from '../../errors';
import type { HubMessage } from '../protocol/messages';
import { connectionProof } from '../security/signing';
import { HubChannel, type ChannelHost } from './channel';
import { checkChannelName } from './names';
import { resolveClientOptions, type ResolvedClientOptions } from './options';
import { PendingTable, remoteError, errorText, noteErrorOrigin, responseHandlers } from './pending';
import { cancelServing, serveCall } from './provider';
import { isFatalReconnectError, ReconnectTimer } from './reconnect';
import { socketOpener, type ClientLink, type LinkOpener } from './transport';
import type { HubClientAddress, HubClientEvents, HubClientOptions, HubClientState } from './types';

/** Codes of the `error` frames a hub sends just before closing a connection. */
const CLOSING_CODES: ReadonlySet<string> = new Set([
  'PIPEIO_ERR_CLOSED',
  'PIPEIO_ERR_PROTOCOL',
  'PIPEIO_ERR_TIMEOUT',
  'PIPEIO_ERR_SLOW_CONSUMER',
  'PIPEIO_ERR_FRAME_TOO_LARGE',
  'PIPEIO_ERR_AUTH',
]);

/** The encoder refused a frame (cyclic data, a symbol, ...): nothing was sent, the link is intact. */
function unencodable(err: unknown, label: string): PipeIOError {
  const why = err instanceof RangeError ? 'it is cyclic or nests too deeply' : (err as Error)?.message ?? String(err);
  return pipeIOError('PIPEIO_ERR_INVALID_MESSAGE', `${label}: the data cannot be encoded (${why})`, { cause: err });
}

interface Handshake {
  resolve(): void;
  reject(err: PipeIOError): void;
}

export class HubClient extends EventEmitter<HubClientEvents> {
  private readonly openLink: LinkOpener;
  private readonly options: ResolvedClientOptions;
  private readonly pending = new PendingTable();
  private readonly channels = new Map<string, HubChannel>();
  private readonly opening = new Map<string, Promise<HubChannel>>();
  private readonly reconnect: ReconnectTimer;
  private readonly host: ChannelHost;
  private stateValue: HubClientState = 'idle';
  private idValue: string;
  private serverIdValue: string | undefined;
  /** The hub said `hub_codes` (ours): only its own errors carry a `code`. */
  private hubCodes = false;
  private link: ClientLink | undefined;
  private ready = false;
  private handshake: Handshake | undefined;
  private generation = 0;
  private everConnected = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private idleCheck: NodeJS.Timeout | undefined;
  private connectPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;

  /**
   * @param address `{ path }` (Unix socket) or `{ host, port, tls? }`; or
   *   (internal) a function opening a link of another kind.
   * @param options See {@link HubClientOptions}.
   * @throws {TypeError|RangeError} For bad arguments.
   */
  constructor(address: HubClientAddress | LinkOpener, options: HubClientOptions = {}) {
    super();
    this.options = resolveClientOptions(options);
    this.openLink = typeof address === 'function' ? address : socketOpener(address);
    this.idValue = this.options.clientId;
    this.reconnect = new ReconnectTimer(this.options.reconnectMaxTries);
    this.host = this.makeHost();
  }

  /** Our id (the hub's `identified` reply is adopted). */
  get clientId(): string {
    return this.idValue;
  }

  /** The hub's id from `identified` (undefined before the first handshake). */
  get serverId(): string | undefined {
    return this.serverIdValue;
  }

  get state(): HubClientState {
    return this.stateValue;
  }

  /**
   * Connects and identifies (answering `conn_challenge` with the secret).
   * After a drop with autoReconnect off, connect() again re-opens every
   * channel as a reconnect would. Rejects with PIPEIO_ERR_ID_IN_USE,
   * PIPEIO_ERR_AUTH, PIPEIO_ERR_CONNECTION, PIPEIO_ERR_TIMEOUT or PIPEIO_ERR_CLOSED.
   */
  connect(): Promise<void> {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') {
      return Promise.reject(pipeIOError('PIPEIO_ERR_CLOSED', 'the client is closed'));
    }
    if (this.stateValue === 'connected') return Promise.resolve();
    this.connectPromise ??= this.doConnect().finally(() => (this.connectPromise = undefined));
    return this.connectPromise;
  }

  private async doConnect(): Promise<void> {
    if (this.stateValue === 'reconnecting') {
      throw pipeIOError('PIPEIO_ERR_CONNECTION', 'the client is reconnecting on its own');
    }
    const first = !this.everConnected;
    this.stateValue = 'connecting';
    try {
      await this.establish();
      if (!first) await this.replayAll();
    } catch (err) {
      this.link?.destroy(err as PipeIOError);
      if ((this.stateValue as HubClientState) === 'connecting') this.stateValue = 'idle';
      throw err;
    }
    this.stateValue = 'connected';
    this.everConnected = true;
    this.emit(first ? 'connect' : 'reconnect');
  }

  /**
   * Opens `name` (with its password, if any) and returns the channel. Opening
   * an open channel returns the same object. Rejects with PIPEIO_ERR_RESERVED
   * for `subscription`, PIPEIO_ERR_AUTH for a missing or wrong password (or a
   * password on an unprotected channel, as comm-ipc does).
   */
  async open(name: string, options: { password?: string } = {}): Promise<HubChannel> {
    checkChannelName(name);
    const password = options.password;
    if (password !== undefined && typeof password !== 'string') throw new TypeError('options.password must be a string');
    if (this.stateValue === 'idle' || this.stateValue === 'connecting') await this.connect();
    const known = this.channels.get(name);
    if (known && !this.opening.has(name)) return known;
    let promise = this.opening.get(name);
    if (!promise) {
      promise = this.doOpen(name, password).finally(() => this.opening.delete(name));
      this.opening.set(name, promise);
    }
    return promise;
  }

  private async doOpen(name: string, password: string | undefined): Promise<HubChannel> {
    const ch = new HubChannel(name, this.host);
    ch.setPassword(password);
    this.channels.set(name, ch); // channel_sync arrives before the open's response
    try {
      const authenticated = await ch.register();
      if (password !== undefined && !authenticated) {
        throw pipeIOError('PIPEIO_ERR_AUTH', `Channel ${name} is unprotected, but a password was provided.`);
      }
    } catch (err) {
      if (this.channels.get(name) === ch) this.channels.delete(name);
      throw err;
    }
    return ch;
  }

  /** Sets or changes a channel password (owner only: PIPEIO_ERR_FORBIDDEN otherwise). */
  async setPassword(channel: string, password: string): Promise<void> {
    checkChannelName(channel);
    if (typeof password !== 'string') throw new TypeError('password must be a string');
    await this.host.request({ type: 'set_password', channel, password }, `set password of ${channel}`, {
      timeout: this.options.requestTimeout,
    });
    this.channels.get(channel)?.setPassword(password);
  }

  /**
   * Closes the link and fails everything pending with PIPEIO_ERR_CLOSED.
   * Idempotent: concurrent calls share one promise. Emits 'close'.
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.stateValue = 'closing';
    this.reconnect.cancel();
    this.stopTimers();
    const err = pipeIOError('PIPEIO_ERR_CLOSED', 'the client is closed');
    this.handshake?.reject(err);
    this.pending.failAll(err);
    await this.link?.end();
    this.stateValue = 'closed';
    process.nextTick(() => this.emit('close'));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -- the link -----------------------------------------------------------

  /** Dials and identifies; resolves once `identified` arrived. */
  private async establish(): Promise<void> {
    const link: ClientLink = await this.openLink(
      {
        onFrame: (msg, payload) => this.onFrame(link, msg, payload),
        onClose: (err) => this.onLinkClose(link, err),
      },
      { maxFrameSize: this.options.maxFrameSize, timeout: this.options.idleTimeout },
    );
    if (this.stateValue === 'closing' || this.stateValue === 'closed') {
      link.destroy(pipeIOError('PIPEIO_ERR_CLOSED', 'the client is closed'));
      throw pipeIOError('PIPEIO_ERR_CLOSED', 'the client is closed');
    }
    this.generation++;
    this.ready = false;
    this.hubCodes = false;
    this.link = link;
    const done = new Promise<void>((resolve, reject) => (this.handshake = { resolve, reject }));
    const timer = setTimeout(() => {
      link.destroy(pipeIOError('PIPEIO_ERR_TIMEOUT', 'Timeout or connection lost during identification'));
    }, this.options.idleTimeout);
    link.send({ type: 'identify', client_id: this.idValue, mode: this.options.mode });
    try {
      await done;
    } finally {
      clearTimeout(timer);
      this.handshake = undefined;
    }
    this.ready = true;
    this.startTimers(link);
  }

  private onHandshakeFrame(link: ClientLink, msg: HubMessage): void {
    const hs = this.handshake;
    if (!hs) return;
    if (msg.type === 'identified') {
      if (typeof msg['client_id'] === 'string' && msg['client_id'] !== '') this.idValue = msg['client_id'];
      if (typeof msg['server_id'] === 'string') this.serverIdValue = msg['server_id'];
      this.hubCodes = msg['hub_codes'] === true;
      hs.resolve();
    } else if (msg.type === 'conn_challenge') {
      if (typeof msg['server_id'] === 'string') this.serverIdValue = msg['server_id'];
      if (this.options.secret === undefined) {
        const err = pipeIOError('PIPEIO_ERR_AUTH', 'Server required connection secret but none provided');
        hs.reject(err);
        link.destroy(err);
        return;
      }
      link.send({ type: 'conn_proof', proof: connectionProof(this.options.secret, String(msg['challenge'])) });
    } else if (msg.type === 'error') {
      const text = errorText(msg);
      const err = remoteError(text, msg);
      hs.reject(pipeIOError(err.code, `Connection failed: ${text}`, { remoteMessage: text }));
      link.destroy(err);
    }
  }

  private onFrame(link: ClientLink, msg: HubMessage, payload: Buffer): void {
    if (link !== this.link) return;
    if (!this.ready) {
      this.onHandshakeFrame(link, msg);
      return;
    }
    const ch = typeof msg.channel === 'string' ? this.channels.get(msg.channel) : undefined;
    switch (msg.type) {
      case 'pong':
        return;
      case 'response':
        noteErrorOrigin(msg, this.hubCodes);
        this.pending.get(msg.request_id)?.deliver(msg);
        return;
      case 'auth_challenge': {
        const entry = this.pending.get(msg.request_id);
        if (!entry) return;
        const err =
          entry.handlers.onChallenge?.(msg) ??
          (entry.handlers.onChallenge ? undefined : pipeIOError('PIPEIO_ERR_AUTH', `unexpected password challenge for ${String(msg.channel)}`));
        if (err) entry.fail(err);
        return;
      }
      case 'error': {
        const entry = this.pending.get(msg.request_id);
        if (entry) {
          entry.deliver(msg);
          return;
        }
        const text = errorText(msg);
        const err = remoteError(text, msg);
        if (CLOSING_CODES.has(err.code)) {
          // The hub says why before it closes a connection: that is the coming disconnect's reason.
          // A slow consumer keeps its code: pending calls and streams fail with it (it is about us, not the link).
          const code = err.code === 'PIPEIO_ERR_SLOW_CONSUMER' ? err.code : 'PIPEIO_ERR_CONNECTION';
          link.noteCloseReason(pipeIOError(code, `the hub closed the connection: ${text}`, { cause: err, remoteMessage: text }));
        }
        if (err.code !== 'PIPEIO_ERR_CLOSED') this.reportError(err); // 'the hub is stopping' is no error of ours
        return;
      }
      case 'call':
        if (ch) void ch.handleCall(msg, payload);
        else void serveCall(this.host, String(msg.channel), undefined, msg, undefined);
        return;
      case 'broadcast':
      case 'send':
      case 'receive':
        if (ch) void ch.handleDelivery(msg, payload);
        return;
      case 'cancel':
        cancelServing(this.host, msg.sender_id, msg.request_id);
        return;
      case 'channel_sync':
        ch?.handleSync(msg);
        return;
      case 'metadata_update':
        ch?.handleMetadata(msg);
        this.emit('metadata', msg);
        return;
      default:
        // comm-ipc clients ignore unknown types; so do we (forward compatibility).
        return;
    }
  }

  private onLinkClose(link: ClientLink, err: PipeIOError | undefined): void {
    if (link !== this.link) return;
    this.ready = false;
    this.stopTimers();
    const closing = this.stateValue === 'closing' || this.stateValue === 'closed';
    const reason = closing
      ? pipeIOError('PIPEIO_ERR_CLOSED', 'the client is closed')
      : pipeIOError(
          err?.code === 'PIPEIO_ERR_SLOW_CONSUMER' ? err.code : 'PIPEIO_ERR_CONNECTION',
          `Connection lost before response was received${err ? ` (${err.message})` : ''}`,
          { cause: err },
        );
    if (this.handshake) {
      this.handshake.reject(closing ? reason : (err ?? reason));
      return;
    }
    this.pending.failAll(reason);
    if (closing || this.stateValue !== 'connected') return; // a reconnect attempt's own failure is handled there
    this.emit('disconnect', err ?? reason);
    if (this.options.autoReconnect) {
      this.stateValue = 'reconnecting';
      this.scheduleReconnect(reason);
    } else {
      this.stateValue = 'idle';
    }
  }

  private scheduleReconnect(lastError: PipeIOError): void {
    if (!this.reconnect.schedule(() => void this.tryReconnect())) this.giveUp(lastError);
  }

  private async tryReconnect(): Promise<void> {
    if (this.stateValue !== 'reconnecting') return;
    try {
      await this.establish();
      await this.replayAll();
    } catch (e) {
      const err = e as PipeIOError;
      if (this.stateValue !== 'reconnecting') return;
      this.link?.destroy(err);
      if (isFatalReconnectError(err)) this.giveUp(err);
      else this.scheduleReconnect(err);
      return;
    }
    if (this.stateValue !== 'reconnecting') return;
    this.reconnect.reset();
    this.stateValue = 'connected';
    this.emit('reconnect');
  }

  /** Reconnecting cannot succeed (refused credentials, attempts spent): report and close. */
  private giveUp(err: PipeIOError): void {
    this.reportError(pipeIOError(err.code, `reconnecting gave up: ${err.message}`, { cause: err, remoteMessage: err.remoteMessage }));
    void this.close();
  }

  private async replayAll(): Promise<void> {
    for (const ch of [...this.channels.values()]) await ch.replay();
  }

  private startTimers(link: ClientLink): void {
    this.stopTimers();
    const idle = this.options.idleTimeout;
    // The hub's pongs are what keeps our idle timer quiet: ping at least twice per idleTimeout.
    const every = Math.min(this.options.heartbeatInterval, idle / 2);
    this.heartbeat = setInterval(() => link.send({ type: 'ping' }), every).unref();
    this.idleCheck = setInterval(() => {
      if (link.idleFor() > idle) link.destroy(pipeIOError('PIPEIO_ERR_TIMEOUT', `the hub sent nothing for ${idle} ms`));
    }, Math.max(10, Math.min(1000, idle / 4))).unref();
  }

  private stopTimers(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.idleCheck) clearInterval(this.idleCheck);
    this.heartbeat = this.idleCheck = undefined;
  }

  /** 'error' only if someone listens (documented on HubClientEvents). */
  private reportError(err: PipeIOError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private notReady(): PipeIOError {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') return pipeIOError('PIPEIO_ERR_CLOSED', 'the client is closed');
    return pipeIOError('PIPEIO_ERR_CONNECTION', `not connected to the hub (state: ${this.stateValue})`);
  }

  /**
   * Sends one raw comm-ipc frame that expects no reply, as is (bridges use it
   * for `announce_remote`, `forget_remote` and relayed broadcasts). Rejects
   * with `PIPEIO_ERR_CONNECTION` when not connected.
   */
  async sendFrame(frame: Record<string, unknown>): Promise<void> {
    if (typeof frame?.['type'] !== 'string') throw new TypeError('frame.type must be a string');
    await this.host.sendOneWay(frame);
  }

  /** The narrow view channels, streams and providers get of this client. */
  private makeHost(): ChannelHost {
    const client = this;
    const o = this.options;
    const host: ChannelHost = {
      get clientId() {
        return client.idValue;
      },
      get serverId() {
        return client.serverIdValue;
      },
      get generation() {
        return client.generation;
      },
      callTimeout: o.callTimeout,
      requestTimeout: o.requestTimeout,
      streamHighWaterMark: o.streamHighWaterMark,
      validateReceived: o.validateReceived,
      stallTimeout: o.idleTimeout,
      sendFrame: (frame) => (client.ready && client.link ? client.link.send(frame) : false),
      drained: () => client.link?.drained() ?? Promise.resolve(),
      pause: (holder) => client.link?.pause(holder),
      resume: (holder) => client.link?.resume(holder),
      reportError: (err) => client.reportError(err),
      serving: new Map(),
      emitDropped: (msg, reason) => client.emit('dropped', msg, reason),
      exchange(requestId, frame, handlers, options) {
        if (options.signal?.aborted) {
          throw pipeIOError('PIPEIO_ERR_ABORTED', `${options.label} aborted`, { cause: options.signal.reason });
        }
        const link = client.link;
        if (!client.ready || !link) throw client.notReady();
        const entry = client.pending.add(requestId, handlers, options);
        let sent: boolean;
        try {
          sent = link.send(frame);
        } catch (err) {
          entry.dispose(); // nothing was sent: no entry may wait for a reply
          throw unencodable(err, options.label);
        }
        if (!sent && !link.isOpen) entry.fail(client.notReady());
        return entry;
      },
      request(frame, label, extra = {}) {
        const requestId = randomUUID();
        return new Promise<HubMessage>((resolve, reject) => {
          host.exchange(requestId, { ...frame, request_id: requestId }, responseHandlers(resolve, reject, extra.onChallenge), {
            timeout: extra.timeout,
            signal: extra.signal,
            label,
          });
        });
      },
      async sendOneWay(frame) {
        const link = client.link;
        if (!client.ready || !link) throw client.notReady();
        let sent: boolean;
        try {
          sent = link.send(frame);
        } catch (err) {
          throw unencodable(err, `send ${String((frame as { type?: unknown }).type)}`);
        }
        if (!sent) {
          if (!link.isOpen) throw client.notReady();
          await link.drained();
        }
      },
    };
    return host;
  }
}
