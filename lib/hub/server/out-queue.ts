/**
 * OutQueue: the bytes a hub connection owes its socket, in order.
 *
 *   deliver --> outbox (this tick's frames) --flush, next tick--> socket
 *                                      \--socket holds a window--> backlog --write done--> socket
 *
 * Frames delivered in one tick leave together (one syscall, one copy up to
 * 256 KiB). While the socket already holds `window` unsent bytes (a reader
 * that lags), further frames wait in the backlog and go to the socket a window
 * at a time, each time a write completes. Node hands a socket's buffered
 * writes to the kernel as one batch and reports nothing until all of it is
 * taken; keeping the socket's share small is what lets the hub see a lagging
 * reader's progress as it happens (flow control releases producers at a
 * low-water mark, not only once everything is gone).
 */
import type * as net from 'node:net';

/** Up to this many bytes, a tick's frames are copied into one buffer; above, written corked. */
const BATCH_COPY_LIMIT = 256 * 1024;

export class OutQueue {
  private outbox: Buffer[] = [];
  private outboxBytes = 0;
  private backlog: Buffer[] = [];
  private backlogBytes = 0;

  /**
   * @param window Unsent bytes the socket may hold before frames wait in the backlog.
   * @param onProgress Called after a write completed that the queue was waiting for.
   */
  constructor(
    private readonly socket: net.Socket,
    private readonly window: number,
    private readonly onProgress: () => void,
  ) {}

  /** Every byte not yet taken by the kernel: the socket's, the backlog's, this tick's. */
  get bytes(): number {
    return this.socket.writableLength + this.backlogBytes + this.outboxBytes;
  }

  /** Frames delivered in this tick, not yet flushed. */
  get pendingFrames(): number {
    return this.outbox.length;
  }

  /** Their bytes. */
  get pendingBytes(): number {
    return this.outboxBytes;
  }

  /** Adds a frame to this tick's; true if it is the first (the caller schedules flush()). */
  push(frame: Buffer): boolean {
    this.outbox.push(frame);
    this.outboxBytes += frame.length;
    return this.outbox.length === 1;
  }

  /** Writes this tick's frames, or queues them behind a full window. */
  flush(): void {
    const n = this.outbox.length;
    if (n === 0 || this.socket.destroyed) return;
    const frames = this.outbox;
    const bytes = this.outboxBytes;
    this.outbox = [];
    this.outboxBytes = 0;
    if (this.backlogBytes > 0 || this.socket.writableLength >= this.window) {
      // A write in flight carries pump(): these follow as the reader takes what it has.
      this.backlog.push(n === 1 ? frames[0]! : Buffer.concat(frames, bytes));
      this.backlogBytes += bytes;
      return;
    }
    // The write that fills the window learns when it is taken (then the backlog moves on).
    const cb = this.socket.writableLength + bytes >= this.window ? this.pump : undefined;
    if (n === 1) this.socket.write(frames[0]!, cb);
    else if (bytes <= BATCH_COPY_LIMIT) this.socket.write(Buffer.concat(frames, bytes), cb);
    else {
      this.socket.cork();
      for (let i = 0; i < n - 1; i++) this.socket.write(frames[i]!);
      this.socket.write(frames[n - 1]!, cb);
      this.socket.uncork();
    }
  }

  /** Everything to the socket now, backlog first (before a close). */
  drainAll(): void {
    if (this.outbox.length > 0) {
      this.backlog.push(...this.outbox);
      this.backlogBytes += this.outboxBytes;
      this.outbox = [];
      this.outboxBytes = 0;
    }
    if (!this.socket.destroyed) this.flushBacklog(Infinity);
  }

  /** Write callback: the reader took a window's worth; give it the next one. */
  private readonly pump = (): void => {
    if (this.socket.destroyed) return;
    this.flushBacklog(this.window);
    this.onProgress();
  };

  private flushBacklog(limit: number): void {
    while (this.backlogBytes > 0 && this.socket.writableLength < limit) {
      let take = 0;
      let k = 0;
      while (k < this.backlog.length && (k === 0 || take + this.backlog[k]!.length <= this.window)) take += this.backlog[k++]!.length;
      const chunk = k === 1 ? this.backlog[0]! : Buffer.concat(this.backlog.slice(0, k), take);
      this.backlog.splice(0, k);
      this.backlogBytes -= take;
      const more = this.backlogBytes > 0 || this.socket.writableLength + take >= this.window;
      this.socket.write(chunk, more ? this.pump : undefined);
    }
  }
}
