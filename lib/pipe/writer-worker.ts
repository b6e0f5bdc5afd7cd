/**
 * Worker entry: writes the out pipe with blocking syscalls.
 *
 * The main thread holds a non-blocking read "anchor" on the FIFO, so this
 * thread's open(O_WRONLY) returns at once and write() never sees EPIPE: with
 * no client reading, bytes wait in the kernel pipe (then here, blocked) for
 * the next reader. Each write() is capped at MAX_WRITE so a stop or rebind is
 * noticed between slices; the main thread frees a blocked write() by
 * draining the pipe through its anchor.
 */
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { inodePath } from './fifo';
import {
  Ctrl,
  IO_CHUNK,
  MAX_WRITE,
  Phase,
  Slot,
  SLOT_COUNT,
  type WriterCommand,
  type WriterMessage,
  type WriterWorkerData,
} from './worker-protocol';

const data = workerData as WriterWorkerData;
const control = new Int32Array(data.control, 0, SLOT_COUNT);
const port = parentPort!;

const queue: Uint8Array[] = [];
/** Heads of `queue` to send back to the main thread once written (see RECYCLE_MIN). */
const recycle = new WeakSet<Uint8Array>();
let offset = 0; // bytes of queue[0] already written
let unreported = 0; // bytes written and not yet reported
let fd = -1;
let anchor = -1;
let generation = Atomics.load(control, Slot.COUNTER);
let awaitingCarry = false;
let done = false;

function post(message: WriterMessage): void {
  port.postMessage(message);
}

function report(spare?: ArrayBuffer): void {
  port.postMessage({ type: 'written', bytes: unreported, spare } satisfies WriterMessage, spare ? [spare] : []);
  unreported = 0;
}

function open(): void {
  anchor = Atomics.load(control, Slot.ANCHOR);
  fd = fs.openSync(inodePath(anchor, data.path), fs.constants.O_WRONLY);
}

function stop(): void {
  if (done) return;
  done = true;
  if (fd >= 0) fs.closeSync(fd);
  fd = -1;
  Atomics.store(control, Slot.PHASE, Phase.DONE);
  post({ type: 'stopped' });
  port.close();
}

/** Leaves the old inode for the one the main thread now anchors. */
function rebind(): void {
  generation = Atomics.load(control, Slot.COUNTER);
  const old = anchor;
  fs.closeSync(fd);
  open();
  awaitingCarry = true;
  post({ type: 'rebound', anchor: old });
}

/** Writes queued bytes until the queue is empty, a stop, or a rebind. */
function pump(): void {
  Atomics.store(control, Slot.PHASE, Phase.WRITING);
  while (!done && !awaitingCarry && queue.length > 0) {
    if (Atomics.load(control, Slot.CTRL) === Ctrl.STOP) return stop();
    if (Atomics.load(control, Slot.COUNTER) !== generation) {
      rebind();
      break;
    }
    const head = queue[0] as Uint8Array;
    const n = fs.writeSync(fd, head, offset, Math.min(MAX_WRITE, head.length - offset));
    offset += n;
    unreported += n;
    if (offset === head.length) {
      queue.shift();
      offset = 0;
      if (recycle.has(head)) {
        report(head.buffer as ArrayBuffer);
        continue;
      }
    }
    // Reported per finished buffer, and every 1 MiB within a big one: each report wakes the
    // main thread (for queuedBytes and 'drain'), which big messages felt at every 256 KiB.
    if (unreported >= 16 * IO_CHUNK || (offset === 0 && unreported > 0)) report();
  }
  if (!done) Atomics.store(control, Slot.PHASE, Phase.IDLE);
}

function portOnMessage(command: WriterCommand): void {
  if (done) return;
  try {
    switch (command.type) {
      case 'write':
        queue.push(command.data);
        if (command.recycle) recycle.add(command.data);
        break;
      case 'carry':
        // The old inode's unread bytes go first, then the rest of the head.
        awaitingCarry = false;
        if (offset > 0) {
          queue[0] = (queue[0] as Uint8Array).subarray(offset);
          offset = 0;
        }
        if (command.data.length) queue.unshift(command.data);
        break;
      case 'rebind':
        break; // checked below
      case 'stop':
        return stop();
      default:
        throw new Error(`this should not happen: unknown command ${JSON.stringify(command)}`);
    }
    if (Atomics.load(control, Slot.COUNTER) !== generation && !awaitingCarry) rebind();
    pump();
  } catch (err) {
    if (Atomics.load(control, Slot.CTRL) === Ctrl.STOP) return stop();
    post({ type: 'error', message: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
    stop();
  }
}

open();
port.on('message', portOnMessage);
Atomics.store(control, Slot.PHASE, Phase.IDLE);
post({ type: 'ready' });
