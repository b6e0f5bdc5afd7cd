/**
 * Members of other hubs as the routing core sees them: an {@link Endpoint}
 * with local=false whose deliver() queues the frame for its home hub. Frames
 * for one hub leave together, once per tick, as one NATS message; the same
 * frame bytes delivered to several members of that hub in a row (a broadcast,
 * a publication) travel once with the list of targets.
 *
 * While the link is down, and after a reconnect until the destination hub is
 * heard from again (frames published before its subscription is back would
 * be lost), the outbox keeps frames (bounded by `maxBytes`); past the bound
 * everything queued is dropped and `onOverflow` runs (the federation fails
 * the calls concerned).
 */
import type { Endpoint } from '../server/endpoint';
import type { BatchItem } from './wire';

/** Largest batch we build before sending it at once (well under NATS' default 1 MiB max_payload). */
export const BATCH_FLUSH_BYTES = 256 * 1024;
/** A u16 on the wire. */
const MAX_TARGETS_PER_ITEM = 0xffff;

export interface OutboxSink {
  /** Sends one batch to `hub` now (the link is up). */
  send(hub: string, items: BatchItem[]): void;
  /**
   * True while frames for `hub` can leave: our link is up and `hub` has been
   * heard from since it came back (its inbox subscription is live again).
   */
  canSend(hub: string): boolean;
  /** Queued bytes passed the bound while frames could not leave; they were dropped. */
  onOverflow(): void;
}

export class Outbox {
  private readonly byHub = new Map<string, { items: BatchItem[]; bytes: number }>();
  private queuedBytes = 0;
  private scheduled = false;
  private readonly sink: OutboxSink;
  private readonly maxBytes: number;

  constructor(sink: OutboxSink, maxBytes: number) {
    this.sink = sink;
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  add(hub: string, target: string, frame: Buffer): void {
    let q = this.byHub.get(hub);
    if (!q) {
      q = { items: [], bytes: 0 };
      this.byHub.set(hub, q);
    }
    const last = q.items[q.items.length - 1];
    if (last && last.frame === frame && last.targets.length < MAX_TARGETS_PER_ITEM) {
      last.targets.push(target);
      q.bytes += target.length + 2;
      this.queuedBytes += target.length + 2;
    } else {
      q.items.push({ frame, targets: [target] });
      q.bytes += frame.length + target.length + 8;
      this.queuedBytes += frame.length + target.length + 8;
    }
    if (!this.sink.canSend(hub)) {
      if (this.queuedBytes > this.maxBytes) {
        this.clear();
        this.sink.onOverflow();
      }
      return;
    }
    if (q.bytes >= BATCH_FLUSH_BYTES) this.flushHub(hub);
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  /** Sends everything queued that can leave now. */
  flush(): void {
    this.scheduled = false;
    for (const hub of [...this.byHub.keys()]) if (this.sink.canSend(hub)) this.flushHub(hub);
  }

  private flushHub(hub: string): void {
    const q = this.byHub.get(hub);
    if (!q || q.items.length === 0) return;
    this.byHub.delete(hub);
    this.queuedBytes -= q.bytes;
    this.sink.send(hub, q.items);
  }

  /** Forgets what is queued for `hub` (it left the cluster). */
  dropHub(hub: string): void {
    const q = this.byHub.get(hub);
    if (!q) return;
    this.queuedBytes -= q.bytes;
    this.byHub.delete(hub);
  }

  clear(): void {
    this.byHub.clear();
    this.queuedBytes = 0;
  }
}

export class RemoteEndpoint implements Endpoint {
  readonly id: string;
  mode: string;
  readonly local = false;
  /** The hub this member is connected to. */
  readonly home: string;
  /** Attached from a frame before its hub's state listed it (kept for one state round). */
  provisional: boolean;
  private readonly outbox: Outbox;

  constructor(id: string, mode: string, home: string, outbox: Outbox, provisional = false) {
    this.id = id;
    this.mode = mode;
    this.home = home;
    this.outbox = outbox;
    this.provisional = provisional;
  }

  deliver(frame: Buffer): boolean {
    this.outbox.add(this.home, this.id, frame);
    return true;
  }
}

export function isRemote(ep: Endpoint | undefined): ep is RemoteEndpoint {
  return ep instanceof RemoteEndpoint;
}
