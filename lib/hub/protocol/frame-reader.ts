/**
 * Length-prefixed framing of the comm-ipc wire: a uint32 big-endian payload
 * length, then that many bytes of MessagePack. Pure, no I/O: feed it chunks,
 * it returns whole payloads. A header above `maxFrameSize` is refused before
 * a byte of the body is buffered (comm-ipc allocates whatever the header says).
 *
 * Cost, whatever the read sizes (issue 21): frames that start and end inside
 * one chunk are views of it (no copy). A frame split across chunks is copied
 * into one buffer that grows geometrically as its bytes arrive, never beyond
 * the declared length and never allocated up front: every byte is copied at
 * most about 3 times in all, and the buffer is at most twice the bytes
 * received so far. (A list of received chunks, as before, cost one
 * `Array.shift()` per chunk, quadratic in the chunk count, and about 160 bytes
 * of heap per one-byte chunk.) A {@link PartialFrameBudget} shared by readers
 * caps what all their partial frames hold together.
 */
import { pipeIOError, type PipeIOError } from '../../errors';

/** Bytes of the length header. */
export const FRAME_HEADER_BYTES = 4;

/**
 * Memory held by the partial frames of many readers (a hub's connections),
 * with a ceiling. A reader reserves what its buffer grows by and releases
 * it when the frame completes or the reader is disposed.
 */
export class PartialFrameBudget {
  /** Bytes reserved now. */
  used = 0;
  /** Most bytes ever reserved at once. */
  peak = 0;
  /** Frames refused because the budget was spent. */
  refused = 0;

  /** @param limit Bytes all partial frames may hold together. */
  constructor(readonly limit: number) {}

  /** Takes `n` bytes if they fit under the limit. */
  reserve(n: number): boolean {
    if (this.used + n > this.limit) {
      this.refused++;
      return false;
    }
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }

  release(n: number): void {
    this.used -= n;
  }
}

/** What push() returns when no frame completed (never changed: callers only read it). */
const NOTHING: Buffer[] = [];
Object.freeze(NOTHING);

export class FrameReader {
  private readonly maxFrameSize: number;
  private readonly budget: PartialFrameBudget | undefined;
  /** A length header split across chunks, and how many of its bytes arrived. */
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** Payload length of the frame being assembled, or -1 when none is. */
  private need = -1;
  /** The frame being assembled: `filled` bytes of it in `body` (capacity `body.length` <= need). */
  private body: Buffer | undefined;
  private filled = 0;
  /** Frames begun across chunks so far (a frame, or its header, left incomplete by a chunk). */
  private started = 0;

  /**
   * @param maxFrameSize Largest accepted payload in bytes.
   * @param budget Shared ceiling on partial frames (a hub's); none for a client.
   */
  constructor(maxFrameSize: number, budget?: PartialFrameBudget) {
    this.maxFrameSize = maxFrameSize;
    this.budget = budget;
  }

  /** Bytes received of the incomplete frame (its length header included). */
  get bufferedBytes(): number {
    return this.headerFill + (this.need === -1 ? 0 : FRAME_HEADER_BYTES + this.filled);
  }

  /** Bytes of memory the incomplete frame holds (its buffer's capacity). */
  get heldBytes(): number {
    return this.body?.length ?? 0;
  }

  /** True while a frame (or its header) is incomplete. */
  get inFrame(): boolean {
    return this.headerFill > 0 || this.need !== -1;
  }

  /**
   * Counts frames left incomplete by a chunk: when it changes after a push,
   * a new frame began (its deadline starts then).
   */
  get framesStarted(): number {
    return this.started;
  }

  /**
   * Adds `chunk` and returns every payload it completes, in order (a shared,
   * frozen empty array when none: read it, never change it). Throws a
   * `PIPEIO_ERR_FRAME_TOO_LARGE` PipeIOError for an oversized header, and
   * `PIPEIO_ERR_LIMIT` when the budget cannot hold a partial frame's bytes;
   * the reader is unusable afterwards (the stream has lost its framing).
   */
  push(chunk: Buffer): Buffer[] {
    const body = this.body;
    const n = chunk.length;
    if (body !== undefined && n < 64 && this.filled + n < body.length) {
      // A few more bytes of a frame, room for them, not its end (a trickle): the shortest path.
      const filled = this.filled;
      for (let i = 0; i < n; i++) body[filled + i] = chunk[i]!;
      this.filled = filled + n;
      return NOTHING;
    }
    let out: Buffer[] = NOTHING;
    let offset = 0;
    if (this.headerFill > 0) {
      const n = Math.min(FRAME_HEADER_BYTES - this.headerFill, chunk.length);
      for (let i = 0; i < n; i++) this.header[this.headerFill + i] = chunk[i]!;
      this.headerFill += n;
      offset = n;
      if (this.headerFill < FRAME_HEADER_BYTES) return out;
      this.headerFill = 0;
      this.need = this.checkedLength(this.header.readUInt32BE(0));
    }
    if (this.need !== -1) {
      const n = Math.min(this.need - this.filled, chunk.length - offset);
      this.append(chunk, offset, n);
      offset += n;
      if (this.filled < this.need) return out;
      out = [this.finish()];
    }
    // Frames that start and end inside `chunk` are views of it.
    while (chunk.length - offset >= FRAME_HEADER_BYTES) {
      const length = this.checkedLength(chunk.readUInt32BE(offset));
      if (chunk.length - offset - FRAME_HEADER_BYTES < length) break;
      if (out === NOTHING) out = [];
      out.push(chunk.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length));
      offset += FRAME_HEADER_BYTES + length;
    }
    const rest = chunk.length - offset;
    if (rest === 0) return out;
    // A frame begins here and goes on in later chunks: its bytes are copied (a view would keep
    // the whole chunk alive, and a list of views costs per chunk).
    this.started++;
    if (rest < FRAME_HEADER_BYTES) {
      chunk.copy(this.header, 0, offset);
      this.headerFill = rest;
    } else {
      this.need = chunk.readUInt32BE(offset); // checked by the loop above
      this.append(chunk, offset + FRAME_HEADER_BYTES, rest - FRAME_HEADER_BYTES);
    }
    return out;
  }

  /** Releases what the incomplete frame holds (the reader's stream ended). */
  dispose(): void {
    this.budget?.release(this.heldBytes);
    this.body = undefined;
    this.filled = 0;
    this.need = -1;
    this.headerFill = 0;
  }

  private checkedLength(length: number): number {
    if (length > this.maxFrameSize) {
      throw pipeIOError('PIPEIO_ERR_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds maxFrameSize (${this.maxFrameSize})`);
    }
    return length;
  }

  /** Copies `n` bytes of `src` from `start` into the frame, growing its buffer geometrically. */
  private append(src: Buffer, start: number, n: number): void {
    if (n === 0) return;
    const want = this.filled + n;
    const body = this.body;
    if (body === undefined || want > body.length) {
      // Double (or take what this chunk needs), never beyond the declared length: at most 2x
      // the bytes held, and O(1) amortised copies per byte.
      const capacity = Math.min(this.need, Math.max(want, 2 * (body?.length ?? 0)));
      const grow = capacity - (body?.length ?? 0);
      if (this.budget && !this.budget.reserve(grow)) throw budgetSpent(this.budget);
      // Not from the shared pool: a small partial frame must not keep an 8 KiB pool slab alive.
      const next = Buffer.allocUnsafeSlow(capacity);
      if (body !== undefined) body.copy(next, 0, 0, this.filled);
      this.body = next;
    }
    const body2 = this.body!;
    // A few bytes (a trickle) are cheaper copied by hand than through Buffer#copy.
    if (n < 64) for (let i = 0; i < n; i++) body2[this.filled + i] = src[start + i]!;
    else src.copy(body2, this.filled, start, start + n);
    this.filled = want;
  }

  /** The completed frame's payload; the reader is ready for the next header. */
  private finish(): Buffer {
    const body = this.body ?? Buffer.alloc(0);
    this.budget?.release(body.length);
    this.body = undefined;
    this.filled = 0;
    this.need = -1;
    return body;
  }
}

function budgetSpent(budget: PartialFrameBudget): PipeIOError {
  return pipeIOError(
    'PIPEIO_ERR_LIMIT',
    `partial frames already hold ${budget.used} bytes of this hub's maxPartialFrameBytes (${budget.limit}); frame refused`,
  );
}

/** Prepends the 4-byte length header to a payload (one copy). */
export function frameBytes(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}
