/**
 * Length-prefixed framing of the comm-ipc wire: a uint32 big-endian payload
 * length, then that many bytes of MessagePack. Pure, no I/O: feed it chunks,
 * it returns whole payloads. A header above `maxFrameSize` is refused before
 * a byte of the body is buffered (comm-ipc allocates whatever the header says).
 */
import { pipeIOError, type PipeIOError } from '../../errors';

/** Bytes of the length header. */
export const FRAME_HEADER_BYTES = 4;

export class FrameReader {
  private readonly maxFrameSize: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Payload length of the frame being assembled, or -1 while reading a header. */
  private need = -1;

  /** @param maxFrameSize Largest accepted payload in bytes. */
  constructor(maxFrameSize: number) {
    this.maxFrameSize = maxFrameSize;
  }

  /** Bytes held for an incomplete frame (its length header included once read). */
  get bufferedBytes(): number {
    return this.pendingBytes + (this.need === -1 ? 0 : FRAME_HEADER_BYTES);
  }

  /**
   * Adds `chunk` and returns every payload it completes, in order. Throws a
   * `PIPEIO_ERR_FRAME_TOO_LARGE` PipeIOError for an oversized header; the
   * reader is unusable afterwards (the stream has lost its framing).
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (this.pendingBytes > 0 || this.need !== -1) {
      // A frame started in an earlier chunk: finish it across the chunks held, then go
      // back to the fast path for the rest of the newest chunk (a read of a busy stream
      // almost always ends mid-frame, so every chunk starts this way).
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      for (;;) {
        if (this.need === -1) {
          if (this.pending.length === 1) {
            chunk = this.pending[0]!;
            this.pending = [];
            this.pendingBytes = 0;
            break;
          }
          if (this.pendingBytes < FRAME_HEADER_BYTES) return out;
          const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
          if (length > this.maxFrameSize) throw tooLarge(length, this.maxFrameSize);
          this.need = length;
        }
        if (this.pendingBytes < this.need) return out;
        out.push(this.take(this.need));
        this.need = -1;
      }
    }
    // Fast path: frames that start and end inside `chunk` are views of it.
    let offset = 0;
    while (chunk.length - offset >= FRAME_HEADER_BYTES) {
      const length = chunk.readUInt32BE(offset);
      if (length > this.maxFrameSize) throw tooLarge(length, this.maxFrameSize);
      if (chunk.length - offset - FRAME_HEADER_BYTES < length) break;
      out.push(chunk.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length));
      offset += FRAME_HEADER_BYTES + length;
    }
    if (offset < chunk.length) {
      this.pending.push(offset === 0 ? chunk : chunk.subarray(offset));
      this.pendingBytes = chunk.length - offset;
    }
    return out;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    let first = this.pending[0]!;
    if (first.length >= n) {
      const part = first.subarray(0, n);
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      this.pendingBytes -= n;
      return part;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      first = this.pending[0]!;
      const use = Math.min(first.length, n - filled);
      first.copy(out, filled, 0, use);
      filled += use;
      if (use === first.length) this.pending.shift();
      else this.pending[0] = first.subarray(use);
    }
    this.pendingBytes -= n;
    return out;
  }
}

function tooLarge(length: number, max: number): PipeIOError {
  return pipeIOError('PIPEIO_ERR_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds maxFrameSize (${max})`);
}

/** Prepends the 4-byte length header to a payload (one copy). */
export function frameBytes(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}
