/**
 * The public servers, named as in the Python pipe-io-server.
 */
import type { LineBatch } from '../framing/line-batch';
import type { MessageHandlerResult, PipeServerOptions } from '../types';
import { PipeServerCore } from './server-core';

/**
 * A server owning a pair of FIFOs: clients write `inPipe` and read `outPipe`,
 * one message per line.
 *
 * ```ts
 * const server = new PipeIOServer('/tmp/app.in', '/tmp/app.out');
 * server.handleMessage = (m) => server.sendMessage(m);
 * await server.start();
 * ```
 */
export class PipeIOServer extends PipeServerCore {
  /**
   * @param inPipe  path of the FIFO clients write and the server reads
   * @param outPipe path of the FIFO the server writes and clients read
   */
  constructor(inPipe: string, outPipe: string, options?: PipeServerOptions) {
    super(inPipe, outPipe, options);
  }

  /** The FIFO clients write to. */
  get inPipe(): string {
    return this.inPath as string;
  }

  /** The FIFO clients read from. */
  get outPipe(): string {
    return this.outPath as string;
  }

  /** Bytes accepted by sendMessage() and not yet handed to the kernel. */
  get queuedBytes(): number {
    return this.queued;
  }

  /**
   * Called with each incoming message (a Buffer without its newline). Override
   * in a subclass or assign a function. It may return a promise; a throw or
   * rejection becomes an 'error' event (PIPEIO_ERR_HANDLER). Default: no-op.
   */
  handleMessage(message: Buffer): MessageHandlerResult {
    void message;
    return undefined;
  }

  /**
   * Opt-in batch handler. When set (assigned or defined in a subclass), it
   * replaces handleMessage: it is called with every run of messages that
   * arrived together, as one {@link LineBatch} (iterate it for the messages,
   * or pass it whole to {@link sendMessages}). Fewer calls and no Buffer per
   * message: for small messages several times the throughput of
   * handleMessage. The batch's bytes stay valid (they are not reused).
   * Unset by default.
   */
  handleMessages?(batch: LineBatch): MessageHandlerResult;

  /**
   * Queues many messages: a {@link LineBatch} goes out whole, as received
   * (no per-message work, no copy before the write), any other iterable of
   * strings / Uint8Arrays message by message as with sendMessage(). Same
   * return value, errors and ordering as sendMessage().
   */
  sendMessages(messages: LineBatch | Iterable<string | Uint8Array>): boolean {
    return this.enqueueMany(messages);
  }

  /**
   * Queues one message for the out pipe; the newline is added. Messages wait
   * for the next reader, in order. Returns false once `highWaterMark` bytes
   * are queued (wait for 'drain'); throws PIPEIO_ERR_QUEUE_FULL past
   * `maxQueueBytes`, PIPEIO_ERR_INVALID_MESSAGE for a message holding `\n`,
   * PIPEIO_ERR_CLOSED once stopped (while stop() is in progress it drops the
   * message and returns false). A Uint8Array is queued as it is, not copied:
   * its bytes are read when they go to the pipe (as with a stream's write()),
   * so do not modify it after passing it in.
   */
  sendMessage(message: string | Uint8Array): boolean {
    return this.enqueue(message);
  }

  protected override dispatch(message: Buffer): MessageHandlerResult {
    return this.handleMessage(message);
  }

  protected override wantsBatches(): boolean {
    return typeof this.handleMessages === 'function';
  }

  protected override dispatchBatch(batch: LineBatch): MessageHandlerResult {
    return (this.handleMessages as (batch: LineBatch) => MessageHandlerResult)(batch);
  }
}

/** Only the reading half: clients write `inPipe`. */
export class PipeReaderServer extends PipeServerCore {
  constructor(inPipe: string, options?: PipeServerOptions) {
    super(inPipe, undefined, options);
  }

  get inPipe(): string {
    return this.inPath as string;
  }

  /** See {@link PipeIOServer.handleMessage}. */
  handleMessage(message: Buffer): MessageHandlerResult {
    void message;
    return undefined;
  }

  protected override dispatch(message: Buffer): MessageHandlerResult {
    return this.handleMessage(message);
  }
}

/** Only the writing half: clients read `outPipe`. */
export class PipeWriterServer extends PipeServerCore {
  constructor(outPipe: string, options?: PipeServerOptions) {
    super(undefined, outPipe, options);
  }

  get outPipe(): string {
    return this.outPath as string;
  }

  get queuedBytes(): number {
    return this.queued;
  }

  /** See {@link PipeIOServer.sendMessage}. */
  sendMessage(message: string | Uint8Array): boolean {
    return this.enqueue(message);
  }

  /** See {@link PipeIOServer.sendMessages}. */
  sendMessages(messages: LineBatch | Iterable<string | Uint8Array>): boolean {
    return this.enqueueMany(messages);
  }
}
