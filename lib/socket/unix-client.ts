/**
 * UnixClient: the client side of the JSON-line protocol (codechu-ipc's
 * UnixClient, plus a persistent pipelined connection). Requests share one
 * connection and are answered in order; notifications travel on a second
 * connection whose replies are ignored, so a server that answers a
 * notification can never shift the request/reply pairing.
 */
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { pipeIOError, PipeIOError } from '../errors';
import { DEFAULT_JSON_MAX_LINE_LENGTH, jsonLineText } from '../protocol/json-line';
import { ClientConnection, connectWithRetry, PendingReply } from './client-connection';
import { checkSocketPath } from './socket-path';

export interface UnixClientOptions {
  /** Per-request deadline in milliseconds, connecting and retries included. @default 5000 */
  timeout?: number;
  /** Extra connect attempts on ENOENT, ECONNREFUSED, EAGAIN. @default 3 */
  retries?: number;
  /** Delay before the first retry in milliseconds; doubles at each retry. @default 500 */
  retryBackoff?: number;
  /** Longest reply line in bytes. @default 16777216 (16 MiB) */
  maxLineLength?: number;
}

export interface RequestOptions {
  /** Overrides the client's `timeout` for this request (milliseconds). */
  timeout?: number;
  /** Cancels the request (`PIPEIO_ERR_ABORTED`). */
  signal?: AbortSignal;
}

export interface UnixClientEvents {
  /** close()/destroy() finished. */
  close: [];
}

export type UnixClientState = 'open' | 'closing' | 'closed';

function emitClose(client: UnixClient): void {
  if (client.closeEmitted) return;
  client.closeEmitted = true;
  client.emit('close');
}

function checkMs(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number of milliseconds`);
  return value;
}

export class UnixClient extends EventEmitter<UnixClientEvents> {
  /** The server's socket path. */
  readonly path: string;
  private readonly timeout: number;
  private readonly retries: number;
  private readonly retryBackoff: number;
  private readonly maxLineLength: number;
  private readonly lifetime = new AbortController();
  /** @internal Requests not yet settled. */
  inflight = 0;
  /** @internal Called when inflight drops to 0 during close(). */
  drained: (() => void) | undefined;
  private requestConn: Promise<ClientConnection> | undefined;
  private notifyConn: Promise<ClientConnection> | undefined;
  private readonly live = new Set<ClientConnection>();
  /** The established request connection, for the synchronous fast path. */
  private readyConn: ClientConnection | undefined;
  private stateValue: UnixClientState = 'open';
  private closePromise: Promise<void> | undefined;
  /** @internal */
  closeEmitted = false;

  /**
   * Nothing connects until the first request.
   * @throws TypeError/RangeError for bad arguments; PipeIOError `PIPEIO_ERR_SOCKET_PATH_TOO_LONG`.
   */
  constructor(socketPath: string, options: UnixClientOptions = {}) {
    super();
    checkSocketPath(socketPath);
    this.path = path.resolve(socketPath);
    this.timeout = checkMs('options.timeout', options.timeout ?? 5000);
    this.retryBackoff = checkMs('options.retryBackoff', options.retryBackoff ?? 500);
    const retries = options.retries ?? 3;
    if (!Number.isInteger(retries) || retries < 0) throw new RangeError('options.retries must be a non-negative integer');
    this.retries = retries;
    const max = options.maxLineLength ?? DEFAULT_JSON_MAX_LINE_LENGTH;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('options.maxLineLength must be a positive integer');
    this.maxLineLength = max;
  }

  /** Current lifecycle state. */
  get state(): UnixClientState {
    return this.stateValue;
  }

  /**
   * Sends `payload` and resolves with the reply. Rejects with
   * `PIPEIO_ERR_REMOTE` (the server answered `{"error","type"}`; `cause.name`
   * is the type), `PIPEIO_ERR_TIMEOUT`, `PIPEIO_ERR_ABORTED`,
   * `PIPEIO_ERR_CONNECTION`, `PIPEIO_ERR_CLOSED`, `PIPEIO_ERR_INVALID_JSON`,
   * `PIPEIO_ERR_LINE_TOO_LONG`, or a TypeError if `payload` is not JSON.
   * A request that times out or is aborted after being written closes the
   * connection, so its late reply can never be taken for another's; requests
   * pipelined behind it fail with `PIPEIO_ERR_CONNECTION`.
   */
  request(payload: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (this.stateValue !== 'open') return Promise.reject(pipeIOError('PIPEIO_ERR_CLOSED', 'the client is closed'));
    let line: string;
    let timeout: number;
    try {
      line = jsonLineText(payload);
      timeout = checkMs('options.timeout', options.timeout ?? this.timeout);
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = options.signal;
    if (signal?.aborted) {
      return Promise.reject(pipeIOError('PIPEIO_ERR_ABORTED', 'the request was aborted', { cause: signal.reason }));
    }
    this.inflight++;
    const client = this;
    return new Promise<unknown>((resolve, reject) => {
      let conn: ClientConnection | undefined;
      let settled = false;
      const waiter: PendingReply = {
        resolve: (value) => finish(undefined, value),
        reject: (err) => finish(err),
      };
      const timer = setTimeout(() => cancel(pipeIOError('PIPEIO_ERR_TIMEOUT', `no reply within ${timeout} ms`)), timeout);
      function requestOnAbort(): void {
        cancel(pipeIOError('PIPEIO_ERR_ABORTED', 'the request was aborted', { cause: signal?.reason }));
      }
      signal?.addEventListener('abort', requestOnAbort, { once: true });
      function finish(err: Error | undefined, value?: unknown): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (--client.inflight === 0 && client.drained) client.drained();
        signal?.removeEventListener('abort', requestOnAbort);
        if (err) reject(err);
        else resolve(value);
      }
      function cancel(err: PipeIOError): void {
        if (settled) return;
        finish(err);
        // Written already: its reply may still come, so this connection's pairing is lost.
        conn?.destroy(pipeIOError('PIPEIO_ERR_CONNECTION', `connection dropped: an earlier request failed (${err.code})`, { cause: err }));
      }
      const ready = this.readyConn;
      if (ready?.usable) {
        conn = ready;
        ready.write(line, waiter);
        return;
      }
      this.connection('request').then(
        (c) => {
          if (settled) return;
          conn = c;
          c.write(line, waiter);
        },
        (err: Error) => finish(err),
      );
    });
  }

  /**
   * Sends `payload` expecting no reply; resolves once written to the socket.
   * Uses its own connection, whose replies (if the server sends any) are ignored.
   */
  async notify(payload: unknown): Promise<void> {
    if (this.stateValue !== 'open') throw pipeIOError('PIPEIO_ERR_CLOSED', 'the client is closed');
    const line = jsonLineText(payload);
    const conn = await this.connection('notify');
    await new Promise<void>((resolve, reject) => {
      conn.write(line, undefined, (err) => {
        if (err) {
          reject(
            err instanceof PipeIOError
              ? err
              : pipeIOError('PIPEIO_ERR_CONNECTION', `notify failed: ${err.message}`, { cause: err }),
          );
        } else resolve();
      });
    });
  }

  private connection(kind: 'request' | 'notify'): Promise<ClientConnection> {
    const cached = kind === 'request' ? this.requestConn : this.notifyConn;
    if (cached) return cached;
    const created = connectWithRetry(this.path, this.retries, this.retryBackoff, this.lifetime.signal).then(
      (socket) => {
        const conn = new ClientConnection(socket, this.maxLineLength, kind === 'notify', (dead) => this.forget(kind, dead, created));
        this.live.add(conn);
        void conn.closed.then(() => this.live.delete(conn));
        if (this.stateValue === 'closed') conn.destroy(pipeIOError('PIPEIO_ERR_CLOSED', 'the client is closed'));
        else if (kind === 'request' && this.requestConn === created) this.readyConn = conn;
        return conn;
      },
      (err: unknown) => {
        this.forget(kind, undefined, created);
        if (this.lifetime.signal.aborted) throw pipeIOError('PIPEIO_ERR_CLOSED', 'the client is closed');
        throw err;
      },
    );
    if (kind === 'request') this.requestConn = created;
    else this.notifyConn = created;
    return created;
  }

  private forget(kind: 'request' | 'notify', conn: ClientConnection | undefined, p: Promise<ClientConnection>): void {
    if (conn !== undefined && this.readyConn === conn) this.readyConn = undefined;
    if (kind === 'request' && this.requestConn === p) this.requestConn = undefined;
    if (kind === 'notify' && this.notifyConn === p) this.notifyConn = undefined;
  }

  /**
   * Graceful: refuses new requests, waits for in-flight ones (each bounded by
   * its own timeout), then ends the connections. Idempotent (one shared promise).
   */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.stateValue = 'closing';
    this.closePromise = (async () => {
      if (this.inflight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.lifetime.abort();
      for (const conn of this.live) conn.end();
      await Promise.all([...this.live].map((c) => c.closed));
      this.stateValue = 'closed';
      process.nextTick(emitClose, this);
    })();
    return this.closePromise;
  }

  /** Immediate: fails every pending request with `PIPEIO_ERR_CLOSED` and closes the connections. */
  destroy(): Promise<void> {
    if (this.stateValue === 'closed') return this.closePromise ?? Promise.resolve();
    this.stateValue = 'closed';
    this.lifetime.abort();
    const err = pipeIOError('PIPEIO_ERR_CLOSED', 'the client was destroyed');
    for (const conn of this.live) conn.destroy(err);
    const done = Promise.all([...this.live].map((c) => c.closed)).then(() => {
      process.nextTick(emitClose, this);
    });
    if (!this.closePromise) this.closePromise = done;
    return done;
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
