/**
 * Public option, event and info types of MultiPipeServer.
 */
import type { PipeIOError } from '../errors';

/** Options of {@link MultiPipeServer}. */
export interface MultiPipeServerOptions {
  /** Mode of every FIFO, exact whatever the umask. @default 0o600 */
  permissions?: number;
  /** Longest accepted incoming line in bytes; longer ones -> 'error' PIPEIO_ERR_LINE_TOO_LONG, skipped. @default 67108864 (64 MiB) */
  maxMessageSize?: number;
  /** send() returns false once a pair has this many bytes queued (not yet in the kernel); 'drain' (name) later. @default 1048576 (1 MiB) */
  highWaterMark?: number;
  /** send() throws PIPEIO_ERR_QUEUE_FULL if a pair's queue would exceed this many bytes. @default 67108864 (64 MiB) */
  maxQueueBytes?: number;
  /** How often (milliseconds) the FIFO paths are checked besides fs.watch, to recreate deleted ones. @default 1000 */
  pollInterval?: number;
  /** Longest wait (milliseconds) for the I/O worker's termination in stop(); stop() goes on after it. @default 500 */
  closeTimeout?: number;
}

/** A pair's name and paths. A client READS `outPipe` and WRITES `inPipe`. */
export interface PipePairInfo {
  name: string;
  /** `${dir}/${name}.in`: clients write it, the server reads (env PIPE_IO_WRITE_PIPE). */
  inPipe: string;
  /** `${dir}/${name}.out`: the server writes it, clients read (env PIPE_IO_READ_PIPE). */
  outPipe: string;
}

/** Handler of one pair's messages (message without its newline). May return a promise. */
export type PairHandler = (message: Buffer, name: string) => void | Promise<void>;

/** Options of {@link MultiPipeServer.addPair}. */
export interface AddPairOptions {
  /** Handles this pair's messages instead of `handleMessage`. */
  handler?: PairHandler;
}

/** Lifecycle state of a MultiPipeServer. */
export type MultiPipeServerState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

/** Events of {@link MultiPipeServer}. */
export interface MultiPipeServerEvents {
  /** Every incoming line (besides the handler), without its newline. */
  message: [name: string, message: Buffer];
  /** Something failed; `name` tells which pair when it is about one. The server keeps serving. */
  error: [err: PipeIOError, name?: string];
  /** A client started writing the pair's in pipe (its first bytes were seen). */
  attach: [name: string];
  /** The last writer of the pair's in pipe left (EOF). */
  detach: [name: string];
  /** The pair's queue fell below highWaterMark after send() returned false. */
  drain: [name: string];
  /** Informational: a deleted/replaced FIFO of the pair was recreated (or adopted) at `path`. */
  recreate: [name: string, path: string];
  /** The server stopped (emitted asynchronously). */
  close: [];
}
