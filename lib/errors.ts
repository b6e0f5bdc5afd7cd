/**
 * The one error class of the package. Every failure it reports carries a
 * stable `code` (see README "Error codes"); match on `err.code`, never on
 * the message.
 */
import type { SchemaIssue } from './schema/issues';

/** Every code a {@link PipeIOError} can carry. */
export type PipeIOErrorCode =
  // lifecycle
  | 'PIPEIO_ERR_CLOSED' // the server/client/channel is stopped or was never started
  | 'PIPEIO_ERR_CLOSE_TIMEOUT' // a worker did not acknowledge stop in time (it was terminated)
  | 'PIPEIO_ERR_WORKER_EXITED' // an I/O worker died unexpectedly
  | 'PIPEIO_ERR_INVALID_STATE' // method not allowed in the current state (e.g. start() twice)
  // pipes on disk
  | 'PIPEIO_ERR_PIPE_MISSING' // managePipes:false and a FIFO does not exist
  | 'PIPEIO_ERR_NOT_A_FIFO' // something that is not a FIFO sits at a pipe path
  | 'PIPEIO_ERR_PIPE_DELETED' // a managed FIFO was deleted (recreated if possible)
  | 'PIPEIO_ERR_MKFIFO' // the mkfifo program failed or is missing
  | 'PIPEIO_ERR_PERMISSION' // EACCES/EPERM on a path the server must use
  // messages
  | 'PIPEIO_ERR_LINE_TOO_LONG' // an incoming line exceeded maxMessageSize / maxLineLength
  | 'PIPEIO_ERR_QUEUE_FULL' // sendMessage would exceed maxQueueBytes
  | 'PIPEIO_ERR_INVALID_MESSAGE' // a message contains a newline, or has a wrong type
  | 'PIPEIO_ERR_HANDLER' // handleMessage threw or rejected
  | 'PIPEIO_ERR_INVALID_JSON' // a JSON line could not be parsed
  | 'PIPEIO_ERR_NO_READER' // FifoChannel.send() with nobody reading
  | 'PIPEIO_ERR_TIMEOUT' // an operation exceeded its timeout
  | 'PIPEIO_ERR_ABORTED' // an operation was cancelled through an AbortSignal
  // sockets
  | 'PIPEIO_ERR_SOCKET_PATH_TOO_LONG' // sun_path limit (107 Linux / 103 macOS bytes)
  | 'PIPEIO_ERR_ADDRESS_IN_USE' // a live server already uses the socket path or the in pipe
  | 'PIPEIO_ERR_NOT_A_SOCKET' // something that is not a socket sits at the socket path
  | 'PIPEIO_ERR_NO_DIRECTORY' // the directory of a hub socket path is missing (the hub creates none)
  | 'PIPEIO_ERR_CONNECTION' // the connection failed or closed before the reply
  | 'PIPEIO_ERR_REMOTE' // the peer answered {"error", "type"}
  // pidfile
  | 'PIPEIO_ERR_PIDFILE_LOCKED' // another live process holds the pidfile
  | 'PIPEIO_ERR_PIDFILE_INVALID' // the pidfile path is unusable (symlink, directory, ...)
  // plugins
  | 'PIPEIO_ERR_SPAWN' // a plugin process could not be started
  | 'PIPEIO_ERR_PAIR_EXISTS' // MultiPipeServer already has a pair with that name
  | 'PIPEIO_ERR_NO_SUCH_PAIR' // MultiPipeServer has no pair with that name
  // hub (comm-ipc-compatible message hub)
  | 'PIPEIO_ERR_PROTOCOL' // a hub frame could not be decoded (not msgpack, not a map, invalid UTF-8, bad field)
  | 'PIPEIO_ERR_FRAME_TOO_LARGE' // a hub frame's length header exceeds maxFrameSize
  | 'PIPEIO_ERR_AUTH' // connection secret or channel password refused, or missing
  | 'PIPEIO_ERR_ID_IN_USE' // the client id is already connected to the hub
  | 'PIPEIO_ERR_NO_PROVIDER' // nobody provides the called event
  | 'PIPEIO_ERR_PROVIDER_GONE' // the provider of an in-flight call disconnected (a plugin: exited or was restarted) before answering
  | 'PIPEIO_ERR_FORBIDDEN' // only the owner may do this (set_password, publish, remove_subscription); a refused bridge or origin claim
  | 'PIPEIO_ERR_CONFLICT' // a provider already exists, a subscription is owned by another client
  | 'PIPEIO_ERR_RESERVED' // a reserved channel, event, subscription name or client id
  | 'PIPEIO_ERR_SLOW_CONSUMER' // a hub connection's unread output passed maxQueueBytes, or did not move for idleTimeout; it was closed
  | 'PIPEIO_ERR_LIMIT' // a bounded hub table or queue is full (calls in flight, channels, connections, partial frames, ...)
  | 'PIPEIO_ERR_INVALID_SIGNATURE' // a message on a password channel failed signature verification
  | 'PIPEIO_ERR_CHANNEL_TERMINATED' // the channel's owner left under channelPolicy 'terminate', or its password changed
  | 'PIPEIO_ERR_FEDERATION' // the NATS link of a federated hub failed
  // typed events (schemas)
  | 'PIPEIO_ERR_VALIDATION' // data does not fit its event's or topic's schema (`err.issues` says where and why)
  | 'PIPEIO_ERR_SCHEMA'; // a schema cannot be used (invalid JSON Schema, unknown draft, $ref outside it, cyclic, not JSON)

export interface PipeIOErrorOptions {
  cause?: unknown;
  /** Filesystem path the error is about, if any. */
  path?: string;
  /** Process id the error is about (pidfile holder, plugin), if any. */
  pid?: number;
  /** Hub errors: the text the remote side sent, kept verbatim. */
  remoteMessage?: string;
  /** `PIPEIO_ERR_VALIDATION`: what does not fit, where. */
  issues?: ReadonlyArray<SchemaIssue>;
}

/** The single error class thrown, rejected and emitted by this package. */
export class PipeIOError extends Error {
  readonly code: PipeIOErrorCode;
  readonly path?: string;
  readonly pid?: number;
  /** Hub errors: the text the remote side sent, kept verbatim. */
  readonly remoteMessage?: string;
  /** `PIPEIO_ERR_VALIDATION`: each issue's path (keys from the value's root) and message. */
  readonly issues?: ReadonlyArray<SchemaIssue>;

  constructor(code: PipeIOErrorCode, message: string, options: PipeIOErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PipeIOError';
    this.code = code;
    if (options.path !== undefined) this.path = options.path;
    if (options.pid !== undefined) this.pid = options.pid;
    if (options.remoteMessage !== undefined) this.remoteMessage = options.remoteMessage;
    if (options.issues !== undefined) this.issues = options.issues;
  }
}

/** Factory: builds a {@link PipeIOError} whose stack starts at the caller. */
export function pipeIOError(
  code: PipeIOErrorCode,
  message: string,
  options?: PipeIOErrorOptions,
): PipeIOError {
  const err = new PipeIOError(code, message, options);
  Error.captureStackTrace(err, pipeIOError);
  return err;
}

/** Turns any thrown value into an `Error` (non-Errors are wrapped). */
export function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : `Non-error value thrown: ${String(value)}`);
}

/** True if `err` is a Node system error with the given errno code. */
export function isErrno(err: unknown, ...codes: string[]): err is NodeJS.ErrnoException {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    codes.includes((err as NodeJS.ErrnoException).code as string)
  );
}
