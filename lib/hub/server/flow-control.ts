/**
 * Flow control between a hub's connections (docs/hub.md, "Flow control").
 * A receiver whose unsent bytes pass the high-water mark holds the producer
 * of the frame that took it there: the hub stops reading that producer's
 * socket, so TCP slows the producer down (a HubClient's `await publish()`
 * resolves later, a stream generator waits; comm-ipc's clients wait in their
 * own `drain()`). Nothing is dropped or reordered; nothing on the wire changes.
 *
 *   producer P --frame--> routing --> receiver R: R's queue > high water?
 *                                       yes: R holds P (P's socket is not read)
 *   R's queue falls to half the mark, or R closes
 *                                  --> R releases every producer it holds;
 *                                      a producer held by nobody is read again
 *   R takes nothing for FANOUT_STALL_MS --> R releases its fan-out producers
 *                                      (publish, broadcast) and stops holding
 *                                      them until it takes something again
 *
 * Who is held for what ({@link flowKind} of the frame being routed): a
 * publication or broadcast holds its publisher only while the receiver keeps
 * reading; a stream chunk, call or send holds its producer for as long as the
 * receiver lives (it is cut off after idleTimeout without taking anything); a
 * reply holds nobody but the caller it answers, which stops being read itself
 * (it does not read its replies).
 *
 * JavaScript routes one read at a time, synchronously, so "the frame being
 * routed" is a single slot ({@link flowScope}), set around each read.
 */
import type * as net from 'node:net';

import type { HubFrame } from '../protocol/codec';
import { flag } from './fields';

/** What a receiver's full queue does to the frame's producer. */
export type FlowKind = 'point' | 'fanout' | 'reply';

/** The kind of `frame` (computed only when some receiver is full: routing stays as cheap as before). */
export function flowKind(frame: HubFrame | undefined): FlowKind {
  switch (frame?.type) {
    case 'publish':
    case 'broadcast':
      return 'fanout';
    case 'response': {
      const f = frame.fields;
      // A stream chunk slows its provider; any other reply, the caller that does not read it.
      return flag(f, 'is_stream') && !flag(f, 'is_final') && !f.has('error') ? 'point' : 'reply';
    }
    default:
      return 'point';
  }
}

/** How a connection is paused and resumed (its socket). */
export interface FlowSide {
  pauseReading(): void;
  resumeReading(): void;
}

/**
 * Unsent bytes per receiver past which producers are held (or maxQueueBytes / 4
 * if that is smaller). Large enough that a receiver that reads keeps a full
 * socket buffer (a Unix socket holds ~200 KB); small enough that a slow
 * receiver costs at most this much memory per producer read beyond it.
 */
export const FLOW_HIGH_WATER = 1024 * 1024;

/** A receiver that takes nothing for this long stops holding its fan-out producers. */
export const FANOUT_STALL_MS = 1000;

export class FlowGate {
  /** Producers this connection holds (true: held by a fan-out frame only). */
  private readonly waiters = new Map<FlowGate, boolean>();
  /** Receivers holding this connection. */
  private readonly holders = new Set<FlowGate>();

  constructor(private readonly side: FlowSide) {}

  /** True while some receiver holds this connection (its socket is not read). */
  get held(): boolean {
    return this.holders.size > 0;
  }

  /** True while this connection holds some producer. */
  get holding(): boolean {
    return this.waiters.size > 0;
  }

  /** `producer` waits until this connection drains (`fanout`: released early if it stalls). */
  hold(producer: FlowGate, fanout: boolean): void {
    const was = this.waiters.get(producer);
    if (was !== undefined) {
      if (was && !fanout) this.waiters.set(producer, false);
      return;
    }
    this.waiters.set(producer, fanout);
    producer.holders.add(this);
    if (producer.holders.size === 1) producer.side.pauseReading();
  }

  /** This connection drained (or is gone): every producer it holds may go on. */
  release(): void {
    if (this.waiters.size === 0) return;
    const producers = [...this.waiters.keys()];
    this.waiters.clear();
    for (const p of producers) p.unhold(this);
  }

  /** Releases the producers held only by fan-out frames; true if there were any. */
  releaseFanout(): boolean {
    let any = false;
    for (const [p, fanout] of this.waiters) {
      if (!fanout) continue;
      this.waiters.delete(p);
      p.unhold(this);
      any = true;
    }
    return any;
  }

  /** The connection is gone: release what it holds, leave what holds it. */
  dispose(): void {
    this.release();
    for (const r of this.holders) r.waiters.delete(this);
    this.holders.clear();
  }

  private unhold(receiver: FlowGate): void {
    if (this.holders.delete(receiver) && this.holders.size === 0) this.side.resumeReading();
  }
}

/**
 * How long a connection's unsent output has not moved, from what the kernel
 * took by each sweep (`bytesWritten` counts queued bytes too: taken =
 * bytesWritten - writableLength). One that takes nothing for FANOUT_STALL_MS
 * is `lagging` (publications to it no longer hold their publishers); for
 * idleTimeout, it is a slow consumer.
 */
export class OutputWatch {
  /** Bytes taken at the last sweep that saw them move (-1: nothing pending). */
  private taken = -1;
  /** When a sweep last saw the output empty or moving. */
  private movedAt = Date.now();
  lagging = false;

  /** Ms the `pending` bytes have not moved as of `now` (at least; 0 if they moved or there are none). */
  stuck(now: number, pending: number, taken: number): number {
    if (pending === 0 || taken !== this.taken) {
      this.taken = pending === 0 ? -1 : taken;
      this.movedAt = now;
      this.lagging = false;
      return 0;
    }
    return now - this.movedAt;
  }
}

/**
 * Stops reading a socket at once. `pause()` alone lets libuv go on reading
 * until Node's read buffer is full (16 KiB: 16,384 reads of a client writing
 * one byte at a time); the handle's own readStop() ends it now. The kernel
 * holds what comes after until the socket is destroyed.
 */
export function stopReading(socket: net.Socket): void {
  socket.pause();
  (socket as unknown as { _handle?: { readStop?: () => number } })._handle?.readStop?.();
}

/** The connection whose read is being routed right now, and the frame being routed. */
export const flowScope: { producer: FlowGate | undefined; frame: HubFrame | undefined } = { producer: undefined, frame: undefined };
