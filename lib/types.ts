/** Option and event interfaces of the pipe servers. */
import type { PipeIOError } from './errors';

export type PipeServerState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

export interface PipeServerOptions {
  /** Permission bits of FIFOs the server creates, exact whatever the umask. @default 0o600 */
  permissions?: number;
  /**
   * Create the FIFOs before start() resolves (replacing a stale FIFO, never
   * anything else), recreate them if deleted, remove them when stop()
   * resolves. With false the FIFOs must exist and are left in place.
   * @default true
   */
  managePipes?: boolean;
  /** Longest incoming message in bytes, newline excluded. @default 67108864 (64 MiB) */
  maxMessageSize?: number;
  /** Queued outgoing bytes at which sendMessage() returns false. @default 1048576 (1 MiB) */
  highWaterMark?: number;
  /** Queued outgoing bytes beyond which sendMessage() throws PIPEIO_ERR_QUEUE_FULL. @default 67108864 (64 MiB) */
  maxQueueBytes?: number;
  /** Milliseconds stop() waits for a worker before terminating it. @default 2000 */
  closeTimeout?: number;
  /** Milliseconds between fallback checks for deleted pipe paths. @default 500 */
  watchInterval?: number;
}

export interface PipeServerEvents {
  /** Every incoming message, without its newline (also passed to handleMessage). */
  message: [message: Buffer];
  /** A handler failure, a bad message, a pipe problem; the server keeps serving. */
  error: [err: PipeIOError];
  /** The outgoing queue fell below highWaterMark after sendMessage() returned false. */
  drain: [];
  /** A client started writing to the in pipe. */
  connect: [];
  /** The last writer of the in pipe went away (EOF). */
  disconnect: [];
  /** A deleted or replaced pipe path was recreated/adopted; the server serves it again. */
  recreate: [path: string];
  /** start() completed. */
  listening: [];
  /** The server stopped; emitted once, asynchronously. */
  close: [];
}

/**
 * What handleMessage may return: anything (ignored), or a promise whose
 * rejection becomes an 'error' event. `unknown` so that the one-liner
 * `server.handleMessage = (m) => server.sendMessage(m)` type-checks.
 */
export type MessageHandlerResult = unknown;
