/**
 * Outgoing messages not yet handed on, as newline-terminated bytes that are
 * taken from the front, in pieces or all at once. Pure, no I/O.
 *
 * The batch holds references to the messages, not copies: bytes are copied
 * only when taken. Messages that lie back to back in one ArrayBuffer with a
 * `\n` between them (lines an echo-like handler passes on from the same
 * incoming chunk) are kept as one run and copied with one `set()`, not one
 * per message: for 100-byte lines that is most of the cost of sending.
 */
const NEWLINE = new Uint8Array([10]);
/** Put in place of a run wholly taken, so the batch no longer holds its memory. */
const TAKEN = new ArrayBuffer(0);
/** Runs wholly taken before the arrays are compacted. */
const COMPACT_AT = 256;

export class MessageBatch {
  private buffers: ArrayBufferLike[] = [];
  private starts: number[] = [];
  private ends: number[] = [];
  /** Bytes of the last run's ArrayBuffer, to check for the `\n` after it. */
  private lastBytes: Uint8Array | undefined;
  /** Bytes added, newlines included, since the batch was last empty. */
  private length = 0;
  /** Bytes already taken from the front. */
  private front = 0;
  /** The first run not wholly taken, and the position of its first byte (≤ front). */
  private headRun = 0;
  private headAt = 0;

  /** Bytes the batch holds, newlines included. */
  get byteLength(): number {
    return this.length - this.front;
  }

  /** Appends one message (without newline; the caller checked it has none). */
  add(message: Uint8Array): void {
    const last = this.buffers.length - 1;
    const start = message.byteOffset;
    if (
      last >= this.headRun &&
      message.buffer === this.buffers[last] &&
      start === (this.ends[last] as number) + 1 &&
      (this.lastBytes as Uint8Array)[start - 1] === 10
    ) {
      this.ends[last] = start + message.length;
    } else {
      if (last < 0 || message.buffer !== this.buffers[last]) {
        this.lastBytes = new Uint8Array(message.buffer);
      }
      this.buffers.push(message.buffer);
      this.starts.push(start);
      this.ends.push(start + message.length);
    }
    this.length += message.length + 1;
  }

  /** How many write vectors {@link views} would return, at most. */
  get runCount(): number {
    return this.buffers.length - this.headRun;
  }

  /**
   * The batch as views for writev(), without copying: each run plus its
   * newline (the source's own `\n` when one follows the run, else a shared one).
   */
  views(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = this.headAt;
    let bytes: Uint8Array | undefined;
    for (let i = this.headRun; i < this.buffers.length; i++) {
      const buffer = this.buffers[i] as ArrayBufferLike;
      if (i === this.headRun || buffer !== this.buffers[i - 1]) bytes = new Uint8Array(buffer);
      const end = this.ends[i] as number;
      const start = (this.starts[i] as number) + Math.max(0, this.front - at);
      at += end - (this.starts[i] as number) + 1;
      if ((bytes as Uint8Array)[end] === 10) out.push(new Uint8Array(buffer, start, end - start + 1));
      else {
        if (end > start) out.push(new Uint8Array(buffer, start, end - start));
        if (at > this.front) out.push(NEWLINE);
      }
    }
    return out;
  }

  /**
   * Takes up to `max` bytes from the front, minus the first `skip` (already
   * written elsewhere), each message followed by `\n`: copied into the start
   * of `into` when it is big enough, else into a fresh (never pooled, so
   * transferable) buffer.
   */
  take(skip = 0, into?: ArrayBuffer, max = Infinity): Uint8Array<ArrayBuffer> {
    this.drop(skip);
    const size = Math.min(max, this.byteLength);
    // Not zero-filled: every byte is written below.
    const data = new Uint8Array(into !== undefined && into.byteLength >= size ? into : Buffer.allocUnsafeSlow(size).buffer, 0, size);
    let at = this.headAt - this.front; // position in `data` of run i's first byte
    let i = this.headRun;
    for (; i < this.buffers.length && at < size; i++) {
      const start = this.starts[i] as number;
      const n = (this.ends[i] as number) - start;
      const first = Math.max(0, -at);
      const last = Math.min(n, size - at);
      if (last > first) data.set(new Uint8Array(this.buffers[i] as ArrayBufferLike, start + first, last - first), at + first);
      if (at + n >= 0 && at + n < size) data[at + n] = 10;
      at += n + 1;
    }
    this.drop(size);
    return data;
  }

  /** Drops `n` bytes from the front (written elsewhere). */
  drop(n: number): void {
    if (n <= 0) return;
    this.front += n;
    if (this.front >= this.length) {
      this.clear();
      return;
    }
    for (;;) {
      const size = (this.ends[this.headRun] as number) - (this.starts[this.headRun] as number) + 1;
      if (this.headAt + size > this.front) break;
      this.headAt += size;
      this.buffers[this.headRun++] = TAKEN;
    }
    if (this.headRun >= COMPACT_AT) {
      this.buffers.splice(0, this.headRun);
      this.starts.splice(0, this.headRun);
      this.ends.splice(0, this.headRun);
      this.headRun = 0;
    }
  }

  clear(): void {
    this.buffers = [];
    this.starts = [];
    this.ends = [];
    this.lastBytes = undefined;
    this.length = 0;
    this.front = 0;
    this.headRun = 0;
    this.headAt = 0;
  }
}
