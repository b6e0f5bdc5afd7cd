/**
 * Worker entry: reads writer sessions of the in pipe that carry long lines,
 * with blocking syscalls, so neither the event loop nor libuv's pool ever
 * waits on a FIFO, and the main thread only handles whole lines.
 *
 * The main thread reads the pipe itself (in-reader.ts) until a line grows
 * past ESCALATE_AT; it then stops reading and asks this thread (Slot.GO) to
 * read the rest of that writer session:
 *
 *   wait for GO ─▶ open(/proc/self/fd/<anchor>) ─▶ read() into one growing
 *   buffer per line; whole lines go over in one transfer ─▶ read() == 0:
 *   'eof' (the main thread reads the next session itself) ─▶ wait for GO
 *   ... or HAND_BACK_AFTER reads in a row ending at a line end: 'hand-back' (the
 *   main thread reads the rest of the session itself) ─▶ wait for GO
 *
 * Stop: the main thread sets CTRL=STOP. An idle thread is woken through
 * Slot.GO; one in a session is woken by a random token the main thread writes
 * into the FIFO: whether it sleeps in open() or read(), it passes on every
 * byte before the token and exits.
 */
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { inodePath } from './fifo';
import { LineBuffer } from './line-buffer';
import {
  Ctrl,
  MAX_INFLIGHT_CHUNKS,
  Phase,
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

/** Waits while MAX_INFLIGHT_CHUNKS posts are unconsumed, then posts the chunk (transferred). */
function postChunk(chunk: Buffer): void {
  while (Atomics.load(control, Slot.COUNTER) >= MAX_INFLIGHT_CHUNKS && !stopping()) {
    Atomics.store(control, Slot.PHASE, Phase.IDLE);
    Atomics.wait(control, Slot.COUNTER, Atomics.load(control, Slot.COUNTER), 50);
  }
  Atomics.store(control, Slot.PHASE, Phase.READING);
  Atomics.add(control, Slot.COUNTER, 1);
  const buffer = chunk.buffer as ArrayBuffer;
  post({ type: 'data', buffer, length: chunk.length }, [buffer]);
}

/**
 * Reads in a row that end at a line boundary after which the session goes
 * back to the main thread (a round trip is a thread wake-up faster there).
 */
const HAND_BACK_AFTER = 8;

/** How a session ended: the stop token, EOF, or handed back to the main thread. */
type SessionEnd = 'token' | 'eof' | 'hand-back';

/** Reads one writer session until the stop token, EOF, or a run of short lines. */
function session(fd: number, lines: LineBuffer): SessionEnd {
  let short = 0;
  for (;;) {
    const room = lines.room();
    const n = fs.readSync(fd, room, 0, room.length, null);
    if (n === 0) {
      lines.flush(); // EOF: an unterminated fragment goes over too; the main thread ends the line
      return 'eof';
    }
    if (stopping()) {
      // The token lies in this read (CTRL=STOP is set before it is written), or starts in
      // the last TOKEN_LENGTH-1 bytes before it.
      const held = lines.pendingLength;
      const at = lines.peek(n).indexOf(token, Math.max(0, held - (TOKEN_LENGTH - 1)));
      if (at !== -1) {
        lines.deliverFirst(at);
        return 'token';
      }
    }
    lines.appended(n);
    // Reads that end exactly at the end of a line, several in a row: the writer sends short
    // messages one at a time (a long line leaves a tail after all reads but its last; counting
    // reads that leave a short tail instead moved 1 MiB streams back and forth, halving them).
    short = lines.pendingLength === 0 ? short + 1 : 0;
    if (short >= HAND_BACK_AFTER && !stopping()) {
      lines.flush(); // the start of the next line goes over first, then the main thread reads on
      return 'hand-back';
    }
  }
}

function run(): void {
  const lines = new LineBuffer(data.maxMessageSize, postChunk, true);
  let served = 0;
  post({ type: 'ready' });
  for (;;) {
    Atomics.store(control, Slot.PHASE, Phase.IDLE);
    while (Atomics.load(control, Slot.GO) === served && !stopping()) Atomics.wait(control, Slot.GO, served);
    if (stopping()) break;
    served = Atomics.load(control, Slot.GO);
    const anchor = Atomics.load(control, Slot.ANCHOR);
    Atomics.store(control, Slot.PHASE, Phase.OPENING);
    let fd: number;
    try {
      // Blocks until a writer is there: the session's writer normally is (it is mid-line).
      fd = fs.openSync(inodePath(anchor, data.path), fs.constants.O_RDONLY);
    } catch (err) {
      if (stopping()) break;
      post({ type: 'error', message: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
      continue;
    }
    Atomics.store(control, Slot.PHASE, Phase.READING);
    let end: SessionEnd;
    try {
      end = session(fd, lines);
    } catch (err) {
      if (stopping()) break;
      lines.reset();
      post({ type: 'error', message: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
      continue;
    } finally {
      fs.closeSync(fd);
    }
    if (end === 'token') break;
    post(end === 'eof' ? { type: 'eof', anchor } : { type: 'hand-back' });
  }
  Atomics.store(control, Slot.PHASE, Phase.DONE);
  post({ type: 'stopped' });
  port.close();
}

run();
