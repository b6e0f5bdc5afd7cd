/**
 * UnixServer: a JSON-line request/response server on a Unix socket,
 * wire-compatible with codechu-ipc's UnixServer. One JSON request per line,
 * zero or one JSON reply line each, replies in request order, many requests
 * per connection, many connections at once.
 *
 *   start():  check path length -> mkdir parents 0700 -> probe the path
 *             (missing | stale -> unlink | live -> ADDRESS_IN_USE | not a socket -> NOT_A_SOCKET)
 *             -> bind privately with `mode` -> 'listening'
 *   stop():   stop accepting -> each connection: stop reading, write pending
 *             replies, end -> after closeTimeout, destroy the rest
 *             -> unlink our socket file -> 'close'
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as path from 'node:path';
import { pipeIOError } from '../errors';
import { DEFAULT_JSON_MAX_LINE_LENGTH } from '../protocol/json-line';
import { bindUnixSocket } from './bind-unix';
import { JsonLineHandler, ServerConnection } from './server-connection';
import { removeSocketIfSame } from './socket-path';

export type { JsonLineHandler } from './server-connection';

export interface UnixServerOptions {
  /** Permission bits of the socket file, set with no wider window. @default 0o600 */
  mode?: number;
  /** listen(2) backlog. @default 511 (Node's default) */
  backlog?: number;
  /** Longest request line in bytes; longer ones get an error reply. @default 16777216 (16 MiB) */
  maxLineLength?: number;
  /** Milliseconds stop() waits for pending replies before destroying connections. @default 5000 */
  closeTimeout?: number;
}

export interface UnixServerEvents {
  /** The socket is bound and accepting. */
  listening: [];
  /** A client connected. */
  connection: [socket: net.Socket];
  /** An unexpected error of the listening socket (not of a request). */
  error: [err: Error];
  /** stop() finished: every connection closed, the socket file removed. */
  close: [];
}

export type UnixServerState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

function emitClose(server: UnixServer): void {
  server.emit('close');
}

export class UnixServer extends EventEmitter<UnixServerEvents> {
  /** The socket path. */
  readonly path: string;
  private readonly handler: JsonLineHandler;
  private readonly mode: number;
  private readonly backlog: number | undefined;
  private readonly maxLineLength: number;
  private readonly closeTimeout: number;
  private readonly connections = new Set<ServerConnection>();
  private server: net.Server | undefined;
  private identity: { dev: number; ino: number } | undefined;
  private stateValue: UnixServerState = 'idle';
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;

  /**
   * @param socketPath Where to bind; at most 107 bytes on Linux, 103 on macOS.
   * @param handler Called with each decoded request; see {@link JsonLineHandler}.
   * @throws TypeError/RangeError for bad arguments.
   */
  constructor(socketPath: string, handler: JsonLineHandler, options: UnixServerOptions = {}) {
    super();
    if (typeof socketPath !== 'string' || socketPath.length === 0) {
      throw new TypeError('socketPath must be a non-empty string');
    }
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const mode = options.mode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new RangeError('options.mode must be within 0..0o777');
    const closeTimeout = options.closeTimeout ?? 5000;
    if (!Number.isFinite(closeTimeout) || closeTimeout < 0) {
      throw new RangeError('options.closeTimeout must be a non-negative number of milliseconds');
    }
    const max = options.maxLineLength ?? DEFAULT_JSON_MAX_LINE_LENGTH;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('options.maxLineLength must be a positive integer');
    if (options.backlog !== undefined && (!Number.isInteger(options.backlog) || options.backlog < 1)) {
      throw new RangeError('options.backlog must be a positive integer');
    }
    this.path = path.resolve(socketPath);
    this.handler = handler;
    this.mode = mode;
    this.backlog = options.backlog;
    this.maxLineLength = max;
    this.closeTimeout = closeTimeout;
  }

  /** Current lifecycle state. */
  get state(): UnixServerState {
    return this.stateValue;
  }

  /** Number of open client connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Binds and starts accepting. Rejects with `PIPEIO_ERR_SOCKET_PATH_TOO_LONG`,
   * `PIPEIO_ERR_ADDRESS_IN_USE` (a live server is there), `PIPEIO_ERR_NOT_A_SOCKET`,
   * `PIPEIO_ERR_PERMISSION`, or `PIPEIO_ERR_INVALID_STATE` if not idle.
   * Concurrent calls share one promise.
   */
  start(): Promise<void> {
    if (this.startPromise && this.stateValue !== 'closing' && this.stateValue !== 'closed') return this.startPromise;
    if (this.stateValue !== 'idle') {
      return Promise.reject(pipeIOError('PIPEIO_ERR_INVALID_STATE', `cannot start a ${this.stateValue} UnixServer`));
    }
    this.stateValue = 'starting';
    this.startPromise = this.doStart().then(
      () => {
        this.stateValue = 'running';
        this.emit('listening');
      },
      (err: unknown) => {
        this.stateValue = 'idle';
        this.startPromise = undefined;
        throw err;
      },
    );
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    this.identity = await bindUnixSocket(server, this.path, this.mode, { backlog: this.backlog });
    this.server = server;
    server.on('error', (err) => this.emit('error', err));
  }

  private accept(socket: net.Socket): void {
    if (this.stateValue !== 'running') {
      socket.destroy();
      return;
    }
    const conn = new ServerConnection(socket, this.handler, this.maxLineLength);
    this.connections.add(conn);
    void conn.closedWait.then(() => this.connections.delete(conn));
    this.emit('connection', socket);
  }

  /**
   * Stops accepting, lets each connection write its pending replies, closes
   * them (destroying what is left after `closeTimeout`), removes the socket
   * file. Idempotent: concurrent and later calls share one promise; on a
   * server never started it just marks it closed.
   */
  stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    if (this.stateValue !== 'idle') this.stateValue = 'closing';
    this.stopPromise = this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    if (this.startPromise) await this.startPromise.catch(() => undefined);
    const server = this.server;
    if (server) {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (this.identity) removeSocketIfSame(this.path, this.identity);
      for (const conn of this.connections) conn.end();
      const all = Promise.all([...this.connections].map((c) => c.closedWait));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.closeTimeout);
      });
      await Promise.race([all, timedOut]);
      clearTimeout(timer);
      for (const conn of this.connections) conn.destroy();
      await serverClosed;
      this.server = undefined;
    }
    this.stateValue = 'closed';
    process.nextTick(emitClose, this);
  }

  /** Same as {@link stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
