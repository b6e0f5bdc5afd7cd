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
import { closeQuietly, type FifoAnchor } from './fifo';
import { awaitExit, newControl, spawnFifoWorker, waitReady } from './worker-handle';
import { Ctrl, IO_CHUNK, Slot, type WriterCommand, type WriterMessage, type WriterWorkerData } from './worker-protocol';

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
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private inWorker = 0;
  private flushScheduled = false;
  private needDrain = false;
  private stopping = false;
  /** Old anchors being drained into `carried` until the worker leaves them. */
  private readonly rebinds = new Map<number, { anchor: FifoAnchor; carried: Buffer[]; timer: NodeJS.Timeout }>();
  private readonly scratch = Buffer.allocUnsafe(IO_CHUNK);

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
    return this.pendingBytes + this.inWorker;
  }

  /** Starts the worker on the FIFO `anchor` reaches; resolves once its write end is open. */
  async start(anchor: FifoAnchor): Promise<void> {
    this.anchor = anchor;
    Atomics.store(this.control.view, Slot.ANCHOR, anchor.fd);
    const workerData: WriterWorkerData = { path: this.path, control: this.control.buffer };
    const worker = spawnFifoWorker('writer-worker', workerData);
    this.worker = worker;
    worker.on('message', (m: WriterMessage) => this.workerOnMessage(m));
    worker.on('error', (err) => this.workerOnError(err));
    worker.on('exit', (code) => this.workerOnExit(code));
    await waitReady(worker, 'out-pipe writer');
    if (this.pendingBytes > 0) this.flush();
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
    this.pending.push(message);
    this.pendingBytes += size;
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

  /** One transfer per tick: all pending messages, newline-terminated. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pendingBytes === 0 || !this.worker || this.stopping) return;
    const data = new Uint8Array(this.pendingBytes); // never pooled: safe to transfer
    let at = 0;
    for (const m of this.pending) {
      data.set(m, at);
      at += m.length;
      data[at++] = 10;
    }
    this.inWorker += this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.post({ type: 'write', data }, [data.buffer]);
  }

  /** Moves the worker onto a new FIFO inode, carrying unread bytes over. */
  rebind(anchor: FifoAnchor): void {
    const old = this.anchor;
    this.anchor = anchor;
    Atomics.store(this.control.view, Slot.ANCHOR, anchor.fd);
    Atomics.add(this.control.view, Slot.COUNTER, 1);
    const entry = { anchor: old, carried: [] as Buffer[], timer: setInterval(() => this.drainInto(old.fd, entry.carried), 2) };
    this.rebinds.set(old.fd, entry);
    this.drainInto(old.fd, entry.carried);
    this.post({ type: 'rebind' }); // an idle worker looks at the control block on any message
  }

  async stop(timeoutMs: number): Promise<PipeIOError | undefined> {
    this.stopping = true;
    this.pending = [];
    this.pendingBytes = 0;
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
        if (this.needDrain && this.queuedBytes < this.limits.highWaterMark) {
          this.needDrain = false;
          this.events.onDrain();
        }
        break;
      case 'rebound': {
        const r = this.rebinds.get(m.anchor);
        if (!r) break;
        clearInterval(r.timer);
        this.rebinds.delete(m.anchor);
        this.drainInto(r.anchor.fd, r.carried);
        closeQuietly(r.anchor.fd);
        const data = new Uint8Array(Buffer.concat(r.carried));
        this.post({ type: 'carry', data }, [data.buffer]);
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

  private workerOnError(err: Error): void {
    this.events.onCrash(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `out-pipe writer worker failed: ${err.message}`, { cause: err }));
  }

  private workerOnExit(code: number): void {
    if (!this.stopping) {
      this.events.onCrash(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `out-pipe writer worker exited unexpectedly (code ${code})`));
    }
  }
}

function writerFlush(writer: OutWriter): void {
  writer.flush();
}
