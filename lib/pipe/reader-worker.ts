/**
 * Worker entry: reads the in pipe with blocking syscalls, so neither the
 * event loop nor libuv's pool ever waits on a FIFO.
 *
 *   open(/proc/self/fd/<anchor>)  blocks until a writer appears
 *   read() ... read() == 0        every writer left: 'eof' (main flushes the fragment)
 *   loop, reopening the anchor the main thread names (it changes on rebind)
 *
 * Stop: the main thread sets CTRL=STOP, then writes a random token into the
 * FIFO through its own fd. Whether this thread sleeps in open() or read(),
 * the token wakes it; it passes on every byte before the token and exits.
 */
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { inodePath } from './fifo';
import {
  Ctrl,
  IO_CHUNK,
  MAX_INFLIGHT_CHUNKS,
  MAX_WHOLE_LINE,
  Phase,
  SMALL_POST,
  Slot,
  SLOT_COUNT,
  TOKEN_LENGTH,
  type ReaderMessage,
  type ReaderWorkerData,
} from './worker-protocol';

const data = workerData as ReaderWorkerData;
const control = new Int32Array(data.control, 0, SLOT_COUNT);
const token = Buffer.from(data.stopToken);
const port = parentPort!;

function post(message: ReaderMessage, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer ?? []);
}

function stopping(): boolean {
  return Atomics.load(control, Slot.CTRL) === Ctrl.STOP;
}

/** Waits while MAX_INFLIGHT_CHUNKS posts are unconsumed, then counts one more. */
function claimSlot(): void {
  while (Atomics.load(control, Slot.COUNTER) >= MAX_INFLIGHT_CHUNKS && !stopping()) {
    Atomics.store(control, Slot.PHASE, Phase.IDLE);
    Atomics.wait(control, Slot.COUNTER, Atomics.load(control, Slot.COUNTER), 50);
  }
  Atomics.store(control, Slot.PHASE, Phase.READING);
  Atomics.add(control, Slot.COUNTER, 1);
}

/** Posts bytes [0, length) of `bytes` as a fresh (transferable) copy. */
function postCopy(bytes: Uint8Array, length: number): void {
  if (length === 0) return;
  claimSlot();
  const copy = new Uint8Array(length);
  copy.set(bytes.subarray(0, length));
  post({ type: 'data', buffer: copy.buffer, length }, [copy.buffer]);
}

/**
 * One growing buffer per pending line: read() appends to it until it holds
 * a newline, then every complete line goes over in one transfer and the
 * unterminated rest moves to the next buffer (sized for a line like the last
 * long one). So a 1 MiB message is one post, not sixteen 64 KiB chunks and a
 * join. A line longer than `limit` goes over in pieces the main thread joins
 * (or skips, past maxMessageSize).
 */
class LineBuffer {
  bytes: Buffer = fresh(IO_CHUNK);
  filled = 0;
  /** Length of the last line longer than IO_CHUNK (0 after a short one): sizes the next buffer. */
  private longLine = 0;
  constructor(private readonly limit: number) {}

  /** Room for one more read, growing (a copy) or handing over a piece at `limit`. */
  makeRoom(keep: number): void {
    if (this.filled < this.bytes.length) return;
    if (this.bytes.length < this.limit) {
      const grown = fresh(Math.min(this.limit, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.filled);
      this.bytes = grown;
      return;
    }
    // A line longer than `limit`: hand over all but `keep` bytes (a possible token prefix).
    this.handOver(this.filled - keep, 0);
  }

  /**
   * Posts [0, end) and moves [end, filled) to the front of the next buffer.
   * `lastLine`: length of the last complete line in [0, end).
   */
  handOver(end: number, lastLine: number): void {
    if (end <= 0) return;
    const rest = this.filled - end;
    if (end < SMALL_POST) {
      postCopy(this.bytes, end);
      this.bytes.copyWithin(0, end, this.filled);
      this.filled = rest;
      return;
    }
    this.longLine = lastLine > IO_CHUNK ? lastLine : 0;
    const next = fresh(Math.min(this.limit, Math.max(IO_CHUNK, this.longLine + IO_CHUNK, rest * 2)));
    this.bytes.copy(next, 0, end, this.filled);
    claimSlot();
    const buffer = this.bytes.buffer as ArrayBuffer;
    post({ type: 'data', buffer, length: end }, [buffer]);
    this.bytes = next;
    this.filled = rest;
  }
}

/** A buffer of its own (never pooled), so it can be transferred. */
function fresh(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}

/** Reads one writer session. Returns true once the stop token was found. */
function session(fd: number, lines: LineBuffer): boolean {
  for (;;) {
    lines.makeRoom(stopping() ? TOKEN_LENGTH - 1 : 0);
    const before = lines.filled;
    const n = fs.readSync(fd, lines.bytes, before, lines.bytes.length - before, null);
    if (n === 0) {
      // EOF: an unterminated fragment goes over too; the main thread ends the line.
      lines.handOver(lines.filled, 0);
      return false;
    }
    const filled = (lines.filled += n);
    const bytes = lines.bytes.subarray(0, filled);
    if (stopping()) {
      // The token lies at or after this read (CTRL=STOP is set before it is written), or
      // starts in the last TOKEN_LENGTH-1 bytes before it.
      const at = bytes.indexOf(token, Math.max(0, before - (TOKEN_LENGTH - 1)));
      if (at !== -1) {
        postCopy(bytes, at);
        return true;
      }
    }
    // Native scans only: memchr over the new bytes, then memrchr back to the last newline.
    const first = bytes.indexOf(10, before);
    if (first === -1) continue; // no newline yet: keep reading into the line
    const last = bytes.lastIndexOf(10, filled - 1);
    const lastLine = last === first ? last + 1 : last - bytes.lastIndexOf(10, last - 1);
    lines.handOver(last + 1, lastLine);
  }
}

function run(): void {
  const lines = new LineBuffer(Math.max(IO_CHUNK, Math.min(MAX_WHOLE_LINE, data.maxMessageSize + 1)));
  post({ type: 'ready' });
  for (;;) {
    const anchor = Atomics.load(control, Slot.ANCHOR);
    Atomics.store(control, Slot.PHASE, Phase.OPENING);
    let fd: number;
    try {
      fd = fs.openSync(inodePath(anchor, data.path), fs.constants.O_RDONLY);
    } catch (err) {
      // The anchor was closed under us (rebind or stop): pick up the new one.
      if (stopping()) break;
      post({ type: 'error', message: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
      Atomics.wait(control, Slot.ANCHOR, anchor, 100);
      continue;
    }
    Atomics.store(control, Slot.PHASE, Phase.READING);
    let found: boolean;
    try {
      found = session(fd, lines);
    } finally {
      fs.closeSync(fd);
    }
    if (found) break;
    post({ type: 'eof', anchor });
  }
  Atomics.store(control, Slot.PHASE, Phase.DONE);
  post({ type: 'stopped' });
  port.close();
}

run();
