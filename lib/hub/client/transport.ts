/**
 * The client's byte link to a hub: dial (Unix socket, TCP, TLS), frame with
 * {@link FrameReader}/{@link encodeFrame}, decode with
 * {@link decodeClientFrame} (str and bin stay apart: Buffers in, Buffers out).
 *
 *   dialHub() --socket--> HubLink --frames--> onFrame
 *                               \--close(err)--> onClose (once)
 *
 * Reading can be paused by any number of holders (stream backpressure); the
 * link resumes when the last one releases. Silence while paused is ours, so
 * {@link HubLink.idleFor} reports 0 then.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { pipeIOError, type PipeIOError } from '../../errors';
import { decodeClientFrame, encodeFrame } from '../protocol/codec';
import { FrameReader } from '../protocol/frame-reader';
import type { HubMessage } from '../protocol/messages';
import { checkAddress } from './options';
import type { HubClientAddress } from './types';

/** How long close() lets the socket flush before destroying it. */
const END_FLUSH_MS = 1000;
/**
 * Frames sent in one tick leave in one write; a write goes out early once this many bytes
 * or frames have gathered (a stream's producer keeps the hub busy while it goes on).
 */
const BATCH_BYTES = 16 * 1024;
const BATCH_FRAMES = 16;

/**
 * Opens a socket to the hub. Rejects with `PIPEIO_ERR_CONNECTION` (the
 * system error as `cause`) or `PIPEIO_ERR_TIMEOUT` after `timeout` ms.
 */
export function dialHub(address: HubClientAddress, timeout: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    let event = 'connect';
    if ('path' in address) {
      socket = net.connect({ path: address.path });
    } else if (address.tls) {
      // SNI takes a host name, never an IP address (RFC 6066).
      const servername = net.isIP(address.host) ? undefined : address.host;
      socket = tls.connect({ ...(servername ? { servername } : {}), ...address.tls, host: address.host, port: address.port });
      event = 'secureConnect';
    } else {
      socket = net.connect({ host: address.host, port: address.port });
    }
    const where = 'path' in address ? address.path : `${address.host}:${address.port}`;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(pipeIOError('PIPEIO_ERR_TIMEOUT', `connecting to ${where} timed out after ${timeout} ms`));
    }, timeout);
    const onError = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(pipeIOError('PIPEIO_ERR_CONNECTION', `cannot connect to ${where}: ${err.message}`, { cause: err }));
    };
    socket.once('error', onError);
    socket.once(event, () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      // Until HubLink takes over (a microtask later), an error must not go unhandled.
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

export interface LinkHandlers {
  /** A decoded frame, with its raw payload (for type-exact signature checks). */
  onFrame(msg: HubMessage, payload: Buffer): void;
  /** Called once, when the socket is gone (err undefined after close()). */
  onClose(err: PipeIOError | undefined): void;
}

/**
 * What a {@link HubClient} needs of its link to the hub: {@link HubLink} over
 * a socket, or a link of another kind a {@link LinkOpener} makes (the
 * gateway's in-process link to a Hub in the same process).
 */
export interface ClientLink {
  readonly isOpen: boolean;
  idleFor(now?: number): number;
  send(message: object): boolean;
  drained(): Promise<void>;
  pause(holder: object): void;
  resume(holder: object): void;
  noteCloseReason(err: PipeIOError): void;
  destroy(err: PipeIOError): void;
  end(): Promise<void>;
}

/** Opens a link wired to `handlers` (rejects as {@link dialHub} does). */
export type LinkOpener = (handlers: LinkHandlers, limits: { maxFrameSize: number; timeout: number }) => Promise<ClientLink>;

/**
 * When a link writes the frames queued since its last write: 'tick' at the
 * end of the current tick (lowest latency), 'turn' once the event loop has
 * run every I/O callback of this turn (setImmediate), so the frames that
 * many callbacks of one turn send (a server relaying its clients' requests)
 * leave in one write.
 */
export type LinkBatching = 'tick' | 'turn';

/** A LinkOpener dialing `address` ({@link HubClient}'s own, with 'tick'). */
export function socketOpener(address: HubClientAddress, batching: LinkBatching = 'tick'): LinkOpener {
  const checked = checkAddress(address);
  return async (handlers, limits) => new HubLink(await dialHub(checked, limits.timeout), limits.maxFrameSize, handlers, batching);
}

export class HubLink implements ClientLink {
  private readonly reader: FrameReader;
  private closed = false;
  private closeError: PipeIOError | undefined;
  private lastHubError: PipeIOError | undefined;
  private lastRead = Date.now();
  private readonly pausers = new Set<object>();
  private drainWaiters: Array<() => void> = [];
  /** Encoded frames of this tick, not yet written. */
  private outbox: Buffer[] = [];
  private outboxBytes = 0;

  constructor(
    private readonly socket: net.Socket,
    maxFrameSize: number,
    private readonly handlers: LinkHandlers,
    private readonly batching: LinkBatching = 'tick',
  ) {
    this.reader = new FrameReader(maxFrameSize);
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.wakeDrain());
    socket.on('error', (err) => {
      this.closeError ??= pipeIOError('PIPEIO_ERR_CONNECTION', `hub connection failed: ${err.message}`, { cause: err });
    });
    socket.on('close', () => this.onSocketClose());
    // It may have died between the dial and now.
    if (socket.destroyed) process.nextTick(() => this.onSocketClose());
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Milliseconds since the hub last sent anything (0 while reading is paused). */
  idleFor(now = Date.now()): number {
    return this.pausers.size > 0 ? 0 : now - this.lastRead;
  }

  /**
   * Encodes one frame and queues it; the frames of one tick (or turn, see
   * {@link LinkBatching}) are written together (sooner once 16 frames or 16 KiB have gathered). Returns false
   * if the link is closed or the socket's buffer is full (then
   * {@link drained} waits for room).
   */
  send(message: object): boolean {
    if (this.closed || this.socket.destroyed) return false;
    const frame = encodeFrame(message);
    if (this.outbox.length === 0) {
      if (this.batching === 'tick') process.nextTick(flushLink, this);
      else setImmediate(flushLink, this);
    }
    this.outbox.push(frame);
    this.outboxBytes += frame.length;
    if (this.outboxBytes >= BATCH_BYTES || this.outbox.length >= BATCH_FRAMES) return this.flush();
    // Queued: the socket's state is the answer (a full socket stays full until 'drain').
    return !this.socket.writableNeedDrain;
  }

  /** Writes the queued frames; returns socket.write()'s answer. */
  flush(): boolean {
    const n = this.outbox.length;
    if (n === 0 || this.socket.destroyed) return !this.socket.writableNeedDrain;
    const data = n === 1 ? this.outbox[0]! : Buffer.concat(this.outbox, this.outboxBytes);
    this.outbox = [];
    this.outboxBytes = 0;
    return this.socket.write(data);
  }

  /** Resolves once the socket's write buffer has drained, or the link closed. */
  drained(): Promise<void> {
    this.flush();
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Stops reading until every holder has called {@link resume}. */
  pause(holder: object): void {
    this.pausers.add(holder);
    if (this.pausers.size === 1) this.socket.pause();
  }

  resume(holder: object): void {
    if (!this.pausers.delete(holder) || this.pausers.size > 0) return;
    this.lastRead = Date.now();
    if (!this.closed) this.socket.resume();
  }

  /** Remembers why the hub is about to close the link (its last `error` frame) for onClose. */
  noteCloseReason(err: PipeIOError): void {
    this.lastHubError = err;
  }

  /** Drops the link with `err` (handlers.onClose gets it). Idempotent. */
  destroy(err: PipeIOError): void {
    if (this.closed) return;
    this.closeError ??= err;
    this.socket.destroy();
  }

  /** Ends the link gracefully (flushes, then closes; destroyed after 1 s). Resolves when closed. */
  end(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), END_FLUSH_MS);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.flush();
      this.socket.end();
    });
  }

  private onData(chunk: Buffer): void {
    this.lastRead = Date.now();
    let payloads: Buffer[];
    try {
      payloads = this.reader.push(chunk);
    } catch (err) {
      this.destroy(err as PipeIOError);
      return;
    }
    for (const payload of payloads) {
      if (this.closed) return;
      let msg: HubMessage;
      try {
        msg = decodeClientFrame(payload) as HubMessage;
      } catch (err) {
        this.destroy(err as PipeIOError);
        return;
      }
      this.handlers.onFrame(msg, payload);
    }
  }

  private wakeDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.outbox = [];
    this.outboxBytes = 0;
    this.pausers.clear();
    this.wakeDrain();
    this.handlers.onClose(this.closeError ?? this.lastHubError);
  }
}

function flushLink(link: HubLink): void {
  link.flush();
}
