/**
 * The in pipe's read buffer: reads land in one growing buffer per pending
 * line, and only complete lines leave it, in one piece per read, as views
 * (no copy) that the caller may keep. A 1 MiB message is one chunk, not
 * sixteen 64 KiB reads joined by a copy. A line longer than the limit leaves
 * in pieces that the line splitter joins (or skips, past maxMessageSize).
 */
import { freshBuffer } from './big-buffers';
import { IO_CHUNK } from './worker-protocol';

/**
 * The longest unterminated line kept growing in one buffer before it is
 * handed on in pieces. Below this, lines are delivered whole.
 */
export const MAX_WHOLE_LINE = 16 * 1024 * 1024;
/**
 * Complete lines shorter than this are copied out of the read buffer, which
 * is then reused (the round-trip case: one small message per read); longer
 * runs hand the buffer itself on and a new one is started.
 */
export const SMALL_COPY = IO_CHUNK / 4;

export class LineBuffer {
  private bytes: Buffer = freshBuffer(IO_CHUNK);
  private filled = 0;
  /** Length of the last line longer than IO_CHUNK (0 after a short one): sizes the next buffer. */
  private longLine = 0;
  private readonly limit: number;
  private readonly deliver: (chunk: Buffer) => void;
  private readonly transferable: boolean;

  /**
   * `deliver` gets every chunk in order: complete lines, or a piece of a line
   * over the limit. With `transferable`, every chunk starts at offset 0 of an
   * ArrayBuffer of its own (a worker transfers it); else small runs are
   * copied into Node's shared pool.
   */
  constructor(maxMessageSize: number, deliver: (chunk: Buffer) => void, transferable = false) {
    this.limit = Math.max(IO_CHUNK, Math.min(MAX_WHOLE_LINE, maxMessageSize + 1));
    this.deliver = deliver;
    this.transferable = transferable;
  }

  /** Bytes held: the start of a line not yet complete. */
  get pendingLength(): number {
    return this.filled;
  }

  /** The held bytes plus the next `n` read into {@link room}, before {@link appended}. */
  peek(n: number): Buffer {
    return this.bytes.subarray(0, this.filled + n);
  }

  /** Delivers the first `n` bytes held (plus read), whole lines or not, and drops the rest. */
  deliverFirst(n: number): void {
    this.filled = n;
    this.flush();
  }

  /** Free space to read into (never empty): grows the buffer, or hands a piece on at the limit. */
  room(): Buffer {
    if (this.filled === this.bytes.length) {
      if (this.bytes.length < this.limit) {
        const grown = freshBuffer(Math.min(this.limit, this.bytes.length * 2));
        this.bytes.copy(grown, 0, 0, this.filled);
        this.bytes = grown;
      } else {
        this.flush();
      }
    }
    return this.bytes.subarray(this.filled);
  }

  /** `n` bytes were read into {@link room}: delivers every complete line. */
  appended(n: number): void {
    const before = this.filled;
    this.filled += n;
    const view = this.bytes.subarray(0, this.filled);
    // Native scans only: memchr over the new bytes, then memrchr back to the last newline.
    const first = view.indexOf(10, before);
    if (first === -1) return; // no newline yet: keep reading into the line
    const last = view.lastIndexOf(10);
    const lastLine = last === first ? last + 1 : last - view.lastIndexOf(10, last - 1);
    this.handOver(last + 1, lastLine);
  }

  /** Delivers whatever is held (an unterminated fragment at EOF, or a piece of a long line). */
  flush(): void {
    if (this.filled === 0) return;
    const chunk = this.bytes.subarray(0, this.filled);
    this.bytes = freshBuffer(this.bytes.length);
    this.filled = 0;
    this.deliver(chunk);
  }

  /** Drops whatever is held. */
  reset(): void {
    this.filled = 0;
  }

  /** Delivers [0, end) and keeps [end, filled) as the start of the next line. */
  private handOver(end: number, lastLine: number): void {
    const rest = this.filled - end;
    let chunk: Buffer;
    if (end < SMALL_COPY) {
      chunk = this.transferable ? freshBuffer(end) : Buffer.allocUnsafe(end);
      this.bytes.copy(chunk, 0, 0, end);
      this.bytes.copyWithin(0, end, this.filled);
    } else {
      this.longLine = lastLine > IO_CHUNK ? lastLine : 0;
      const next = freshBuffer(Math.min(this.limit, Math.max(IO_CHUNK, this.longLine + IO_CHUNK, rest * 2)));
      this.bytes.copy(next, 0, end, this.filled);
      chunk = this.bytes.subarray(0, end);
      this.bytes = next;
    }
    this.filled = rest;
    this.deliver(chunk);
  }
}
