/**
 * One client connection: connect with retries, then pipelined requests.
 * Replies come back in request order (the protocol has no ids), so the
 * pending queue is FIFO; anything that could misalign it (a timed-out or
 * aborted request already written, a reply nobody asked for) destroys the
 * connection instead of guessing.
 */
import * as net from 'node:net';
import { isErrno, pipeIOError, PipeIOError } from '../errors';
import { JsonLineDecoder } from '../protocol/json-line';
import { isErrorReply, remoteError } from './error-reply';

/** A request written (or about to be) on a connection, waiting for its line. */
export interface PendingReply {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** Errno codes meaning "the server is not there (yet)": retried. */
const RETRYABLE = ['ENOENT', 'ECONNREFUSED', 'EAGAIN'];

function connectOnce(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    function socketOnConnect(): void {
      socket.removeListener('error', socketOnError);
      resolve(socket);
    }
    function socketOnError(err: Error): void {
      socket.removeListener('connect', socketOnConnect);
      socket.destroy();
      reject(err);
    }
    socket.once('connect', socketOnConnect);
    socket.once('error', socketOnError);
  });
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', delayOnAbort);
      resolve();
    }, ms);
    function delayOnAbort(): void {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener('abort', delayOnAbort, { once: true });
  });
}

/**
 * Connects to `socketPath`, retrying `retries` times with exponential backoff
 * (`backoff`, `2*backoff`, ...) on ENOENT, ECONNREFUSED and EAGAIN. Rejects with
 * `PIPEIO_ERR_CONNECTION` (cause: the last errno error) or with `signal.reason`.
 */
export async function connectWithRetry(
  socketPath: string,
  retries: number,
  backoff: number,
  signal: AbortSignal,
): Promise<net.Socket> {
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) throw signal.reason;
    try {
      const socket = await connectOnce(socketPath);
      if (signal.aborted) {
        socket.destroy();
        throw signal.reason;
      }
      return socket;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!isErrno(err, ...RETRYABLE) || attempt >= retries) {
        throw pipeIOError('PIPEIO_ERR_CONNECTION', `cannot connect to ${socketPath}: ${(err as Error).message}`, {
          path: socketPath,
          cause: err,
        });
      }
      await delay(backoff * 2 ** attempt, signal);
    }
  }
}

export class ClientConnection {
  readonly socket: net.Socket;
  private readonly pending: PendingReply[] = [];
  private readonly decoder: JsonLineDecoder;
  private readonly discardReplies: boolean;
  private failure: PipeIOError | undefined;
  /** Request lines of this tick not yet handed to the socket, and their write callbacks. */
  private out = '';
  private outCallbacks: Array<(err?: Error | null) => void> = [];
  private flushScheduled = false;
  private readonly onDead: (conn: ClientConnection) => void;
  readonly closed: Promise<void>;

  /**
   * @param discardReplies true for a notification connection: every reply is dropped.
   * @param onDead called once when the connection can no longer be used.
   */
  constructor(
    socket: net.Socket,
    maxLineLength: number,
    discardReplies: boolean,
    onDead: (conn: ClientConnection) => void,
  ) {
    this.socket = socket;
    this.discardReplies = discardReplies;
    this.onDead = onDead;
    this.decoder = new JsonLineDecoder(
      (value) => this.reply(value),
      (err) => this.replyError(err),
      { maxLineLength },
    );
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('end', () => {
      this.decoder.end();
      this.fail(pipeIOError('PIPEIO_ERR_CONNECTION', 'the server closed the connection before replying'));
    });
    socket.on('error', (err) => {
      this.fail(pipeIOError('PIPEIO_ERR_CONNECTION', `connection error: ${err.message}`, { cause: err }));
    });
    socket.on('close', () => {
      this.fail(pipeIOError('PIPEIO_ERR_CONNECTION', 'the connection closed before the reply'));
    });
  }

  /** True while requests may be written. */
  get usable(): boolean {
    return this.failure === undefined;
  }

  /** Requests written and not yet answered. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Writes one encoded line. With `waiter`, the next unclaimed reply line
   * settles it; `onWritten` is called once the bytes are handed to the OS.
   */
  write(line: string, waiter?: PendingReply, onWritten?: (err?: Error | null) => void): void {
    if (this.failure) {
      const err = this.failure;
      waiter?.reject(err);
      onWritten?.(err);
      return;
    }
    if (waiter) this.pending.push(waiter);
    this.out += line;
    if (onWritten) this.outCallbacks.push(onWritten);
    if (!this.flushScheduled) {
      // Batch every request of this tick into one write.
      this.flushScheduled = true;
      process.nextTick(flushConnection, this);
    }
  }

  /** Hands the batched lines to the socket (called once per tick). */
  flush(): void {
    this.flushScheduled = false;
    const text = this.out;
    const callbacks = this.outCallbacks;
    this.out = '';
    this.outCallbacks = [];
    if (text.length === 0) return;
    if (this.failure && this.socket.destroyed) {
      for (const cb of callbacks) cb(this.failure);
      return;
    }
    this.socket.write(text, (err) => {
      for (const cb of callbacks) cb(err);
    });
  }

  /** Ends gracefully (after pending replies arrive, if the caller waited). */
  end(): void {
    if (!this.failure) this.failure = pipeIOError('PIPEIO_ERR_CLOSED', 'the client is closed');
    this.onDead(this);
    this.flush();
    this.socket.end();
  }

  /** Closes now, failing every pending reply with `err`. */
  destroy(err: PipeIOError): void {
    this.fail(err);
    this.socket.destroy();
  }

  private reply(value: unknown): void {
    if (this.discardReplies) return;
    const waiter = this.pending.shift();
    if (!waiter) {
      this.destroy(pipeIOError('PIPEIO_ERR_CONNECTION', 'the server sent a reply nobody asked for'));
      return;
    }
    if (isErrorReply(value)) waiter.reject(remoteError(value));
    else waiter.resolve(value);
  }

  private replyError(err: PipeIOError): void {
    if (this.discardReplies) return;
    const waiter = this.pending.shift();
    if (waiter) waiter.reject(err);
    else this.destroy(err);
  }

  private fail(err: PipeIOError): void {
    if (!this.failure) this.failure = err;
    this.onDead(this);
    const waiters = this.pending.splice(0);
    for (const w of waiters) w.reject(err);
  }
}

function flushConnection(conn: ClientConnection): void {
  conn.flush();
}
