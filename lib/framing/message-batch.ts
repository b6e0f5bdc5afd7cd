/**
 * Outgoing messages of one tick, gathered into one newline-terminated
 * buffer. Pure, no I/O.
 *
 * Messages that lie back to back in one ArrayBuffer with a `\n` between them
 * (lines an echo-like handler passes on from the same incoming chunk) are
 * kept as one run and copied with one `set()`, not one per message: for 100-
 * byte lines that is most of the cost of sending.
 */
const NEWLINE = new Uint8Array([10]);

export class MessageBatch {
  private buffers: ArrayBufferLike[] = [];
  private starts: number[] = [];
  private ends: number[] = [];
  /** Bytes of the last run's ArrayBuffer, to check for the `\n` after it. */
  private lastBytes: Uint8Array | undefined;
  private length = 0;

  /** Bytes the batch will take, newlines included. */
  get byteLength(): number {
    return this.length;
  }

  /** Appends one message (without newline; the caller checked it has none). */
  add(message: Uint8Array): void {
    const last = this.buffers.length - 1;
    const start = message.byteOffset;
    if (
      last >= 0 &&
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

  /** How many write vectors {@link views} would return. */
  get runCount(): number {
    return this.buffers.length;
  }

  /**
   * The batch as views for writev(), without copying: each run plus its
   * newline (the source's own `\n` when one follows the run, else a shared one).
   */
  views(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let bytes = this.lastBytes;
    for (let i = this.buffers.length - 1; i >= 0; i--) {
      const buffer = this.buffers[i] as ArrayBufferLike;
      if (i < this.buffers.length - 1 && buffer !== this.buffers[i + 1]) bytes = new Uint8Array(buffer);
      const start = this.starts[i] as number;
      const end = this.ends[i] as number;
      if ((bytes as Uint8Array)[end] === 10) out.push(new Uint8Array(buffer, start, end - start + 1));
      else out.push(NEWLINE, new Uint8Array(buffer, start, end - start));
    }
    return out.reverse();
  }

  /**
   * Copies the batch, each message followed by `\n`, minus its first `skip`
   * bytes (already written elsewhere), into the start of `into` when it is
   * big enough, else into a fresh (never pooled, so transferable) buffer, and
   * empties the batch.
   */
  take(skip = 0, into?: ArrayBuffer): Uint8Array<ArrayBuffer> {
    const size = this.length - skip;
    // Not zero-filled: every byte is written below.
    const data = new Uint8Array(into !== undefined && into.byteLength >= size ? into : Buffer.allocUnsafeSlow(size).buffer, 0, size);
    let at = -skip; // position in `data` of the current run's first byte
    for (let i = 0; i < this.buffers.length; i++) {
      const start = this.starts[i] as number;
      const n = (this.ends[i] as number) - start;
      if (at + n > 0) {
        const from = Math.max(0, -at);
        data.set(new Uint8Array(this.buffers[i] as ArrayBufferLike, start + from, n - from), at + from);
      }
      at += n;
      if (at >= 0) data[at] = 10;
      at++;
    }
    this.clear();
    return data;
  }

  clear(): void {
    this.buffers = [];
    this.starts = [];
    this.ends = [];
    this.lastBytes = undefined;
    this.length = 0;
  }
}
