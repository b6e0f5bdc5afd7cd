/**
 * The state machine shared by PipeIOServer, PipeReaderServer and
 * PipeWriterServer: pipe files, workers, recovery of deleted paths, and a
 * stop() that always returns promptly.
 *
 *   idle ──start()──▶ starting ──▶ running ──stop()──▶ closing ──▶ closed
 *     └────────────────────stop()─────────────────────────────────────▲
 */
import { EventEmitter } from 'node:events';
import {
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_PERMISSIONS,
  DEFAULT_WATCH_INTERVAL,
} from '../constants';
import { asError, pipeIOError, PipeIOError } from '../errors';
import type { MessageHandlerResult, PipeServerEvents, PipeServerOptions, PipeServerState } from '../types';
import { LineBatch } from '../framing/line-batch';
import { closeQuietly, createFifo, hasReader, lstatOrUndefined, openAnchor, removeFifo, samePipe, type FifoAnchor } from './fifo';
import { InReader } from './in-reader';
import { OutWriter } from './out-writer';
import { PathWatcher } from './path-watcher';

type Side = InReader | OutWriter;

function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`options.${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

export abstract class PipeServerCore extends EventEmitter<PipeServerEvents> {
  protected readonly inPath: string | undefined;
  protected readonly outPath: string | undefined;
  protected readonly reader: InReader | undefined;
  protected readonly writer: OutWriter | undefined;
  private readonly permissions: number;
  private readonly managePipes: boolean;
  private readonly closeTimeout: number;
  private readonly watchInterval: number;
  private currentState: PipeServerState = 'idle';
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private watcher: PathWatcher | undefined;
  private checking: Promise<void> | undefined;
  private messageListeners = false;
  private readonly reported = new Set<string>();

  protected constructor(inPath: string | undefined, outPath: string | undefined, options: PipeServerOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    for (const [name, p] of [['inPipe', inPath], ['outPipe', outPath]] as const) {
      if (p !== undefined && (typeof p !== 'string' || p.length === 0 || p.includes('\0'))) {
        throw new TypeError(`${name} must be a non-empty path string`);
      }
    }
    if (inPath !== undefined && inPath === outPath) throw new TypeError('inPipe and outPipe must be different paths');
    this.inPath = inPath;
    this.outPath = outPath;
    this.permissions = checkInteger('permissions', options.permissions ?? DEFAULT_PERMISSIONS, 0);
    if (this.permissions > 0o777) throw new RangeError('options.permissions must be within 0o777');
    if (options.managePipes !== undefined && typeof options.managePipes !== 'boolean') {
      throw new TypeError('options.managePipes must be a boolean');
    }
    this.managePipes = options.managePipes ?? true;
    const maxMessageSize = checkInteger('maxMessageSize', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE, 0);
    const highWaterMark = checkInteger('highWaterMark', options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, 1);
    const maxQueueBytes = checkInteger('maxQueueBytes', options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES, 1);
    this.closeTimeout = checkInteger('closeTimeout', options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT, 1);
    this.watchInterval = checkInteger('watchInterval', options.watchInterval ?? DEFAULT_WATCH_INTERVAL, 1);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    // emit() costs even with no listener; the hot path checks a flag instead.
    const untyped = this as EventEmitter;
    untyped.on('newListener', (event: string | symbol) => {
      if (event === 'message') this.messageListeners = true;
    });
    untyped.on('removeListener', () => {
      this.messageListeners = this.listenerCount('message') > 0;
    });
    const onCrash = (err: PipeIOError): void => {
      this.report(err);
      void this.stop();
    };
    const onError = (err: PipeIOError): void => this.report(err);
    if (inPath !== undefined) {
      this.reader = new InReader(
        inPath,
        {
          onLine: (line) => (this.wantsBatches() ? this.deliverBatch(LineBatch.of(line)) : this.deliver(line)),
          wantsBatches: () => this.wantsBatches(),
          onBatch: (lines) => this.deliverBatch(new LineBatch(lines)),
          onOverflow: (length) =>
            this.report(
              pipeIOError(
                'PIPEIO_ERR_LINE_TOO_LONG',
                `an incoming message of ${length}+ bytes exceeds maxMessageSize (${maxMessageSize}); skipped`,
                { path: inPath },
              ),
            ),
          onConnect: () => this.emit('connect'),
          onDisconnect: () => this.emit('disconnect'),
          onError,
          onCrash,
        },
        maxMessageSize,
      );
    }
    if (outPath !== undefined) {
      this.writer = new OutWriter(
        outPath,
        { onDrain: () => this.emit('drain'), onError, onCrash },
        { highWaterMark, maxQueueBytes },
      );
    }
  }

  /** 'idle' | 'starting' | 'running' | 'closing' | 'closed' */
  get state(): PipeServerState {
    return this.currentState;
  }

  /**
   * Opens (and with managePipes creates) the FIFOs and starts the workers.
   * Resolves once clients can open both pipes. Rejects with a coded error
   * (PIPEIO_ERR_NOT_A_FIFO, _PIPE_MISSING, _MKFIFO, _PERMISSION, _CLOSED,
   * _INVALID_STATE), leaving nothing behind.
   */
  start(): Promise<void> {
    if (this.currentState !== 'idle') {
      const code = this.currentState === 'closing' || this.currentState === 'closed' ? 'PIPEIO_ERR_CLOSED' : 'PIPEIO_ERR_INVALID_STATE';
      return Promise.reject(pipeIOError(code, `start() called on a server in state '${this.currentState}'`));
    }
    this.currentState = 'starting';
    this.startPromise = this.doStart();
    return this.startPromise;
  }

  /**
   * Stops the workers (never blocking on a FIFO), closes every fd and, with
   * managePipes, removes the FIFOs. Idempotent: concurrent and later calls
   * share one promise; before start() it just marks the server closed.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  /** Resolves once the server has stopped. */
  wait(): Promise<void> {
    return this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async doStart(): Promise<void> {
    const opened: Array<{ side: Side; anchor: FifoAnchor; created: boolean }> = [];
    const sides = [this.reader, this.writer].filter((s): s is Side => s !== undefined);
    try {
      // Both pipes at once, then both workers at once: the two mkfifo runs
      // overlap, and so do the two worker start-ups.
      const anchors = await Promise.allSettled(
        sides.map(async (side) => {
          if (this.managePipes && side === this.reader && hasReader(side.path)) {
            throw pipeIOError('PIPEIO_ERR_ADDRESS_IN_USE', `${side.path} is in use: another process reads it`, {
              path: side.path,
            });
          }
          const anchor = this.managePipes ? await createFifo(side.path, this.permissions) : openAnchor(side.path);
          opened.push({ side, anchor, created: this.managePipes });
        }),
      );
      for (const a of anchors) if (a.status === 'rejected') throw a.reason;
      this.throwIfStopping();
      const started = await Promise.allSettled(opened.map(({ side, anchor }) => side.start(anchor)));
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      this.throwIfStopping();
    } catch (err) {
      if (this.currentState === 'starting') this.currentState = 'closing';
      for (const { side, anchor, created } of opened) {
        // A side that was handed its anchor closes it in stop(); never close an fd twice.
        if (side.identity.fd === anchor.fd) await side.stop(this.closeTimeout);
        else closeQuietly(anchor.fd);
        if (created) removeFifo(side.path, anchor);
      }
      this.finishClose();
      throw err;
    }
    this.watcher = new PathWatcher(
      opened.map((o) => o.side.path),
      () => {
        this.checking ??= this.checkPaths().finally(() => (this.checking = undefined));
      },
      this.watchInterval,
    );
    this.currentState = 'running';
    this.emit('listening');
  }

  private throwIfStopping(): void {
    if (this.currentState !== 'starting') {
      throw pipeIOError('PIPEIO_ERR_CLOSED', 'stop() was called while the server was starting');
    }
  }

  private async doStop(): Promise<void> {
    const previous = this.currentState;
    if (previous === 'closed') return;
    this.currentState = 'closing';
    if (previous === 'idle') return this.finishClose();
    if (this.startPromise) {
      const failed = await this.startPromise.then(
        () => false,
        () => true,
      );
      if (failed) return; // doStart cleaned up and closed
    }
    this.watcher?.close();
    await this.checking; // a recreation in progress finishes (and is undone) before we go on
    const sides = [this.reader, this.writer].filter((s): s is Side => s !== undefined);
    const errors = await Promise.all(sides.map((s) => s.stop(this.closeTimeout)));
    for (const err of errors) if (err) this.report(err);
    if (this.managePipes) for (const s of sides) removeFifo(s.path, s.identity);
    this.finishClose();
  }

  private finishClose(): void {
    this.currentState = 'closed';
    this.resolveClosed();
    process.nextTick(() => this.emit('close'));
  }

  /** Recreates or re-adopts pipe paths that no longer name our FIFOs. */
  private async checkPaths(): Promise<void> {
    if (this.currentState !== 'running') return;
    try {
      for (const side of [this.reader, this.writer]) {
        if (!side || samePipe(side.path, side.identity)) {
          if (side) this.reported.delete(side.path);
          continue;
        }
        const st = lstatOrUndefined(side.path);
        let anchor: FifoAnchor | undefined;
        if (st === undefined) {
          if (!this.managePipes) {
            this.reportOnce(side.path, pipeIOError('PIPEIO_ERR_PIPE_DELETED', `${side.path} was deleted`, { path: side.path }));
            continue;
          }
          anchor = await createFifo(side.path, this.permissions);
        } else if (st.isFIFO()) {
          anchor = openAnchor(side.path, this.managePipes ? this.permissions : undefined);
        } else {
          this.reportOnce(
            side.path,
            pipeIOError('PIPEIO_ERR_NOT_A_FIFO', `${side.path} was replaced by something that is not a FIFO; left alone`, {
              path: side.path,
            }),
          );
          continue;
        }
        if (this.currentState !== 'running') {
          closeQuietly(anchor.fd);
          if (this.managePipes) removeFifo(side.path, anchor);
          return;
        }
        side.rebind(anchor);
        this.reported.delete(side.path);
        this.emit('recreate', side.path);
      }
    } catch (err) {
      if (this.currentState === 'running') {
        this.report(err instanceof PipeIOError ? err : pipeIOError('PIPEIO_ERR_PIPE_DELETED', asError(err).message, { cause: err }));
      }
    }
  }

  private reportOnce(key: string, err: PipeIOError): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.report(err);
  }

  /** Routes a runtime failure: 'error' if anyone listens, else a process warning. */
  protected report(err: PipeIOError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.emitWarning(err);
  }

  /** Called for each incoming message; PipeIOServer/PipeReaderServer expose it. */
  protected dispatch(message: Buffer): MessageHandlerResult {
    void message;
    return undefined;
  }

  /** Whether incoming messages go to {@link dispatchBatch} (a batch handler is set). */
  protected wantsBatches(): boolean {
    return false;
  }

  /** Called with each batch of incoming messages when {@link wantsBatches} says so. */
  protected dispatchBatch(batch: LineBatch): MessageHandlerResult {
    void batch;
    return undefined;
  }

  private deliver(line: Buffer): void {
    if (this.messageListeners) this.emit('message', line);
    try {
      this.watch(this.dispatch(line), 'handleMessage');
    } catch (err) {
      this.handlerFailed(err, 'handleMessage');
    }
  }

  private deliverBatch(batch: LineBatch): void {
    if (this.messageListeners) for (const line of batch) this.emit('message', line);
    try {
      this.watch(this.dispatchBatch(batch), 'handleMessages');
    } catch (err) {
      this.handlerFailed(err, 'handleMessages');
    }
  }

  /** A handler's promise: its rejection becomes an error. */
  private watch(result: MessageHandlerResult, what: string): void {
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, (err: unknown) => this.handlerFailed(err, what));
    }
  }

  private handlerFailed(err: unknown, what: string): void {
    const cause = asError(err);
    this.report(pipeIOError('PIPEIO_ERR_HANDLER', `${what} failed: ${cause.message}`, { cause }));
  }

  /** Queues a message for the out pipe (shared by PipeIOServer and PipeWriterServer). */
  protected enqueue(message: string | Uint8Array): boolean {
    if (this.currentState === 'closing') return false; // replies to the last messages: dropped quietly
    if (this.currentState === 'closed') throw pipeIOError('PIPEIO_ERR_CLOSED', 'sendMessage() on a stopped server');
    let bytes: Uint8Array;
    if (typeof message === 'string') bytes = Buffer.from(message, 'utf8');
    else if (message instanceof Uint8Array) bytes = message;
    else throw new TypeError('message must be a string or a Uint8Array');
    if (bytes.indexOf(10) !== -1) {
      throw pipeIOError('PIPEIO_ERR_INVALID_MESSAGE', 'a message must not contain a newline (\\n): it would be split in two');
    }
    return (this.writer as OutWriter).send(bytes);
  }

  /**
   * Queues many messages (shared by PipeIOServer and PipeWriterServer): a
   * LineBatch as its bytes, in one piece, without looking at each message;
   * anything else one by one, as sendMessage() would. Returns the last
   * answer of the queue (false: wait for 'drain').
   */
  protected enqueueMany(messages: LineBatch | Iterable<string | Uint8Array>): boolean {
    if (messages instanceof LineBatch) {
      if (this.currentState === 'closing') return false;
      if (this.currentState === 'closed') throw pipeIOError('PIPEIO_ERR_CLOSED', 'sendMessages() on a stopped server');
      // The batch's own newlines separate its messages; the last one is added back by the queue.
      return (this.writer as OutWriter).send(messages.bytes.subarray(0, messages.bytes.length - 1));
    }
    if (messages === null || typeof (messages as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError('messages must be a LineBatch or an iterable of strings and Uint8Arrays');
    }
    let ok = true;
    for (const m of messages) ok = this.enqueue(m);
    return ok;
  }

  /** Bytes accepted by sendMessage() and not yet written to the pipe. */
  protected get queued(): number {
    return this.writer?.queuedBytes ?? 0;
  }
}
