/**
 * MultiPipeServer: many named pipe pairs in one directory, served by ONE
 * shared I/O worker (io-worker.ts) whose FIFOs are O_NONBLOCK libuv pipe
 * handles. See docs/multi-pipe.md for the design and figures.
 *
 *   main thread                                   io-worker (own event loop)
 *   -----------                                   --------------------------
 *   createFifo() -> anchors (O_RDONLY|O_NONBLOCK)
 *   'add' {anchor fds} ----------------------->   open /proc/self/fd/<anchor>
 *                                                 reader: net.Socket (in pipe)
 *                                                 writer: net.Socket (out pipe)
 *   LineSplitter per pair <-- 'batch' ---------   chunks (transferred), eof,
 *   handler / 'message'      (one per loop turn)  written, errors
 *   send() -> OutStage --- 'write' (batched) -->  writer.write()
 *
 * Shutdown: stop() -> watcher closed -> worker.terminate() (never blocked,
 * so prompt; libuv closes its fds) -> anchors closed -> FIFOs removed ->
 * dir removed if created here and empty -> 'close' (next tick).
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { asError, isErrno, pipeIOError, PipeIOError, type PipeIOErrorCode } from '../errors';
import { startWorker } from '../internal/worker-loader';
import { lstatOrUndefined, removeFifo } from '../pipe/fifo';
import { applyBatch, type IntakeHost } from './batch-intake';
import { FifoBatcher } from './fifo-batch';
import { FifoRecovery } from './fifo-recovery';
import { OutStage } from './out-stage';
import { PairState } from './pair-state';
import { ReplyWaiters } from './reply-waiters';
import type {
  AddPairOptions,
  MultiPipeServerEvents,
  MultiPipeServerOptions,
  MultiPipeServerState,
  PipePairInfo,
} from './types';
import { checkSize, PAIR_NAME_PATTERN, toBody } from './validate';
import { terminateWithin, workerOnError, workerOnExit, workerOnMessage } from './worker-events';
import type { MainToWorker, PairSide, WorkerEvent, WorkerToMain } from './worker-protocol';

export { PAIR_NAME_PATTERN } from './validate';

/** Longest wait for the worker to load (ts-node in tests can take a while), milliseconds. */
const WORKER_START_TIMEOUT = 30_000;
/** Longest wait for the worker to acknowledge an add/remove, milliseconds. */
const WORKER_REPLY_TIMEOUT = 10_000;

/**
 * Owns named pipe pairs in one directory. Every pair is `${dir}/${name}.in`
 * (clients write) and `${dir}/${name}.out` (clients read).
 */
export class MultiPipeServer extends EventEmitter<MultiPipeServerEvents> {
  /** Directory holding the FIFOs. */
  readonly dir: string;
  /** FIFO mode. */
  readonly permissions: number;
  readonly maxMessageSize: number;
  readonly highWaterMark: number;
  readonly maxQueueBytes: number;
  private readonly pollInterval: number;
  private readonly closeTimeout: number;
  private readonly fifos: FifoBatcher;
  private _state: MultiPipeServerState = 'idle';
  private worker: Worker | undefined;
  private readonly byName = new Map<string, PairState>();
  private readonly byId = new Map<number, PairState>();
  private readonly waiters = new ReplyWaiters();
  /** Outgoing bytes of every pair until the next flush. */
  private readonly outStage = new OutStage();
  /** A flushWrites() microtask is queued. */
  private flushQueued = false;
  private nextId = 1;
  private createdDir = false;
  private recovery: FifoRecovery | undefined;
  private startPromise: Promise<void> | undefined;
  private readonly intake: IntakeHost;
  private stopPromise: Promise<void> | undefined;

  /**
   * @param dir  directory of the FIFOs; created 0700 by start() if missing
   * @param options see {@link MultiPipeServerOptions}
   * @throws TypeError / RangeError for a bad argument
   */
  constructor(dir: string, options: MultiPipeServerOptions = {}) {
    super();
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('dir must be a non-empty string');
    this.dir = path.resolve(dir);
    const permissions = options.permissions ?? 0o600;
    if (!Number.isInteger(permissions) || permissions < 0 || permissions > 0o777) {
      throw new RangeError('options.permissions must be a mode between 0 and 0o777');
    }
    this.permissions = permissions;
    this.maxMessageSize = checkSize(options.maxMessageSize ?? 64 * 1024 * 1024, 'maxMessageSize', 0);
    this.highWaterMark = checkSize(options.highWaterMark ?? 1024 * 1024, 'highWaterMark', 1);
    this.maxQueueBytes = checkSize(options.maxQueueBytes ?? 64 * 1024 * 1024, 'maxQueueBytes', 1);
    this.pollInterval = checkSize(options.pollInterval ?? 1000, 'pollInterval', 1);
    this.closeTimeout = checkSize(options.closeTimeout ?? 500, 'closeTimeout', 1);
    this.fifos = new FifoBatcher(permissions);
    this.intake = {
      highWaterMark: this.highWaterMark,
      isRunning: () => this._state === 'running',
      pairById: (id) => this.byId.get(id),
      emitPair: (event, name) => this.emit(event, name),
      emitError: (err, name) => this.emitError(err, name),
      postConsumed: (items) => {
        if (this.worker) this.post({ type: 'consumed', items });
      },
    };
  }

  /** 'idle' | 'starting' | 'running' | 'closing' | 'closed' */
  get state(): MultiPipeServerState {
    return this._state;
  }

  /**
   * Default handler of every pair without its own: override in a subclass or
   * assign. Does nothing by default (messages are still emitted as 'message').
   * A throw or rejection becomes an 'error' (PIPEIO_ERR_HANDLER, name).
   */
  handleMessage(_name: string, _message: Buffer): void | Promise<void> {
    /* no default behaviour */
  }

  /**
   * Creates the directory if needed (0700) and starts the shared I/O worker.
   * Concurrent calls share one promise; rejects PIPEIO_ERR_CLOSED after stop().
   */
  start(): Promise<void> {
    if (this._state === 'closing' || this._state === 'closed') {
      return Promise.reject(pipeIOError('PIPEIO_ERR_CLOSED', 'MultiPipeServer is stopped'));
    }
    if (!this.startPromise) {
      this._state = 'starting';
      this.startPromise = this.doStart();
    }
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    this.prepareDir();
    // trackUnmanagedFds off: the worker opens fds with fs.openSync but libuv
    // closes them (socket.destroy()), so Node's tracking would go stale and,
    // at worker exit, close numbers since reused by the main thread's anchors.
    const worker = startWorker(path.join(__dirname, 'io-worker'), { name: 'pipe-io-multi', trackUnmanagedFds: false });
    this.worker = worker;
    worker.on('message', (msg: WorkerToMain) => workerOnMessage(this, worker, msg));
    worker.on('error', (err) => workerOnError(this, worker, err));
    worker.on('exit', (code) => workerOnExit(this, worker, code));
    await this.waiters.expect('ready', WORKER_START_TIMEOUT);
    if (this._state !== 'starting') throw pipeIOError('PIPEIO_ERR_CLOSED', 'MultiPipeServer stopped while starting');
    this.recovery = new FifoRecovery(this.dir, this.pollInterval, this.fifos, this.permissions, {
      isRunning: () => this._state === 'running',
      pairs: () => this.byName.values(),
      pairById: (id) => this.byId.get(id),
      rebind: (pair, side, anchor, where) => {
        if (!this.worker) return false;
        this.post({ type: 'rebind', id: pair.id, side, anchor, path: where });
        return true;
      },
      emitError: (err, name, code) => this.emitError(err, name, code),
      emitRecreate: (name, where) => this.emit('recreate', name, where),
    });
    this._state = 'running';
  }

  private prepareDir(): void {
    const st = lstatOrUndefined(this.dir);
    if (st) {
      if (!st.isDirectory()) {
        throw pipeIOError('PIPEIO_ERR_PERMISSION', `${this.dir} is not a directory`, { path: this.dir });
      }
      return;
    }
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      fs.chmodSync(this.dir, 0o700); // exact, whatever the umask
    } catch (err) {
      if (isErrno(err, 'EACCES', 'EPERM')) {
        throw pipeIOError('PIPEIO_ERR_PERMISSION', `cannot create ${this.dir}`, { path: this.dir, cause: err });
      }
      throw err;
    }
    this.createdDir = true;
  }

  /**
   * Creates the pair's FIFOs and has the worker serve them. Resolves when
   * clients can open both pipes. Rejects TypeError for a bad name,
   * PIPEIO_ERR_PAIR_EXISTS for a duplicate, PIPEIO_ERR_NOT_A_FIFO if a
   * non-FIFO sits at a path, PIPEIO_ERR_INVALID_STATE before start(),
   * PIPEIO_ERR_CLOSED after stop().
   */
  async addPair(name: string, options: AddPairOptions = {}): Promise<PipePairInfo> {
    if (typeof name !== 'string' || !PAIR_NAME_PATTERN.test(name)) {
      throw new TypeError(`pair name must match ${PAIR_NAME_PATTERN} (got ${JSON.stringify(name)})`);
    }
    if (options.handler !== undefined && typeof options.handler !== 'function') {
      throw new TypeError('options.handler must be a function');
    }
    if (this._state === 'starting') await this.startPromise;
    this.throwUnlessRunning();
    if (this.byName.has(name)) throw pipeIOError('PIPEIO_ERR_PAIR_EXISTS', `pair ${name} already exists`);
    const id = this.nextId++;
    const info: PipePairInfo = {
      name,
      inPipe: path.join(this.dir, `${name}.in`),
      outPipe: path.join(this.dir, `${name}.out`),
    };
    const pair = new PairState(
      id,
      info,
      options.handler,
      (line) => this.deliver(pair, line),
      (length) => this.emitError(
        pipeIOError('PIPEIO_ERR_LINE_TOO_LONG', `pair ${name}: incoming line of ${length}+ bytes exceeds maxMessageSize ${this.maxMessageSize}; skipped`, { path: info.inPipe }),
        name,
      ),
      this.maxMessageSize,
    );
    this.byName.set(name, pair);
    this.byId.set(id, pair);
    try {
      // both FIFOs (and those of pairs added in the same turn) in one mkfifo run
      const [inAnchor, outAnchor] = await Promise.allSettled([
        this.fifos.create(info.inPipe),
        this.fifos.create(info.outPipe),
      ]);
      if (inAnchor.status === 'fulfilled') pair.anchors.in = inAnchor.value;
      if (outAnchor.status === 'fulfilled') pair.anchors.out = outAnchor.value;
      if (inAnchor.status === 'rejected') throw inAnchor.reason;
      if (outAnchor.status === 'rejected') throw outAnchor.reason;
      if (pair.closed) throw pipeIOError('PIPEIO_ERR_CLOSED', 'MultiPipeServer stopped while adding a pair');
      const reply = this.waiters.expect(`added:${id}`, WORKER_REPLY_TIMEOUT);
      this.post({
        type: 'add',
        id,
        inAnchor: inAnchor.value.fd,
        inPath: info.inPipe,
        outAnchor: outAnchor.value.fd,
        outPath: info.outPipe,
      });
      await reply;
      if (pair.closed) throw pipeIOError('PIPEIO_ERR_CLOSED', 'MultiPipeServer stopped while adding a pair');
    } catch (err) {
      if (this.byName.get(name) === pair) this.byName.delete(name);
      this.byId.delete(id);
      pair.closed = true;
      this.releasePair(pair);
      throw err;
    }
    pair.ready = true;
    return { ...info };
  }

  /**
   * Stops the pair's I/O (bytes not yet written are dropped) and removes its
   * FIFOs. Rejects PIPEIO_ERR_NO_SUCH_PAIR for an unknown name.
   */
  async removePair(name: string): Promise<void> {
    const pair = this.byName.get(name);
    if (!pair || !pair.ready) throw pipeIOError('PIPEIO_ERR_NO_SUCH_PAIR', `no pair named ${JSON.stringify(name)}`);
    this.byName.delete(name);
    pair.ready = false;
    pair.closed = true; // its staged runs reach the worker after 'remove', which skips them
    try {
      const reply = this.waiters.expect(`removed:${pair.id}`, WORKER_REPLY_TIMEOUT);
      this.post({ type: 'remove', id: pair.id });
      await reply;
    } catch {
      // the worker is gone (stop() or a crash): its fds went with it
    } finally {
      this.byId.delete(pair.id);
      this.releasePair(pair);
    }
  }

  /** Info of every ready pair, in the order they were added. */
  pairs(): PipePairInfo[] {
    const out: PipePairInfo[] = [];
    for (const pair of this.byName.values()) if (pair.ready) out.push({ ...pair.info });
    return out;
  }

  /** Is there a ready pair with this name? */
  has(name: string): boolean {
    return this.byName.get(name)?.ready === true;
  }

  /**
   * Queues `message` plus a newline for the pair's out pipe. Returns false
   * when the pair's queue is at/above highWaterMark ('drain' (name) follows).
   * Throws PIPEIO_ERR_NO_SUCH_PAIR, PIPEIO_ERR_QUEUE_FULL (beyond
   * maxQueueBytes), PIPEIO_ERR_INVALID_MESSAGE (newline inside or wrong
   * type), PIPEIO_ERR_CLOSED / PIPEIO_ERR_INVALID_STATE when not running.
   */
  send(name: string, message: string | Uint8Array): boolean {
    this.throwUnlessRunning();
    const pair = this.byName.get(name);
    if (!pair || !pair.ready) throw pipeIOError('PIPEIO_ERR_NO_SUCH_PAIR', `no pair named ${JSON.stringify(name)}`);
    return this.sendTo(pair, toBody(message));
  }

  /**
   * send() to every pair. A pair whose queue is full gets an 'error'
   * (PIPEIO_ERR_QUEUE_FULL, name) instead of a throw, so the others still
   * get the message. Returns false if any pair is at/above highWaterMark.
   */
  broadcast(message: string | Uint8Array): boolean {
    this.throwUnlessRunning();
    const body = toBody(message);
    let below = true;
    for (const pair of this.byName.values()) {
      if (!pair.ready) continue;
      try {
        if (!this.sendTo(pair, body)) below = false;
      } catch (err) {
        below = false;
        this.emitError(err, pair.info.name);
      }
    }
    return below;
  }

  private sendTo(pair: PairState, body: Buffer): boolean {
    const size = body.length + 1;
    if (pair.queued + size > this.maxQueueBytes) {
      throw pipeIOError(
        'PIPEIO_ERR_QUEUE_FULL',
        `pair ${pair.info.name}: ${pair.queued} bytes queued, ${size} more would exceed maxQueueBytes ${this.maxQueueBytes}`,
        { path: pair.info.outPipe },
      );
    }
    this.outStage.stage(pair.id, body);
    pair.queued += size;
    if (!this.flushQueued) {
      // A microtask, not setImmediate: while the worker keeps posting batches,
      // Node drains its MessagePort (>= 1000 messages per turn) without ever
      // reaching the check phase, so an Immediate would hold every reply back
      // until the input stops. A microtask runs after each batch (or after the
      // caller's synchronous code) and still coalesces all sends made meanwhile.
      this.flushQueued = true;
      queueMicrotask(() => this.flushWrites());
    }
    if (pair.queued >= this.highWaterMark) {
      pair.needDrain = true;
      return false;
    }
    return true;
  }

  private flushWrites(): void {
    this.flushQueued = false;
    if (!this.worker || this.outStage.isEmpty) return;
    const segments = this.outStage.take();
    const transfer: ArrayBuffer[] = [];
    for (const segment of segments) transfer.push(segment.buffer);
    this.post({ type: 'write', segments }, transfer);
  }

  /**
   * Stops everything: terminates the worker (nothing in it blocks, so this is
   * prompt), closes every fd, removes every pair's FIFOs and the directory if
   * start() created it and it is empty. Idempotent; concurrent calls share
   * one promise; fine before start(). Unsent bytes and unterminated incoming
   * fragments are dropped.
   */
  stop(): Promise<void> {
    if (!this.stopPromise) this.stopPromise = this.doStop();
    return this.stopPromise;
  }

  /** Same as stop(). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async doStop(): Promise<void> {
    this._state = 'closing';
    this.recovery?.close();
    this.waiters.failAll(pipeIOError('PIPEIO_ERR_CLOSED', 'MultiPipeServer stopped'));
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      worker.removeAllListeners('message');
      await terminateWithin(worker, this.closeTimeout);
    }
    for (const pair of this.byId.values()) {
      pair.closed = true;
      pair.ready = false;
      this.releasePair(pair);
    }
    this.byId.clear();
    this.byName.clear();
    this.outStage.clear();
    if (this.createdDir) {
      try {
        fs.rmdirSync(this.dir);
      } catch {
        /* not empty (someone else's files) or already gone: leave it */
      }
    }
    this._state = 'closed';
    process.nextTick(() => this.emit('close'));
  }

  // -- internals -----------------------------------------------------------

  private throwUnlessRunning(): void {
    if (this._state === 'running') return;
    if (this._state === 'closing' || this._state === 'closed') {
      throw pipeIOError('PIPEIO_ERR_CLOSED', 'MultiPipeServer is stopped');
    }
    throw pipeIOError('PIPEIO_ERR_INVALID_STATE', `MultiPipeServer is ${this._state}: call start() first`);
  }

  private post(msg: MainToWorker, transfer?: ArrayBuffer[]): void {
    if (!this.worker) throw pipeIOError('PIPEIO_ERR_CLOSED', 'MultiPipeServer is stopped');
    this.worker.postMessage(msg, transfer);
  }

  /** @internal a worker answer ('ready', 'added:<id>', 'removed:<id>') */
  settle(key: string, msg: WorkerToMain, err?: Error): void {
    this.waiters.settle(key, msg, err);
  }

  /** Closes a pair's anchors and removes its FIFOs (only if still ours). */
  private releasePair(pair: PairState): void {
    const anchors = { ...pair.anchors };
    pair.closeAnchors();
    for (const side of ['in', 'out'] as const) {
      const anchor = anchors[side];
      if (!anchor) continue;
      try {
        removeFifo(pair.pathOf(side), anchor);
      } catch (err) {
        this.emitError(err, pair.info.name);
      }
    }
  }

  /** @internal one ordered batch from the worker */
  processBatch(events: WorkerEvent[]): void {
    applyBatch(this.intake, events);
  }

  private deliver(pair: PairState, line: Buffer): void {
    const name = pair.info.name;
    this.emit('message', name, line);
    try {
      const result = pair.handler ? pair.handler(line, name) : this.handleMessage(name, line);
      if (result && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(undefined, (err: unknown) => this.handlerFailed(err, name));
      }
    } catch (err) {
      this.handlerFailed(err, name);
    }
  }

  private handlerFailed(err: unknown, name: string): void {
    this.emitError(
      pipeIOError('PIPEIO_ERR_HANDLER', `pair ${name}: handler failed: ${asError(err).message}`, { cause: err }),
      name,
    );
  }

  /**
   * Emits 'error' (a PipeIOError; other values are wrapped). With no 'error'
   * listener it becomes a process warning instead of a crash: the server
   * keeps serving either way.
   */
  emitError(err: unknown, name?: string, code: PipeIOErrorCode = 'PIPEIO_ERR_CONNECTION'): void {
    const e = err instanceof PipeIOError ? err : pipeIOError(code, asError(err).message, { cause: err });
    if (this.listenerCount('error') > 0) this.emit('error', e, name);
    else process.emitWarning(e);
  }

  /** @internal a FIFO path may have changed: recreate/adopt, or report a non-FIFO */
  checkPaths(): void {
    this.recovery?.check();
  }

  /** @internal the worker no longer uses an old anchor */
  rebound(id: number, side: PairSide, oldAnchor: number): void {
    this.recovery?.rebound(id, side, oldAnchor);
  }

  /** @internal the worker died while the server was running */
  workerDied(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.emitError(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `the shared I/O worker died: ${err.message}`, { cause: err }));
    void this.stop();
  }
}
