/**
 * Worker entry: the shared I/O worker of MultiPipeServer. One thread with its
 * own event loop serves every pair; each FIFO is opened O_NONBLOCK and wrapped
 * in a net.Socket (a libuv pipe handle), so all I/O is epoll-driven, nothing
 * ever blocks, and worker.terminate() always works.
 *
 *   in pipe   reader  O_RDONLY|O_NONBLOCK through /proc/self/fd/<in anchor>
 *             EOF (last writer left) -> 'eof' event, close, open a fresh reader
 *             (a fresh open file sees no stale HUP; the anchor keeps the pipe
 *             buffer alive meanwhile, so nothing written in between is lost)
 *   out pipe  writer  O_WRONLY|O_NONBLOCK through /proc/self/fd/<out anchor>
 *             (succeeds at once: the anchor is a reader; no EPIPE ever while
 *             it lives; unread bytes stay in the pipe for the next reader)
 *
 * Bytes to the main thread go in batches (one postMessage per loop turn), as
 * whole chunks on transferred ArrayBuffers, in order.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { parentPort } from 'node:worker_threads';
import { inodePath } from '../pipe/fifo';
import type { MainToWorker, PairSide, WorkerEvent, WorkerToMain } from './worker-protocol';

const { O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants;

/**
 * Read-ahead: a pair is paused when this many of its bytes were posted but
 * not yet credited back by the main thread (it withholds credit while the
 * pair's out queue is at/above highWaterMark, so a client that does not read
 * stops being read), and resumed below a quarter of it. The budget is shared:
 * READ_AHEAD_TOTAL split over the pairs, between READ_AHEAD_MIN and
 * READ_AHEAD_MAX each, so 100 busy pairs do not hold 100 x 2 MiB in flight
 * (the main thread cannot go faster than it handles lines anyway).
 */
const READ_AHEAD_TOTAL = 16 * 1024 * 1024;
const READ_AHEAD_MIN = 128 * 1024;
const READ_AHEAD_MAX = 2 * 1024 * 1024;
/** Bytes read per anchor drain step when moving an out pipe. */
const DRAIN_CHUNK = 64 * 1024;

interface WorkerPair {
  id: number;
  inAnchor: number;
  inPath: string;
  outAnchor: number;
  outPath: string;
  reader: net.Socket | undefined;
  writer: net.Socket | undefined;
  /** A writer was seen (data) on the current reader and has not left yet. */
  attached: boolean;
  /** Bytes posted to the main thread and not yet acknowledged. */
  unconsumed: number;
  paused: boolean;
  /** While the out side moves to a recreated FIFO, writes wait here. */
  held: Uint8Array[] | undefined;
  closed: boolean;
}

const port = parentPort;
if (!port) throw new Error('io-worker must run in a worker thread');

const pairs = new Map<number, WorkerPair>();
let events: WorkerEvent[] = [];
let transfer: ArrayBuffer[] = [];
let flushScheduled = false;
/** Current per-pair read-ahead (see READ_AHEAD_TOTAL); updated on add/remove. */
let readPauseBytes = READ_AHEAD_MAX;

function updateReadAhead(): void {
  readPauseBytes = Math.min(READ_AHEAD_MAX, Math.max(READ_AHEAD_MIN, Math.floor(READ_AHEAD_TOTAL / Math.max(1, pairs.size))));
}

function post(message: WorkerToMain, list?: ArrayBuffer[]): void {
  port!.postMessage(message, list);
}

function flush(): void {
  flushScheduled = false;
  if (events.length === 0) return;
  const batch = events;
  const list = transfer;
  events = [];
  transfer = [];
  post({ type: 'batch', events: batch }, list);
}

function pushEvent(event: WorkerEvent, buffer?: ArrayBuffer): void {
  events.push(event);
  if (buffer) transfer.push(buffer);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

/** A transferable copy-free view when the chunk owns its whole ArrayBuffer, else a fresh copy. */
function ownBytes(chunk: Buffer): Uint8Array {
  if (chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length && !(chunk.buffer instanceof SharedArrayBuffer)) {
    return new Uint8Array(chunk.buffer as ArrayBuffer, 0, chunk.length);
  }
  const copy = new Uint8Array(chunk.length);
  copy.set(chunk);
  return copy;
}

function errorEvent(pair: WorkerPair, side: PairSide, err: unknown): void {
  const e = err as NodeJS.ErrnoException;
  pushEvent({ kind: 'error', id: pair.id, side, message: String(e?.message ?? err), errno: e?.code });
}

// -- in side ---------------------------------------------------------------

function openReader(pair: WorkerPair): void {
  const fd = fs.openSync(inodePath(pair.inAnchor, pair.inPath), O_RDONLY | O_NONBLOCK);
  const reader = new net.Socket({ fd, readable: true, writable: false });
  pair.reader = reader;
  pair.attached = false;
  reader.on('data', (chunk: Buffer) => readerOnData(pair, reader, chunk));
  reader.on('end', () => readerOnEnd(pair, reader));
  reader.on('error', (err) => readerOnError(pair, reader, err));
  if (pair.paused) reader.pause();
}

function readerOnData(pair: WorkerPair, reader: net.Socket, chunk: Buffer): void {
  if (pair.reader !== reader || pair.closed) return;
  pair.attached = true;
  const data = ownBytes(chunk);
  pair.unconsumed += data.byteLength;
  pushEvent({ kind: 'data', id: pair.id, data }, data.buffer as ArrayBuffer);
  if (!pair.paused && pair.unconsumed >= readPauseBytes) {
    pair.paused = true;
    reader.pause();
  }
}

function readerOnEnd(pair: WorkerPair, reader: net.Socket): void {
  if (pair.reader !== reader || pair.closed) return;
  pushEvent({ kind: 'eof', id: pair.id });
  reopenReader(pair);
}

function readerOnError(pair: WorkerPair, reader: net.Socket, err: Error): void {
  if (pair.reader !== reader || pair.closed) return;
  errorEvent(pair, 'in', err);
  pushEvent({ kind: 'eof', id: pair.id });
  reopenReader(pair);
}

function reopenReader(pair: WorkerPair): void {
  const old = pair.reader;
  pair.reader = undefined;
  try {
    openReader(pair); // before closing the old fd, so the new one gets another number
  } catch (err) {
    errorEvent(pair, 'in', err);
  }
  old?.destroy();
}

/** Reads whatever the pipe holds through the anchor (never blocks: O_NONBLOCK). */
function drainAnchor(fd: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (;;) {
    const buf = Buffer.allocUnsafeSlow(DRAIN_CHUNK);
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, DRAIN_CHUNK, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
  }
  return chunks;
}

function rebindIn(pair: WorkerPair, anchor: number, path: string): void {
  const oldAnchor = pair.inAnchor;
  pair.inAnchor = anchor;
  pair.inPath = path;
  if (!pair.attached) {
    // Idle reader on the old inode: take what it still holds, then move now.
    // An attached writer keeps the old reader until its EOF (then the reopen
    // uses the new anchor), so its session is not cut.
    try {
      const rest = drainAnchor(oldAnchor);
      if (rest.length > 0) {
        const data = ownBytes(Buffer.concat(rest));
        pair.unconsumed += data.byteLength;
        pushEvent({ kind: 'data', id: pair.id, data }, data.buffer as ArrayBuffer);
        pushEvent({ kind: 'eof', id: pair.id });
      }
    } catch (err) {
      errorEvent(pair, 'in', err);
    }
    reopenReader(pair);
  }
  post({ type: 'rebound', id: pair.id, side: 'in', oldAnchor });
}

// -- out side --------------------------------------------------------------

function openWriter(pair: WorkerPair): net.Socket {
  const fd = fs.openSync(inodePath(pair.outAnchor, pair.outPath), O_WRONLY | O_NONBLOCK);
  const writer = new net.Socket({ fd, readable: false, writable: true });
  writer.on('error', (err) => writerOnError(pair, writer, err));
  return writer;
}

function writerOnError(pair: WorkerPair, writer: net.Socket, err: Error): void {
  if (pair.writer !== writer || pair.closed) return;
  errorEvent(pair, 'out', err);
  // Reopen: the anchor still makes this succeed; bytes of failed writes were reported written.
  pair.writer = undefined;
  try {
    pair.writer = openWriter(pair);
  } catch (e) {
    errorEvent(pair, 'out', e);
  }
}

function write(pair: WorkerPair, data: Uint8Array): void {
  const writer = pair.writer;
  const bytes = data.byteLength;
  if (!writer || pair.closed) {
    pushEvent({ kind: 'written', id: pair.id, bytes });
    return;
  }
  writer.write(data, () => pushEvent({ kind: 'written', id: pair.id, bytes }));
}

/**
 * Moves the out side onto a recreated FIFO, carrying over what no client
 * read from the old one: stop feeding the old writer, empty the old pipe
 * through its anchor until the old writer has handed everything to the
 * kernel, then write those bytes first on the new FIFO, then the held ones.
 */
function rebindOut(pair: WorkerPair, anchor: number, path: string): void {
  const oldAnchor = pair.outAnchor;
  const old = pair.writer;
  pair.outAnchor = anchor;
  pair.outPath = path;
  pair.held = [];
  const carried: Buffer[] = [];
  const step = (): void => {
    if (pair.closed) return;
    try {
      carried.push(...drainAnchor(oldAnchor));
    } catch (err) {
      errorEvent(pair, 'out', err);
    }
    if (old && !old.destroyed && old.writableLength > 0) {
      setImmediate(step); // libuv writes more into the emptied pipe on its next turn
      return;
    }
    old?.destroy();
    try {
      pair.writer = openWriter(pair);
      if (carried.length > 0) pair.writer.write(Buffer.concat(carried));
    } catch (err) {
      pair.writer = undefined;
      errorEvent(pair, 'out', err);
    }
    const held = pair.held ?? [];
    pair.held = undefined;
    for (const data of held) write(pair, data);
    post({ type: 'rebound', id: pair.id, side: 'out', oldAnchor });
  };
  step();
}

// -- lifecycle -------------------------------------------------------------

function add(msg: Extract<MainToWorker, { type: 'add' }>): void {
  const pair: WorkerPair = {
    id: msg.id,
    inAnchor: msg.inAnchor,
    inPath: msg.inPath,
    outAnchor: msg.outAnchor,
    outPath: msg.outPath,
    reader: undefined,
    writer: undefined,
    attached: false,
    unconsumed: 0,
    paused: false,
    held: undefined,
    closed: false,
  };
  try {
    pair.writer = openWriter(pair);
    openReader(pair);
  } catch (err) {
    close(pair);
    const e = err as NodeJS.ErrnoException;
    post({ type: 'add-failed', id: msg.id, message: String(e?.message ?? err), errno: e?.code });
    return;
  }
  pairs.set(pair.id, pair);
  updateReadAhead();
  post({ type: 'added', id: pair.id });
}

function close(pair: WorkerPair): void {
  pair.closed = true;
  pair.reader?.destroy();
  pair.writer?.destroy();
  pair.reader = undefined;
  pair.writer = undefined;
  pair.held = undefined;
}

function portOnMessage(msg: MainToWorker): void {
  switch (msg.type) {
    case 'add':
      add(msg);
      return;
    case 'remove': {
      const pair = pairs.get(msg.id);
      if (pair) {
        close(pair);
        pairs.delete(msg.id);
        updateReadAhead();
      }
      flush(); // events of the pair before its 'removed'
      post({ type: 'removed', id: msg.id });
      return;
    }
    case 'write':
      for (const { buffer, runs } of msg.segments) {
        for (let i = 0; i < runs.length; i += 3) {
          const pair = pairs.get(runs[i]);
          if (!pair) continue; // removed meanwhile: the main thread dropped its accounting
          const data = new Uint8Array(buffer, runs[i + 1], runs[i + 2]);
          if (pair.held) pair.held.push(data);
          else write(pair, data);
        }
      }
      return;
    case 'consumed':
      for (const item of msg.items) {
        const pair = pairs.get(item.id);
        if (!pair) continue;
        pair.unconsumed -= item.bytes;
        if (pair.paused && pair.unconsumed < readPauseBytes / 4) {
          pair.paused = false;
          pair.reader?.resume();
        }
      }
      return;
    case 'rebind': {
      const pair = pairs.get(msg.id);
      if (!pair) {
        post({ type: 'rebound', id: msg.id, side: msg.side, oldAnchor: -1 });
        return;
      }
      if (msg.side === 'in') rebindIn(pair, msg.anchor, msg.path);
      else rebindOut(pair, msg.anchor, msg.path);
      return;
    }
    default: {
      const never: never = msg;
      throw new Error(`io-worker: unknown message ${JSON.stringify(never)}`);
    }
  }
}

port.on('message', portOnMessage);
post({ type: 'ready' });
