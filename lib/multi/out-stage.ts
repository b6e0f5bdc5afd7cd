/**
 * The outgoing staging area of MultiPipeServer, shared by ALL pairs: send()
 * copies each message (plus its newline) once into one unpooled buffer, and
 * a run index records which bytes belong to which pair. Consecutive messages
 * for the same pair extend one run, so an echo of a whole incoming chunk is
 * one run. At the flush the buffer is transferred to the worker with its
 * index in ONE 'flush' message, whatever the number of pairs (one
 * allocation and one transfer per flush instead of one per pair).
 */

/** Smallest staging buffer (bytes). */
const STAGE_MIN = 64 * 1024;
/** Largest buffer sized from the previous flush (bytes); a bigger message gets its own size. */
const STAGE_MAX = 4 * 1024 * 1024;

/** One sealed buffer: its bytes and runs `[pairId, offset, length, ...]`. */
export interface StagedSegment {
  buffer: ArrayBuffer;
  runs: number[];
}

export class OutStage {
  private buf: Buffer | undefined;
  private used = 0;
  private runs: number[] = [];
  /** Pair id of the last run (-1: none), whose length is runs[runs.length - 1]. */
  private lastId = -1;
  private sealed: StagedSegment[] = [];
  /** Bytes staged since the last take(): sizes the next buffer. */
  private flushBytes = 0;
  private nextSize = STAGE_MIN;

  /** Copies `body` plus a newline for pair `id`. */
  stage(id: number, body: Buffer): void {
    const need = body.length + 1;
    let buf = this.buf;
    if (!buf || this.used + need > buf.length) {
      this.seal();
      buf = this.buf = Buffer.allocUnsafeSlow(Math.max(this.nextSize, need));
    }
    const at = this.used;
    buf.set(body, at); // TypedArray#set: no Buffer#copy argument handling per message
    buf[at + body.length] = 10;
    this.used = at + need;
    this.flushBytes += need;
    if (this.lastId === id) {
      this.runs[this.runs.length - 1] += need;
    } else {
      this.runs.push(id, at, need);
      this.lastId = id;
    }
  }

  /** Anything staged since the last take()? */
  get isEmpty(): boolean {
    return this.used === 0 && this.sealed.length === 0;
  }

  /** Takes every staged segment (in order) and sizes the next buffer after this flush. */
  take(): StagedSegment[] {
    this.seal();
    const out = this.sealed;
    this.sealed = [];
    this.nextSize = Math.min(STAGE_MAX, Math.max(STAGE_MIN, this.flushBytes + (this.flushBytes >> 2)));
    this.flushBytes = 0;
    return out;
  }

  /** Drops everything staged (stop()). */
  clear(): void {
    this.buf = undefined;
    this.used = 0;
    this.runs = [];
    this.lastId = -1;
    this.sealed = [];
    this.flushBytes = 0;
  }

  private seal(): void {
    if (this.buf && this.used > 0) {
      // the whole ArrayBuffer is transferred; bytes past `used` are never read
      this.sealed.push({ buffer: this.buf.buffer as ArrayBuffer, runs: this.runs });
    }
    this.buf = undefined;
    this.used = 0;
    this.runs = [];
    this.lastId = -1;
  }
}
