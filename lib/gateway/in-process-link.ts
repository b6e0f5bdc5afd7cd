/**
 * The gateway's link to our Hub in the same process: a {@link ClientLink}
 * for its HubClient that is also an {@link Endpoint} of the hub's routing
 * core, so frames go to the core and back without a socket (no syscalls,
 * no framing; the hub still decodes and checks every frame as it would a
 * connection's, so routing, stamps and refusals are the same).
 *
 *   HubClient --send--> outbox --(end of this turn of the event loop)--> decode --> core.dispatch
 *   core --deliver(frame bytes)--> inbox --(next tick, unless paused)--> HubClient.onFrame
 *
 * The outbox is dispatched once per turn of the event loop (setImmediate),
 * so the calls of every request read in one poll phase reach the core
 * together and leave for the provider in one write. The handshake is the
 * hub's, answered here: `identify` (a taken id is refused), `identified`;
 * no secret is asked (the process is the hub's own), `ping` gets `pong`.
 * A reader that paused (stream backpressure) holds what arrives up to
 * `maxHeldBytes`, past which the link closes as a hub connection would
 * (PIPEIO_ERR_SLOW_CONSUMER). The hub stopping closes the link.
 */
import { randomBytes } from 'node:crypto';
import { pipeIOError, type PipeIOError } from '../errors';
import { decodeClientFrame, decodeHubFrame, encodeFrame, type HubFrame } from '../hub/protocol/codec';
import { FRAME_HEADER_BYTES } from '../hub/protocol/frame-reader';
import { Texts, type HubMessage } from '../hub/protocol/messages';
import type { ClientLink, LinkHandlers, LinkOpener } from '../hub/client/transport';
import type { HubCore } from '../hub/server/core';
import type { Endpoint } from '../hub/server/endpoint';
import type { Hub } from '../hub/server/hub';
import { optString } from '../hub/server/fields';

/** Outgoing bytes gathered in one turn past which send() reports a full link (callers that honour it wait for drained()). */
const SEND_HIGH_WATER = 1024 * 1024;
/** Bytes a paused reader may have waiting before the link is closed (the hub's default maxQueueBytes). */
const MAX_HELD_BYTES = 64 * 1024 * 1024;

const PONG = encodeFrame({ type: 'pong' });

/** The open links of each hub, closed when it stops (one 'close' listener per hub). */
const linksOf = new WeakMap<Hub, Set<InProcessLink>>();

function track(hub: Hub, link: InProcessLink): void {
  let links = linksOf.get(hub);
  if (!links) {
    const set = (links = new Set());
    linksOf.set(hub, set);
    hub.once('close', () => {
      linksOf.delete(hub);
      for (const l of [...set]) l.destroy(pipeIOError('PIPEIO_ERR_CLOSED', 'the hub stopped'));
    });
  }
  links.add(link);
  link.onClosed = () => links.delete(link);
}

/** A LinkOpener for HubClients of `hub` (in this process). Refuses once the hub is stopping. */
export function inProcessOpener(hub: Hub, maxHeldBytes = MAX_HELD_BYTES): LinkOpener {
  return async (handlers) => {
    if (hub.state === 'closing' || hub.state === 'closed') throw pipeIOError('PIPEIO_ERR_CONNECTION', 'the hub is stopped');
    const link = new InProcessLink(hub.routingCore, handlers, maxHeldBytes);
    track(hub, link);
    return link;
  };
}

export class InProcessLink implements ClientLink, Endpoint {
  id = '';
  mode = 'client';
  readonly local = true;
  /** Told once, when the link is closed (the opener's cleanup). */
  onClosed: (() => void) | undefined;
  private identified = false;
  private closed = false;
  private closeReason: PipeIOError | undefined;
  private outbox: Buffer[] = [];
  private outboxBytes = 0;
  private inbox: Buffer[] = [];
  private inboxBytes = 0;
  private inboxScheduled = false;
  private readonly pausers = new Set<object>();
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly core: HubCore,
    private readonly handlers: LinkHandlers,
    private readonly maxHeldBytes: number,
  ) {}

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Never silent: the hub is in this process. */
  idleFor(): number {
    return 0;
  }

  // -- client to hub --------------------------------------------------------

  send(message: object): boolean {
    if (this.closed) return false;
    const frame = encodeFrame(message); // throws for unencodable data: the caller reports it
    if (this.outbox.length === 0) setImmediate(dispatchOutbox, this);
    this.outbox.push(frame);
    this.outboxBytes += frame.length;
    return this.outboxBytes < SEND_HIGH_WATER;
  }

  drained(): Promise<void> {
    if (this.closed || this.outbox.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Hands this turn's frames to the core, in order. */
  dispatch(): void {
    const frames = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    for (const frame of frames) {
      if (this.closed) break;
      try {
        this.handle(decodeHubFrame(frame.subarray(FRAME_HEADER_BYTES)));
      } catch (err) {
        const e = err as PipeIOError;
        this.close(e.code ? e : pipeIOError('PIPEIO_ERR_PROTOCOL', String((err as Error)?.message ?? err), { cause: err }));
      }
    }
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  /** What a hub connection does with a decoded frame, minus the socket. */
  private handle(frame: HubFrame): void {
    if (frame.type === 'ping') {
      this.deliver(PONG);
    } else if (this.identified) {
      if (frame.type === 'identify' || frame.type === 'conn_proof') {
        this.core.replyError(this, undefined, `client ${this.id} is already identified`, 'PIPEIO_ERR_PROTOCOL');
      } else {
        this.core.dispatch(this, frame);
      }
    } else if (frame.type === 'identify') {
      this.identify(frame);
    } else {
      throw pipeIOError('PIPEIO_ERR_PROTOCOL', 'the first frame must be "identify"');
    }
  }

  private identify(frame: HubFrame): void {
    const id = optString(frame.fields, 'client_id') || `cli-${randomBytes(4).toString('hex')}`;
    if (this.core.isIdInUse(id)) {
      // As a hub connection answers it: the error, then the link closes.
      this.deliver(encodeFrame({ type: 'error', message: Texts.idInUse(id), code: 'PIPEIO_ERR_ID_IN_USE' }));
      return;
    }
    this.id = id;
    this.mode = optString(frame.fields, 'mode') || 'client';
    this.identified = true;
    this.core.attach(this);
    this.deliver(encodeFrame({ type: 'identified', client_id: id, server_id: this.core.serverId }));
    this.core.log(`Client ${id} identified`, 'info', id);
  }

  // -- hub to client --------------------------------------------------------

  /** A frame from the core (whole, with its length header). */
  deliver(frame: Buffer): boolean {
    if (this.closed) return false;
    if (this.pausers.size > 0 && this.inboxBytes + frame.length > this.maxHeldBytes) {
      this.close(pipeIOError('PIPEIO_ERR_SLOW_CONSUMER', `client ${this.id} did not read ${this.inboxBytes} queued bytes`));
      return false;
    }
    this.inbox.push(frame);
    this.inboxBytes += frame.length;
    this.scheduleInbox();
    return true;
  }

  private scheduleInbox(): void {
    if (this.inboxScheduled || this.pausers.size > 0 || this.inbox.length === 0) return;
    this.inboxScheduled = true;
    process.nextTick(readInbox, this);
  }

  /** Hands waiting frames to the client, until it pauses. */
  read(): void {
    this.inboxScheduled = false;
    let i = 0;
    const frames = this.inbox;
    while (i < frames.length && this.pausers.size === 0 && !this.closed) {
      const frame = frames[i++]!;
      this.inboxBytes -= frame.length;
      const payload = frame.subarray(FRAME_HEADER_BYTES);
      let msg: HubMessage;
      try {
        msg = decodeClientFrame(payload) as HubMessage;
      } catch (err) {
        this.close(err as PipeIOError);
        return;
      }
      this.handlers.onFrame(msg, payload);
    }
    if (this.closed) return; // close() dropped the inbox
    // onFrame may have delivered more (pushed onto this same array) or paused: keep the rest, in order.
    this.inbox = i === frames.length ? [] : frames.slice(i);
    if (i === frames.length) this.inboxBytes = 0;
  }

  pause(holder: object): void {
    this.pausers.add(holder);
  }

  resume(holder: object): void {
    if (this.pausers.delete(holder)) this.scheduleInbox();
  }

  // -- ending -----------------------------------------------------------------

  noteCloseReason(err: PipeIOError): void {
    this.closeReason = err;
  }

  destroy(err: PipeIOError): void {
    this.close(err);
  }

  /** Dispatches what was sent, then leaves the hub. */
  end(): Promise<void> {
    if (!this.closed) {
      this.dispatch();
      this.close(undefined);
    }
    return Promise.resolve();
  }

  /** Leaves the core (also called by it: errorPolicy 'raise', ...); the client hears of it on the next tick. Idempotent. */
  close(err: PipeIOError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.outbox = [];
    this.inbox = [];
    this.inboxBytes = 0;
    this.pausers.clear();
    if (this.identified) this.core.detach(this.id);
    this.onClosed?.();
    for (const w of this.drainWaiters) w();
    this.drainWaiters = [];
    const reason = err ?? this.closeReason;
    process.nextTick(() => this.handlers.onClose(reason));
  }
}

function dispatchOutbox(link: InProcessLink): void {
  link.dispatch();
}

function readInbox(link: InProcessLink): void {
  link.read();
}
