/**
 * FifoChannel: a one-way JSON-line channel over one named pipe (codechu-ipc's
 * FifoChannel), any number of senders, one receiver.
 *
 *   send():  open(O_WRONLY|O_NONBLOCK)  -- ENXIO: nobody reads -> PIPEIO_ERR_NO_READER at once
 *            write the line (a full pipe is finished through epoll, bounded by the timeout)
 *            close
 *   recv():  first call: open(O_RDONLY|O_NONBLOCK) read end, read through a libuv
 *            pipe handle (epoll; no thread, no libuv pool) + keep-alive write end,
 *            so writers may come and go without EOF; an EOF anyway reopens
 *            every decoded line is queued: nothing already read is ever lost
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { isErrno, pipeIOError, PipeIOError } from '../errors';
import { closeQuietly, createFifo, lstatOrUndefined, openAnchor, removeFifo } from '../pipe/fifo';
import { DEFAULT_JSON_MAX_LINE_LENGTH, encodeJsonLine, JsonLineDecoder } from '../protocol/json-line';
import { ensurePrivateDir } from '../socket/socket-path';

const { O_WRONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;

export interface FifoChannelOptions {
  /** Permission bits of a FIFO this channel creates. @default 0o600 */
  mode?: number;
  /** Default deadline of send() for writing into a full pipe, in milliseconds. @default 5000 */
  sendTimeout?: number;
  /** Longest received line in bytes; longer ones are skipped. @default 16777216 (16 MiB) */
  maxLineLength?: number;
  /** Received messages buffered before reading pauses (backpressure). @default 1024 */
  highWaterMark?: number;
  /** Remove the FIFO on close() if this channel created it. @default false */
  removeOnClose?: boolean;
}

export interface ChannelWaitOptions {
  /** Deadline in milliseconds (`PIPEIO_ERR_TIMEOUT`); recv() defaults to none. */
  timeout?: number;
  /** Cancels the wait (`PIPEIO_ERR_ABORTED`). */
  signal?: AbortSignal;
}

export interface FifoChannelEvents {
  /** A received line was not valid JSON, or too long; it was skipped. Only emitted if listened to. */
  error: [err: PipeIOError];
  /** close() finished. */
  close: [];
}

interface Waiter {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

function emitClose(channel: FifoChannel): void {
  channel.emit('close');
}

export class FifoChannel extends EventEmitter<FifoChannelEvents> {
  /** Absolute path of the FIFO. */
  readonly path: string;
  private readonly mode: number;
  private readonly sendTimeout: number;
  private readonly highWaterMark: number;
  private readonly removeOnClose: boolean;
  private readonly decoder: JsonLineDecoder;
  private readonly queue: unknown[] = [];
  private readonly waiters: Waiter[] = [];
  private created: { dev: number; ino: number } | undefined;
  private readyPromise: Promise<void> | undefined;
  private reader: net.Socket | undefined;
  private keepAliveFd: number | undefined;
  private sendChain: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** @throws TypeError/RangeError for bad arguments. Nothing is opened until first use. */
  constructor(fifoPath: string, options: FifoChannelOptions = {}) {
    super();
    if (typeof fifoPath !== 'string' || fifoPath.length === 0) throw new TypeError('fifoPath must be a non-empty string');
    const mode = options.mode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new RangeError('options.mode must be within 0..0o777');
    const sendTimeout = options.sendTimeout ?? 5000;
    if (!Number.isFinite(sendTimeout) || sendTimeout < 0) throw new RangeError('options.sendTimeout must be >= 0 ms');
    const hwm = options.highWaterMark ?? 1024;
    if (!Number.isInteger(hwm) || hwm < 1) throw new RangeError('options.highWaterMark must be a positive integer');
    this.path = path.resolve(fifoPath);
    this.mode = mode;
    this.sendTimeout = sendTimeout;
    this.highWaterMark = hwm;
    this.removeOnClose = options.removeOnClose ?? false;
    this.decoder = new JsonLineDecoder(
      (value) => this.deliver(value),
      (err) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
      },
      { maxLineLength: options.maxLineLength ?? DEFAULT_JSON_MAX_LINE_LENGTH },
    );
  }

  /**
   * Creates the FIFO if missing (owner-only parents, exact `mode`); refuses a
   * non-FIFO with `PIPEIO_ERR_NOT_A_FIFO`. Called implicitly by send/recv.
   */
  open(): Promise<void> {
    if (this.closed) return Promise.reject(pipeIOError('PIPEIO_ERR_CLOSED', 'the channel is closed'));
    this.readyPromise ??= this.ensureFifo().catch((err: unknown) => {
      this.readyPromise = undefined;
      throw err;
    });
    return this.readyPromise;
  }

  private async ensureFifo(): Promise<void> {
    const st = lstatOrUndefined(this.path);
    if (st) {
      if (!st.isFIFO()) {
        throw pipeIOError('PIPEIO_ERR_NOT_A_FIFO', `${this.path} exists and is not a FIFO`, { path: this.path });
      }
      return;
    }
    ensurePrivateDir(path.dirname(this.path));
    const anchor = await createFifo(this.path, this.mode);
    closeQuietly(anchor.fd);
    this.created = { dev: anchor.dev, ino: anchor.ino };
  }

  /**
   * Sends one value as a JSON line. Never hangs: rejects at once with
   * `PIPEIO_ERR_NO_READER` if nobody has the FIFO open for reading, and with
   * `PIPEIO_ERR_TIMEOUT` if a full pipe does not drain in time. Sends of one
   * channel are written in order. Lines up to PIPE_BUF (4096 bytes on Linux)
   * never interleave with other writers' lines.
   */
  send(value: unknown, options: ChannelWaitOptions = {}): Promise<void> {
    let line: Buffer;
    try {
      line = encodeJsonLine(value);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = (): Promise<void> => this.sendLine(line, options);
    const p = this.sendChain.then(run, run);
    this.sendChain = p.catch(() => undefined);
    return p;
  }

  private async sendLine(line: Buffer, options: ChannelWaitOptions): Promise<void> {
    await this.open();
    if (options.signal?.aborted) throw pipeIOError('PIPEIO_ERR_ABORTED', 'send was aborted', { cause: options.signal.reason });
    let fd: number;
    try {
      fd = fs.openSync(this.path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
    } catch (err) {
      throw this.openError(err);
    }
    let offset = 0;
    try {
      if (!fs.fstatSync(fd).isFIFO()) {
        throw pipeIOError('PIPEIO_ERR_NOT_A_FIFO', `${this.path} is not a FIFO`, { path: this.path });
      }
      while (offset < line.length) offset += fs.writeSync(fd, line, offset);
    } catch (err) {
      if (!isErrno(err, 'EAGAIN')) {
        closeQuietly(fd);
        if (isErrno(err, 'EPIPE')) {
          throw pipeIOError('PIPEIO_ERR_NO_READER', `the reader of ${this.path} went away`, { path: this.path, cause: err });
        }
        throw err;
      }
      // The pipe is full: finish through a libuv pipe handle (epoll), with a deadline.
      await this.writeRest(fd, line.subarray(offset), options);
      return;
    }
    closeQuietly(fd);
  }

  private writeRest(fd: number, rest: Buffer, options: ChannelWaitOptions): Promise<void> {
    const timeout = options.timeout ?? this.sendTimeout;
    const signal = options.signal;
    const file = this.path;
    return new Promise((resolve, reject) => {
      const sock = new net.Socket({ fd, readable: false, writable: true });
      const timer = setTimeout(() => fail(pipeIOError('PIPEIO_ERR_TIMEOUT', `send to ${file} did not drain within ${timeout} ms`, { path: file })), timeout);
      function sendOnAbort(): void {
        fail(pipeIOError('PIPEIO_ERR_ABORTED', 'send was aborted', { cause: signal?.reason }));
      }
      signal?.addEventListener('abort', sendOnAbort, { once: true });
      function fail(err: Error): void {
        cleanup();
        sock.destroy();
        reject(err);
      }
      function cleanup(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', sendOnAbort);
      }
      sock.on('error', (err) => {
        fail(
          isErrno(err, 'EPIPE')
            ? pipeIOError('PIPEIO_ERR_NO_READER', `the reader of ${file} went away`, { path: file, cause: err })
            : err,
        );
      });
      sock.end(rest, () => {
        cleanup();
        sock.destroy();
        resolve();
      });
    });
  }

  private openError(err: unknown): Error {
    if (isErrno(err, 'ENXIO')) {
      return pipeIOError('PIPEIO_ERR_NO_READER', `nobody reads ${this.path}`, { path: this.path, cause: err });
    }
    if (isErrno(err, 'ENOENT')) return pipeIOError('PIPEIO_ERR_PIPE_MISSING', `no FIFO at ${this.path}`, { path: this.path, cause: err });
    if (isErrno(err, 'ELOOP', 'EMLINK')) {
      return pipeIOError('PIPEIO_ERR_NOT_A_FIFO', `${this.path} is a symbolic link (never followed)`, { path: this.path, cause: err });
    }
    if (isErrno(err, 'EACCES', 'EPERM')) {
      return pipeIOError('PIPEIO_ERR_PERMISSION', `permission denied on ${this.path}`, { path: this.path, cause: err });
    }
    return err as Error;
  }

  /**
   * Resolves with the next received value. The first call starts reading;
   * from then on every line read is queued, so nothing already read is lost.
   * Rejects with `PIPEIO_ERR_CLOSED` on close(), `PIPEIO_ERR_TIMEOUT`, `PIPEIO_ERR_ABORTED`.
   */
  async recv(options: ChannelWaitOptions = {}): Promise<unknown> {
    if (this.closed) throw pipeIOError('PIPEIO_ERR_CLOSED', 'the channel is closed');
    await this.listen();
    if (this.queue.length > 0) {
      const value = this.queue.shift();
      this.maybeResume();
      return value;
    }
    if (this.closed) throw pipeIOError('PIPEIO_ERR_CLOSED', 'the channel is closed');
    if (options.signal?.aborted) throw pipeIOError('PIPEIO_ERR_ABORTED', 'recv was aborted', { cause: options.signal.reason });
    return new Promise<unknown>((resolve, reject) => {
      const { timeout, signal } = options;
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        resolve: (value) => {
          done();
          resolve(value);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      const remove = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
      };
      function recvOnAbort(): void {
        remove();
        waiter.reject(pipeIOError('PIPEIO_ERR_ABORTED', 'recv was aborted', { cause: signal?.reason }));
      }
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', recvOnAbort);
      }
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          remove();
          waiter.reject(pipeIOError('PIPEIO_ERR_TIMEOUT', `no message within ${timeout} ms`));
        }, timeout);
      }
      signal?.addEventListener('abort', recvOnAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Yields received values until the channel is closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<unknown, void, undefined> {
    for (;;) {
      let value: unknown;
      try {
        value = await this.recv();
      } catch (err) {
        if (err instanceof PipeIOError && err.code === 'PIPEIO_ERR_CLOSED') return;
        throw err;
      }
      yield value;
    }
  }

  /** Messages received and not yet taken by recv(). */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Opens the read end and starts queueing messages (recv() does it on first
   * call). Once it resolves, senders no longer get `PIPEIO_ERR_NO_READER`.
   */
  async listen(): Promise<void> {
    await this.open();
    if (this.closed) throw pipeIOError('PIPEIO_ERR_CLOSED', 'the channel is closed');
    if (!this.reader) this.attachReader();
  }

  private attachReader(): void {
    const anchor = openAnchor(this.path); // O_RDONLY|O_NONBLOCK|O_NOFOLLOW, checked to be a FIFO
    if (this.keepAliveFd === undefined) {
      try {
        // We are a reader now, so this cannot fail with ENXIO; holding a write end
        // means writers that come and go never make us see EOF.
        this.keepAliveFd = fs.openSync(`/proc/self/fd/${anchor.fd}`, O_WRONLY | O_NONBLOCK);
      } catch {
        try {
          this.keepAliveFd = fs.openSync(this.path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
        } catch {
          /* best effort: EOF is handled by reopening */
        }
      }
    }
    const sock = new net.Socket({ fd: anchor.fd, readable: true, writable: false });
    this.reader = sock;
    sock.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    sock.on('error', () => undefined); // 'close' follows; reopened there unless closing
    sock.on('end', () => {
      this.decoder.end();
      // Every writer went away (no keep-alive end): reopen, keeping the queue.
      sock.destroy();
    });
    sock.on('close', () => {
      if (this.reader === sock) this.reader = undefined;
      if (!this.closed) {
        try {
          this.attachReader();
        } catch (err) {
          this.failWaiters(err instanceof Error ? err : new Error(String(err)));
        }
      }
    });
  }

  private deliver(value: unknown): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(value);
      return;
    }
    this.queue.push(value);
    if (this.queue.length >= this.highWaterMark) this.reader?.pause();
  }

  private maybeResume(): void {
    if (this.reader?.isPaused() && this.queue.length < this.highWaterMark / 2) this.reader.resume();
  }

  private failWaiters(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /**
   * Stops reading, fails pending recv() with `PIPEIO_ERR_CLOSED`, closes the
   * fds; removes the FIFO if `removeOnClose` and this channel created it.
   * Queued but untaken messages are dropped. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failWaiters(pipeIOError('PIPEIO_ERR_CLOSED', 'the channel is closed'));
    const reader = this.reader;
    this.reader = undefined;
    if (reader) {
      const gone = new Promise<void>((resolve) => reader.once('close', () => resolve()));
      reader.destroy();
      await gone;
    }
    closeQuietly(this.keepAliveFd);
    this.keepAliveFd = undefined;
    await this.sendChain;
    if (this.removeOnClose && this.created) removeFifo(this.path, this.created);
    process.nextTick(emitClose, this);
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
