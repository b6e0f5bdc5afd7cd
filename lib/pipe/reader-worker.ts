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

/** Hands `bytes` to the main thread, copying small reads out of the big buffer. */
function deliver(buffer: ArrayBuffer, length: number, reusable: boolean): ArrayBuffer | undefined {
  if (length === 0) return buffer;
  while (Atomics.load(control, Slot.COUNTER) >= MAX_INFLIGHT_CHUNKS && !stopping()) {
    Atomics.store(control, Slot.PHASE, Phase.IDLE);
    Atomics.wait(control, Slot.COUNTER, Atomics.load(control, Slot.COUNTER), 50);
  }
  Atomics.store(control, Slot.PHASE, Phase.READING);
  Atomics.add(control, Slot.COUNTER, 1);
  if (reusable && length < IO_CHUNK / 4) {
    const copy = new Uint8Array(length);
    copy.set(new Uint8Array(buffer, 0, length));
    post({ type: 'data', buffer: copy.buffer, length }, [copy.buffer]);
    return buffer;
  }
  post({ type: 'data', buffer, length }, [buffer]);
  return undefined;
}

/**
 * Reads one writer session. Returns true once the stop token was found.
 * `carry` holds back the last TOKEN_LENGTH-1 bytes while stopping, so a
 * token split across two reads is still recognised.
 */
function session(fd: number): boolean {
  let buffer: ArrayBuffer | undefined;
  let carry = Buffer.alloc(0);
  for (;;) {
    buffer ??= new ArrayBuffer(IO_CHUNK);
    const n = fs.readSync(fd, new Uint8Array(buffer), 0, IO_CHUNK, null);
    if (n === 0) {
      if (carry.length) deliverCopy(carry);
      return false;
    }
    if (!stopping()) {
      buffer = deliver(buffer, n, true);
      continue;
    }
    // Stopping: the token is somewhere at or after this read.
    const view = Buffer.concat([carry, Buffer.from(buffer, 0, n)]);
    const at = view.indexOf(token);
    if (at !== -1) {
      deliverCopy(view.subarray(0, at));
      return true;
    }
    const keep = Math.min(view.length, TOKEN_LENGTH - 1);
    deliverCopy(view.subarray(0, view.length - keep));
    carry = Buffer.from(view.subarray(view.length - keep));
  }
}

function deliverCopy(bytes: Buffer): void {
  if (bytes.length === 0) return;
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  deliver(copy.buffer, copy.length, false);
}

function run(): void {
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
      found = session(fd);
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
