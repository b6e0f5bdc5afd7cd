/**
 * Many incoming messages at once, as PipeIOServer#handleMessages receives
 * them: one view over complete lines as they arrived, each followed by `\n`.
 * Pure, no I/O. Nothing is copied or split until asked for: an echo passes
 * the batch back to sendMessages() whole.
 */
export class LineBatch {
  /** The messages back to back, each followed by `\n` (a view, not a copy). */
  readonly bytes: Buffer;
  private counted = -1;

  /** `bytes` must hold complete lines: non-empty and ending with `\n`. */
  constructor(bytes: Buffer) {
    if (bytes.length === 0 || bytes[bytes.length - 1] !== 10) {
      throw new RangeError('a LineBatch holds complete lines: its bytes must end with a newline');
    }
    this.bytes = bytes;
  }

  /** A batch of one message (copied, with its newline added). */
  static of(message: Uint8Array): LineBatch {
    const bytes = Buffer.allocUnsafeSlow(message.length + 1);
    bytes.set(message);
    bytes[message.length] = 10;
    return new LineBatch(bytes);
  }

  /** How many messages the batch holds (counted once, on first use). */
  get count(): number {
    if (this.counted === -1) {
      let n = 0;
      for (let at = this.bytes.indexOf(10); at !== -1; at = this.bytes.indexOf(10, at + 1)) n++;
      this.counted = n;
    }
    return this.counted;
  }

  /** Each message, without its newline, as a view into {@link bytes}. */
  *[Symbol.iterator](): IterableIterator<Buffer> {
    const bytes = this.bytes;
    let start = 0;
    while (start < bytes.length) {
      const nl = bytes.indexOf(10, start);
      yield bytes.subarray(start, nl);
      start = nl + 1;
    }
  }

  /** The messages as an array of views (see the iterator). */
  toArray(): Buffer[] {
    return [...this];
  }
}
