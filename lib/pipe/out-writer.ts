/**
 * Main-thread side of the out pipe: the message queue with its limits, the
 * batching of messages into one transfer per tick, the writer worker, and
 * the stop and rebind protocols.
 *
 * A blocked write() is freed by reading the FIFO through our non-blocking
 * anchor: at stop the bytes are dropped; at a rebind they are carried over
 * to the new FIFO, ahead of everything the worker still has to write.
 */
import * as fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { isErrno, pipeIOError, type PipeIOError } from '../errors';
import { MessageBatch } from '../framing/message-batch';
import { closeQuietly, inodePath, type FifoAnchor } from './fifo';
import { awaitExit, newControl, onWorkerCrash, spawnFifoWorker, waitReady } from './worker-handle';
import {
  Ctrl,
  IO_CHUNK,
  MAX_SPARES,
  MAX_WRITE,
  RECYCLE_MIN,
  Slot,
  type WriterCommand,
  type WriterMessage,
  type WriterWorkerData,
} from './worker-protocol';

const { O_WRONLY, O_NONBLOCK } = fs.constants;
/** Most vectors handed to one writev() (IOV_MAX is 1024 on Linux and macOS). */
const MAX_WRITEV = 512;
/** Out path: the most bytes copied into one piece for the writer, and the size of its spare buffers. */
const SEGMENT = MAX_WRITE;
/** Out path: bytes handed to the writer and not yet written, at which the main thread stops copying. */
const WRITER_AHEAD = 2 * SEGMENT;

export interface OutWriterEvents {
  onDrain(): void;
  onError(err: PipeIOError): void;
  onCrash(err: PipeIOError): void;
}

export interface OutWriterLimits {
  highWaterMark: number;
  maxQueueBytes: number;
}

export class OutWriter {
  readonly path: string;
  private anchor: FifoAnchor = { fd: -1, dev: 0, ino: 0 };
  private readonly events: OutWriterEvents;
  private readonly limits: OutWriterLimits;
  private readonly control = newControl();
  private worker: Worker | undefined;
  private readonly pending = new MessageBatch();
  private inWorker = 0;
  private flushScheduled = false;
  private needDrain = false;
  private stopping = false;
  /** Old anchors being drained into `carried` until the worker leaves them. */
  private readonly rebinds = new Map<number, { anchor: FifoAnchor; carried: Buffer[]; timer: NodeJS.Timeout }>();
  private readonly scratch = Buffer.allocUnsafe(IO_CHUNK);
  /** Buffers the writer has written out and sent back, for the next copy (RECYCLE_MIN). */
  private spares: ArrayBuffer[] = [];
  /** Main thread's own non-blocking write fd on the current inode, or -1. */
  private directFd = -1;

  constructor(path: string, events: OutWriterEvents, limits: OutWriterLimits) {
    this.path = path;
    this.events = events;
    this.limits = limits;
  }

  get identity(): FifoAnchor {
    return this.anchor;
  }

  /** Bytes accepted and not yet handed to the kernel. */
  get queuedBytes(): number {
    return this.pending.byteLength + this.inWorker;
  }

  /** Starts the worker on the FIFO `anchor` reaches; resolves once its write end is open. */
  async start(anchor: FifoAnchor): Promise<void> {
    this.anchor = anchor;
    Atomics.store(this.control.view, Slot.ANCHOR, anchor.fd);
    const workerData: WriterWorkerData = { path: this.path, control: this.control.buffer };
    const worker = spawnFifoWorker('writer-worker', workerData);
    this.worker = worker;
    worker.on('message', (m: WriterMessage) => this.workerOnMessage(m));
    onWorkerCrash(worker, 'out-pipe writer', () => this.stopping, this.events.onCrash);
    await waitReady(worker, 'out-pipe writer');
    this.openDirect();
    if (this.pending.byteLength > 0) this.flush();
  }

  /** A non-blocking write fd for the fast path (see flush()). */
  private openDirect(): void {
    closeQuietly(this.directFd);
    this.directFd = -1;
    try {
      this.directFd = fs.openSync(inodePath(this.anchor.fd, this.path), O_WRONLY | O_NONBLOCK);
    } catch {
      /* no fast path: everything goes through the worker */
    }
  }

  /**
   * Queues one message (its newline is added). Returns false once the queue
   * holds `highWaterMark` bytes or more ('drain' follows).
   */
  send(message: Uint8Array): boolean {
    const size = message.length + 1;
    if (this.queuedBytes + size > this.limits.maxQueueBytes) {
      throw pipeIOError(
        'PIPEIO_ERR_QUEUE_FULL',
        `the out-pipe queue holds ${this.queuedBytes} bytes; a ${size}-byte message would exceed maxQueueBytes (${this.limits.maxQueueBytes})`,
        { path: this.path },
      );
    }
    this.pending.add(message);
    if (!this.flushScheduled && this.worker) {
      this.flushScheduled = true;
      process.nextTick(writerFlush, this);
    }
    if (this.queuedBytes >= this.limits.highWaterMark) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /**
   * Once per tick, and whenever the writer has written a piece: pending
   * messages, newline-terminated, to the pipe. Fast path: when the worker has
   * nothing queued, the main thread first tries a non-blocking write() itself
   * (it never blocks: the kernel takes what fits in the pipe, or says EAGAIN),
   * saving a thread hop and a copy; the rest goes to the worker, in order, in
   * pieces copied while it has less than WRITER_AHEAD bytes to write. Until
   * then messages stay where they are: the queue holds the messages, not
   * copies, and every copy lands in a spare buffer the writer gave back.
   */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.byteLength === 0 || !this.worker || this.stopping) return;
    let written = 0;
    if (this.inWorker === 0 && this.directFd >= 0 && this.pending.runCount <= MAX_WRITEV) {
      const total = this.pending.byteLength;
      try {
        written = fs.writevSync(this.directFd, this.pending.views());
      } catch (err) {
        if (!isErrno(err, 'EAGAIN', 'EWOULDBLOCK')) {
          closeQuietly(this.directFd);
          this.directFd = -1;
        }
      }
      if (written === total) {
        this.pending.clear();
        this.maybeDrain();
        return;
      }
    }
    // After a direct write the worker has nothing queued, so the loop runs and skips `written`.
    while (this.pending.byteLength - written > 0 && this.inWorker < WRITER_AHEAD) {
      const size = Math.min(this.pending.byteLength - written, SEGMENT);
      const recycle = size >= RECYCLE_MIN;
      const data = this.pending.take(written, recycle ? this.spare() : undefined, SEGMENT);
      written = 0;
      this.inWorker += data.length;
      this.post({ type: 'write', data, recycle }, [data.buffer]);
    }
  }

  /** A spare segment buffer the writer gave back, else a new one. */
  private spare(): ArrayBuffer {
    return this.spares.pop() ?? (Buffer.allocUnsafeSlow(SEGMENT).buffer as ArrayBuffer); // filled by take()
  }

  private maybeDrain(): void {
    if (this.needDrain && this.queuedBytes < this.limits.highWaterMark) {
      this.needDrain = false;
      this.events.onDrain();
    }
  }

  /** Moves the worker onto a new FIFO inode, carrying unread bytes over. */
  rebind(anchor: FifoAnchor): void {
    const old = this.anchor;
    this.anchor = anchor;
    Atomics.store(this.control.view, Slot.ANCHOR, anchor.fd);
    Atomics.add(this.control.view, Slot.COUNTER, 1);
    closeQuietly(this.directFd); // reopened on the new inode once the carry-over is queued
    this.directFd = -1;
    const entry = { anchor: old, carried: [] as Buffer[], timer: setInterval(() => this.drainInto(old.fd, entry.carried), 2) };
    this.rebinds.set(old.fd, entry);
    this.drainInto(old.fd, entry.carried);
    this.post({ type: 'rebind' }); // an idle worker looks at the control block on any message
  }

  async stop(timeoutMs: number): Promise<PipeIOError | undefined> {
    this.stopping = true;
    this.pending.clear();
    let result: PipeIOError | undefined;
    const worker = this.worker;
    if (worker) {
      Atomics.store(this.control.view, Slot.CTRL, Ctrl.STOP);
      this.post({ type: 'stop' });
      const poke = (): void => {
        this.drainInto(this.anchor.fd);
        for (const r of this.rebinds.values()) this.drainInto(r.anchor.fd);
      };
      result = await awaitExit(worker, poke, 2, timeoutMs, 'out-pipe writer');
    }
    for (const r of this.rebinds.values()) {
      clearInterval(r.timer);
      closeQuietly(r.anchor.fd);
    }
    this.rebinds.clear();
    this.spares = [];
    closeQuietly(this.directFd);
    this.directFd = -1;
    closeQuietly(this.anchor.fd);
    this.anchor = { ...this.anchor, fd: -1 };
    this.inWorker = 0;
    return result;
  }

  private post(command: WriterCommand, transfer: ArrayBuffer[] = []): void {
    this.worker?.postMessage(command, transfer);
  }

  /** Reads everything buffered in a FIFO through a non-blocking anchor. */
  private drainInto(fd: number, keep?: Buffer[]): void {
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, this.scratch, 0, this.scratch.length, null);
      } catch (err) {
        if (isErrno(err, 'EAGAIN', 'EWOULDBLOCK', 'EBADF')) return;
        throw err;
      }
      if (n === 0) return;
      keep?.push(Buffer.from(this.scratch.subarray(0, n)));
    }
  }

  private workerOnMessage(m: WriterMessage): void {
    switch (m.type) {
      case 'ready':
        break;
      case 'written':
        this.inWorker -= m.bytes;
        // Only segment buffers are lent (spare()), so every one that comes back fits the next copy.
        if (m.spare && !this.stopping && this.spares.length < MAX_SPARES) this.spares.push(m.spare);
        if (this.pending.byteLength > 0 && !this.flushScheduled) this.flush();
        this.maybeDrain();
        break;
      case 'rebound': {
        const r = this.rebinds.get(m.anchor);
        if (!r) break;
        clearInterval(r.timer);
        this.rebinds.delete(m.anchor);
        this.drainInto(r.anchor.fd, r.carried);
        closeQuietly(r.anchor.fd);
        const data = new Uint8Array(Buffer.concat(r.carried));
        this.inWorker += data.length; // counted, so the fast path waits until it is written
        this.post({ type: 'carry', data }, [data.buffer]);
        if (this.rebinds.size === 0) this.openDirect();
        break;
      }
      case 'error':
        if (!this.stopping) {
          this.events.onError(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `out-pipe writer: ${m.message}`, { path: this.path }));
        }
        break;
      case 'stopped':
        break;
      default:
        throw new Error(`this should not happen: unknown writer message ${JSON.stringify(m)}`);
    }
  }

}

function writerFlush(writer: OutWriter): void {
  writer.flush();
}
