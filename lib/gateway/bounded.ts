/**
 * The rule that cuts off slow web readers (SSE, WebSocket), never buffering
 * without limit. A burst written in one tick sits in the socket's buffer
 * until Node flushes it (HTTP responses are corked until the next tick), so
 * passing the limit only arms a check after the flush: a reader still
 * `limit` bytes behind then is slow and is cut off. A burst past four times
 * the limit is cut at once, so memory stays bounded within a tick too.
 */
export class SlowReaderGuard {
  private armed = false;

  /**
   * @param buffered Bytes written but not yet taken by the reader's kernel.
   * @param limit The bound, in bytes.
   * @param cut Ends the reader (called once).
   */
  constructor(
    private readonly buffered: () => number,
    private readonly limit: number,
    private readonly cut: () => void,
  ) {}

  /** After each write: false if the reader was cut off. */
  check(): boolean {
    const b = this.buffered();
    if (b <= this.limit) return true;
    if (b > 4 * this.limit) {
      this.cut();
      return false;
    }
    if (!this.armed) {
      this.armed = true;
      setImmediate(() => {
        this.armed = false;
        if (this.buffered() > this.limit) this.cut();
      });
    }
    return true;
  }
}
