/**
 * Main-thread side of the in pipe: owns the anchor fd(s), the reader worker
 * and the line splitter; turns chunks into messages; runs the stop and
 * rebind protocols.
 *
 * stop():
 *   main                          reader worker (in open() or read())
 *   CTRL = STOP
 *   open(anchor, O_WRONLY|NB) ──▶ open() returns (a writer exists)
 *   write(token)  (atomic)   ──▶ read() ... finds token: posts what precedes
 *                            ◀── 'stopped'; exits
 *   close token fd, anchors
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { pipeIOError, isErrno, type PipeIOError } from '../errors';
import { LineSplitter } from '../framing/line-splitter';
import { closeQuietly, inodePath, type FifoAnchor } from './fifo';
import { awaitExit, newControl, onWorkerCrash, spawnFifoWorker, waitReady } from './worker-handle';
import { Ctrl, Phase, Slot, TOKEN_LENGTH, type ReaderMessage, type ReaderWorkerData } from './worker-protocol';

const { O_WRONLY, O_NONBLOCK } = fs.constants;

export interface InReaderEvents {
  onLine(line: Buffer): void;
  /** Whether complete lines should go to {@link onBatch} rather than one by one to onLine. */
  wantsBatches(): boolean;
  /** Complete lines, each ending with `\n`, none longer than maxMessageSize. */
  onBatch(lines: Buffer): void;
  onOverflow(length: number): void;
  onConnect(): void;
  onDisconnect(): void;
  onError(err: PipeIOError): void;
  /** The worker died without being asked to stop. */
  onCrash(err: PipeIOError): void;
}

export class InReader {
  readonly path: string;
  private anchor: FifoAnchor = { fd: -1, dev: 0, ino: 0 };
  /** Anchors of inodes the worker may still be on (after a rebind). */
  private readonly oldAnchors = new Map<number, FifoAnchor>();
  private readonly events: InReaderEvents;
  private readonly splitter: LineSplitter;
  private readonly control = newControl();
  private readonly token = makeToken();
  private worker: Worker | undefined;
  private connected = false;
  /** Chunks (and EOF marks, as null) received and not yet split into messages. */
  private readonly pending: Array<Buffer | null> = [];
  /** Milliseconds spent splitting since the last setImmediate hop. */
  private spent = 0;
  private deferred = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  private readonly maxMessageSize: number;

  constructor(path: string, events: InReaderEvents, maxMessageSize: number) {
    this.path = path;
    this.maxMessageSize = maxMessageSize;
    this.events = events;
    this.splitter = new LineSplitter(events.onLine, events.onOverflow, { maxLineLength: maxMessageSize });
  }

  get identity(): FifoAnchor {
    return this.anchor;
  }

  /** Starts the worker on the FIFO `anchor` reaches; resolves once it is about to open it. */
  async start(anchor: FifoAnchor): Promise<void> {
    this.anchor = anchor;
    Atomics.store(this.control.view, Slot.ANCHOR, anchor.fd);
    const workerData: ReaderWorkerData = {
      path: this.path,
      control: this.control.buffer,
      stopToken: this.token,
      maxMessageSize: this.maxMessageSize,
    };
    const worker = spawnFifoWorker('reader-worker', workerData);
    this.worker = worker;
    worker.on('message', (m: ReaderMessage) => this.workerOnMessage(m));
    onWorkerCrash(worker, 'in-pipe reader', () => this.stopping, this.events.onCrash);
    await waitReady(worker, 'in-pipe reader');
  }

  /**
   * Moves the worker onto a new FIFO inode at the next writer boundary. If it
   * is waiting in open() on the old inode, a writer that opens and closes at
   * once wakes it, it sees EOF and reopens through the new anchor.
   */
  rebind(anchor: FifoAnchor): void {
    const old = this.anchor;
    this.oldAnchors.set(old.fd, old);
    this.anchor = anchor;
    Atomics.store(this.control.view, Slot.ANCHOR, anchor.fd);
    Atomics.notify(this.control.view, Slot.ANCHOR);
    this.wakeOldInodes();
    // The worker may have read the old anchor just before the swap and not be
    // in open() yet: keep waking until it has left every old inode.
    if (!this.wakeTimer) {
      this.wakeTimer = setInterval(() => this.wakeOldInodes(), 10);
      this.wakeTimer.unref();
    }
  }

  private wakeOldInodes(): void {
    if (this.oldAnchors.size === 0 || this.stopping) {
      clearInterval(this.wakeTimer);
      this.wakeTimer = undefined;
      return;
    }
    if (Atomics.load(this.control.view, Slot.PHASE) !== Phase.OPENING) return;
    for (const old of this.oldAnchors.values()) {
      try {
        closeQuietly(fs.openSync(inodePath(old.fd, this.path), O_WRONLY | O_NONBLOCK));
      } catch {
        /* no reader left there */
      }
    }
  }

  /** Stops the worker without losing or inventing a message. */
  async stop(timeoutMs: number): Promise<PipeIOError | undefined> {
    this.stopping = true;
    clearInterval(this.wakeTimer);
    const worker = this.worker;
    let result: PipeIOError | undefined;
    if (worker) {
      Atomics.store(this.control.view, Slot.CTRL, Ctrl.STOP);
      Atomics.notify(this.control.view, Slot.COUNTER);
      const wakers = new Map<number, { fd: number; sent: boolean }>();
      const poke = (): void => {
        // The token goes to every inode the worker may be on.
        for (const a of [this.anchor, ...this.oldAnchors.values()]) {
          let w = wakers.get(a.fd);
          if (!w) {
            try {
              w = { fd: fs.openSync(inodePath(a.fd, this.path), O_WRONLY | O_NONBLOCK), sent: false };
            } catch {
              continue;
            }
            wakers.set(a.fd, w);
          }
          if (w.sent) continue;
          try {
            w.sent = fs.writeSync(w.fd, this.token) === TOKEN_LENGTH;
          } catch (err) {
            if (!isErrno(err, 'EAGAIN')) w.sent = true; // nothing more to do on this inode
          }
        }
      };
      result = await awaitExit(worker, poke, 2, timeoutMs, 'in-pipe reader');
      for (const w of wakers.values()) closeQuietly(w.fd);
    }
    this.drainPending(Infinity); // what arrived before the token (at most a few chunks)
    this.splitter.discard();
    closeQuietly(this.anchor.fd);
    this.anchor = { ...this.anchor, fd: -1 };
    for (const a of this.oldAnchors.values()) closeQuietly(a.fd);
    this.oldAnchors.clear();
    return result;
  }

  private workerOnMessage(m: ReaderMessage): void {
    switch (m.type) {
      case 'ready':
        break;
      case 'data':
        this.pending.push(Buffer.from(m.buffer, 0, m.length));
        if (!this.deferred) this.drainPending();
        break;
      case 'eof': {
        this.pending.push(null);
        if (!this.deferred) this.drainPending();
        const old = this.oldAnchors.get(m.anchor);
        if (old && m.anchor !== this.anchor.fd) {
          this.oldAnchors.delete(m.anchor);
          closeQuietly(old.fd);
        }
        break;
      }
      case 'error':
        if (!this.stopping) {
          this.events.onError(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `in-pipe reader: ${m.message}`, { path: this.path }));
        }
        break;
      case 'stopped':
        break;
      default:
        throw new Error(`this should not happen: unknown reader message ${JSON.stringify(m)}`);
    }
  }

  /**
   * Splits pending chunks into messages, yielding to the event loop (one
   * setImmediate hop) after every SLICE_MS of work: a MessagePort delivers
   * all queued messages in one go, and a client streaming without pause would
   * otherwise hold timers and I/O off for as long as it streams.
   */
  private drainPending(budget = SLICE_MS): void {
    while (this.pending.length > 0) {
      if (this.spent > budget) {
        this.deferred = true;
        setImmediate(readerOnSlice, this);
        return;
      }
      const started = performance.now();
      const chunk = this.pending.shift() as Buffer | null;
      if (chunk === null) {
        this.splitter.end();
        if (this.connected) {
          this.connected = false;
          this.events.onDisconnect();
        }
      } else {
        Atomics.sub(this.control.view, Slot.COUNTER, 1);
        Atomics.notify(this.control.view, Slot.COUNTER);
        if (!this.connected) {
          this.connected = true;
          this.events.onConnect();
        }
        // A chunk of whole lines (the worker hands over whole lines when it can) needs no
        // splitting for a batch handler: at most maxMessageSize + 1 bytes means no line is too long.
        if (
          this.events.wantsBatches() &&
          this.splitter.idle &&
          chunk[chunk.length - 1] === 10 &&
          chunk.length <= this.maxMessageSize + 1
        ) {
          this.events.onBatch(chunk);
        } else {
          this.splitter.push(chunk);
        }
      }
      this.spent += performance.now() - started;
    }
  }

  /** @internal the setImmediate continuation of {@link drainPending}. */
  resumeSlice(): void {
    this.deferred = false;
    this.spent = 0;
    this.drainPending();
  }

}

/** Longest run of message handling before the reader yields to the event loop. */
const SLICE_MS = 4;

function readerOnSlice(reader: InReader): void {
  reader.resumeSlice();
}

/** 16 random bytes, none of them `\n`, so the token never ends a line. */
function makeToken(): Uint8Array {
  const token = randomBytes(TOKEN_LENGTH);
  for (let i = 0; i < token.length; i++) if (token[i] === 10) token[i] = 11;
  return new Uint8Array(token);
}
