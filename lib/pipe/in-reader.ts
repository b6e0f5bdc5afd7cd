/**
 * Main-thread side of the in pipe. Reads it through a libuv pipe handle
 * (epoll / kqueue on a non-blocking fd), so nothing ever blocks and no
 * thread sits between the kernel and the handler (a round trip costs one
 * thread wake-up less); turns bytes into messages; follows the FIFO across a
 * rebind. A writer session that sends a line longer than ESCALATE_AT is
 * handed to the reader worker (reader-worker.ts) until that writer leaves:
 * reading in parallel with the main thread's work is what big messages need.
 *
 * Sessions: a writer session is read through a fresh non-blocking read fd on
 * the anchor's inode (opened through /proc/self/fd/<anchor>). A fresh fd
 * sees neither EOF nor HUP until a writer has come and gone, so it simply
 * waits; when every writer has left, read() says EOF: the unterminated
 * fragment becomes a message, 'disconnect', and the next session opens.
 *
 *   open(inode, O_RDONLY|O_NONBLOCK) ─ libuv: readable ─▶ read() into the line buffer ─▶ whole lines
 *        ▲                                                  │ a line >= ESCALATE_AT:
 *        │                                                  ▼ stop reading here, Slot.GO
 *        ├──── EOF (every writer left) ◀──── reader worker: blocking read() of the session,
 *        └──── EOF ◀── loop session                         whole lines transferred
 *
 * stop(): a loop session: what the kernel pipe already holds is read and
 * delivered (bounded), then the handle is closed. A worker session: CTRL=STOP,
 * then a random token written into the FIFO wakes the worker wherever it
 * sleeps; it passes on every byte before the token and exits.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Worker } from 'node:worker_threads';
import { isErrno, pipeIOError, type PipeIOError } from '../errors';
import { LineSplitter } from '../framing/line-splitter';
import { NOTE_MIN, noteReceived } from './big-buffers';
import { closeQuietly, inodePath, type FifoAnchor } from './fifo';
import { LineBuffer } from './line-buffer';
import { awaitExit, newControl, onWorkerCrash, spawnFifoWorker, waitReady } from './worker-handle';
import { Ctrl, Phase, Slot, TOKEN_LENGTH, type ReaderMessage, type ReaderWorkerData } from './worker-protocol';

const { O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants;

export interface InReaderEvents {
  onLine(line: Buffer): void;
  /** Whether complete lines should go to {@link onBatch} rather than one by one to onLine. */
  wantsBatches(): boolean;
  /** Complete lines, each ending with `\n`, none longer than maxMessageSize. */
  onBatch(lines: Buffer): void;
  onOverflow(length: number): void;
  onConnect(): void;
  onDisconnect(): void;
  onError(err: PipeIOError): void;
  /** The reader worker died without being asked to stop. */
  onCrash(err: PipeIOError): void;
}

interface Session {
  socket: net.Socket;
  fd: number;
  /** The anchor fd whose inode this session reads. */
  anchorFd: number;
}

/** Longest run of message handling before the reader yields to the event loop, ms. */
const SLICE_MS = 4;
/** At stop(), the most bytes still read from the kernel pipe and delivered. */
const STOP_DRAIN_MAX = 1024 * 1024;
/**
 * An unterminated line this long moves its writer session to the reader
 * worker. Measured (docs/bench.md): 1 MiB messages read on the main thread
 * went at about half the rate of a worker reading them in parallel, while a
 * round trip through the worker costs a thread wake-up more.
 */
const ESCALATE_AT = 256 * 1024;

export class InReader {
  readonly path: string;
  private anchor: FifoAnchor = { fd: -1, dev: 0, ino: 0 };
  /** Anchors of inodes a session may still be on (after a rebind). */
  private readonly oldAnchors = new Map<number, FifoAnchor>();
  private readonly events: InReaderEvents;
  private readonly splitter: LineSplitter;
  private readonly maxMessageSize: number;
  private readonly lines: LineBuffer;
  private session: Session | undefined;
  /** The worker reads a session (on the inode of this anchor fd) until its 'eof'. */
  private threadSession: { anchorFd: number } | undefined;
  private worker: Worker | undefined;
  private readonly control = newControl();
  private readonly token = makeToken();
  /** Worker chunks, and where its session ended ('eof') or came back ('hand-back'), not yet handled. */
  private readonly pending: Array<Buffer | 'eof' | 'hand-back'> = [];
  private deferred = false;
  private connected = false;
  /** Milliseconds spent on messages since the last yield to the event loop. */
  private spent = 0;
  private stopping = false;

  constructor(path: string, events: InReaderEvents, maxMessageSize: number) {
    this.path = path;
    this.events = events;
    this.maxMessageSize = maxMessageSize;
    this.splitter = new LineSplitter(events.onLine, events.onOverflow, { maxLineLength: maxMessageSize });
    this.lines = new LineBuffer(maxMessageSize, (chunk) => this.deliver(chunk));
  }

  get identity(): FifoAnchor {
    return this.anchor;
  }

  /** Starts reading the FIFO `anchor` reaches; clients may connect once this resolves. */
  async start(anchor: FifoAnchor): Promise<void> {
    this.anchor = anchor;
    // The worker is started now, not at the first long line: starting a worker takes tens of
    // ms, which the first big messages after start would wait for.
    this.startWorker();
    await waitReady(this.worker as Worker, 'in-pipe reader');
    this.openSession();
  }

  /**
   * Moves onto a new FIFO inode at the next writer boundary: a writer still
   * on the old inode is read to its end first. If none is, a writer that
   * opens and closes at once ends the session (EOF) and the next one opens
   * on the new inode.
   */
  rebind(anchor: FifoAnchor): void {
    const old = this.anchor;
    this.oldAnchors.set(old.fd, old);
    this.anchor = anchor;
    for (const a of this.oldAnchors.values()) {
      try {
        closeQuietly(fs.openSync(inodePath(a.fd, this.path), O_WRONLY | O_NONBLOCK));
      } catch {
        /* no reader left there */
      }
    }
  }

  /** Stops reading without losing a message already in the pipe, or inventing one. */
  async stop(timeoutMs: number): Promise<PipeIOError | undefined> {
    this.stopping = true;
    const session = this.session;
    this.session = undefined;
    if (session) {
      this.drainNow(session);
      session.socket.destroy();
    }
    let result: PipeIOError | undefined;
    const worker = this.worker;
    if (worker) {
      const view = this.control.view;
      Atomics.store(view, Slot.CTRL, Ctrl.STOP);
      Atomics.notify(view, Slot.GO); // an idle worker
      Atomics.notify(view, Slot.COUNTER); // one waiting for the main thread
      const wakers = new Map<number, { fd: number; sent: boolean }>();
      const poke = (): void => {
        // A worker in open() or read() is woken by the token, sent to every inode it may be on.
        const phase = Atomics.load(view, Slot.PHASE);
        if (phase !== Phase.OPENING && phase !== Phase.READING) return;
        for (const a of [this.anchor, ...this.oldAnchors.values()]) {
          let w = wakers.get(a.fd);
          if (!w) {
            try {
              w = { fd: fs.openSync(inodePath(a.fd, this.path), O_WRONLY | O_NONBLOCK), sent: false };
            } catch {
              continue;
            }
            wakers.set(a.fd, w);
          }
          if (w.sent) continue;
          try {
            w.sent = fs.writeSync(w.fd, this.token) === TOKEN_LENGTH;
          } catch (err) {
            if (!isErrno(err, 'EAGAIN')) w.sent = true; // nothing more to do on this inode
          }
        }
      };
      result = await awaitExit(worker, poke, 2, timeoutMs, 'in-pipe reader');
      for (const w of wakers.values()) closeQuietly(w.fd);
      this.drainPending(Infinity); // what the worker read before the token (at most a few chunks)
    }
    this.splitter.discard();
    this.lines.reset();
    closeQuietly(this.anchor.fd);
    this.anchor = { ...this.anchor, fd: -1 };
    for (const a of this.oldAnchors.values()) closeQuietly(a.fd);
    this.oldAnchors.clear();
    return result;
  }

  /** Reads what the kernel pipe holds right now (non-blocking, bounded) and delivers it. */
  private drainNow(session: Session): void {
    let budget = STOP_DRAIN_MAX;
    while (budget > 0) {
      const room = this.lines.room();
      let n: number;
      try {
        n = fs.readSync(session.fd, room, 0, Math.min(room.length, budget), null);
      } catch (err) {
        if (!isErrno(err, 'EAGAIN', 'EWOULDBLOCK', 'EBADF')) {
          this.events.onError(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `in-pipe reader: ${(err as Error).message}`, { path: this.path }));
        }
        return;
      }
      if (n === 0) return;
      budget -= n;
      this.lines.appended(n);
    }
  }

  /** Opens a loop session on the inode of `anchorFd` (default: the current anchor). */
  private openSession(anchorFd = this.anchor.fd): void {
    if (this.stopping || this.threadSession) return;
    let fd: number;
    try {
      fd = fs.openSync(inodePath(anchorFd, this.path), O_RDONLY | O_NONBLOCK);
    } catch (err) {
      this.events.onError(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `in-pipe reader: ${(err as Error).message}`, { path: this.path, cause: err }));
      return;
    }
    // `onread` (Node >= 12, missing from @types/node 20's constructor options): libuv reads
    // straight into the line buffer, no Buffer per read and no 'data' events.
    const options: net.SocketConstructorOpts & { onread: net.OnReadOpts } = {
      fd,
      readable: true,
      writable: false,
      onread: { buffer: () => this.lines.room(), callback: (n: number) => this.sessionOnRead(n) },
    };
    const socket = new net.Socket(options);
    const session: Session = { socket, fd, anchorFd };
    this.session = session;
    socket.on('end', () => this.sessionOnEnd(session));
    socket.on('error', (err) => {
      if (this.session !== session) return;
      this.events.onError(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `in-pipe reader: ${err.message}`, { path: this.path, cause: err }));
      this.sessionOnEnd(session);
    });
  }

  /** `n` bytes were read into the line buffer's room. Returns false to pause reading (a slice is used up). */
  private sessionOnRead(n: number): boolean {
    const started = performance.now();
    this.lines.appended(n);
    this.spent += performance.now() - started;
    if (this.lines.pendingLength >= ESCALATE_AT && this.session && !this.stopping) {
      this.escalate(this.session);
      return false;
    }
    if (this.spent <= SLICE_MS) return true;
    // A client streaming without pause would otherwise hold timers and I/O off
    // for as long as it streams: yield one setImmediate hop, then read on.
    setImmediate(readerOnSlice, this);
    return false;
  }

  /** @internal the setImmediate continuation of {@link sessionOnRead}. */
  resumeSlice(): void {
    this.spent = 0;
    if (this.deferred) {
      this.deferred = false;
      this.drainPending();
    }
    if (this.session && !this.session.socket.destroyed) this.session.socket.resume();
  }

  /** Every writer left (EOF) or the handle failed: end the line, open the next session. */
  private sessionOnEnd(session: Session): void {
    if (this.session !== session) return;
    this.session = undefined;
    session.socket.destroy();
    this.lines.flush(); // an unterminated fragment goes to the splitter
    this.sessionEnded(session.anchorFd);
  }

  private sessionEnded(anchorFd: number): void {
    this.splitter.end();
    if (this.connected) {
      this.connected = false;
      this.events.onDisconnect();
    }
    if (anchorFd !== this.anchor.fd) {
      const old = this.oldAnchors.get(anchorFd);
      this.oldAnchors.delete(anchorFd);
      if (old) closeQuietly(old.fd);
    }
    this.openSession();
  }

  /** Hands the rest of a loop session (a long line is coming in) to the reader worker. */
  private escalate(session: Session): void {
    this.session = undefined;
    session.socket.destroy(); // the worker opens its own, blocking fd; the anchor keeps the pipe alive
    this.lines.flush(); // the line so far goes to the splitter, the worker's chunks follow it
    this.threadSession = { anchorFd: session.anchorFd };
    const view = this.control.view;
    Atomics.store(view, Slot.ANCHOR, session.anchorFd);
    if (!this.worker) this.startWorker();
    Atomics.add(view, Slot.GO, 1);
    Atomics.notify(view, Slot.GO);
  }

  private startWorker(): void {
    const workerData: ReaderWorkerData = {
      path: this.path,
      control: this.control.buffer,
      stopToken: this.token,
      maxMessageSize: this.maxMessageSize,
    };
    const worker = spawnFifoWorker('reader-worker', workerData);
    this.worker = worker;
    worker.on('message', (m: ReaderMessage) => this.workerOnMessage(m));
    onWorkerCrash(worker, 'in-pipe reader', () => this.stopping, this.events.onCrash);
  }

  private workerOnMessage(m: ReaderMessage): void {
    switch (m.type) {
      case 'ready':
      case 'stopped':
        break;
      case 'data':
        if (m.length >= NOTE_MIN) noteReceived();
        this.pending.push(Buffer.from(m.buffer, 0, m.length));
        if (!this.deferred) this.drainPending();
        break;
      case 'error':
        if (!this.stopping) {
          this.events.onError(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `in-pipe reader: ${m.message}`, { path: this.path }));
        }
        this.pending.push('eof');
        if (!this.deferred) this.drainPending();
        break;
      case 'eof':
      case 'hand-back':
        this.pending.push(m.type);
        if (!this.deferred) this.drainPending();
        break;
      default:
        throw new Error(`this should not happen: unknown reader message ${JSON.stringify(m)}`);
    }
  }

  /**
   * Splits the worker's chunks into messages, yielding to the event loop
   * (one setImmediate hop) after every SLICE_MS of work: a MessagePort
   * delivers all queued messages in one go.
   */
  private drainPending(budget = SLICE_MS): void {
    while (this.pending.length > 0) {
      if (this.spent > budget) {
        this.deferred = true;
        setImmediate(readerOnSlice, this);
        return;
      }
      const started = performance.now();
      const chunk = this.pending.shift() as Buffer | 'eof' | 'hand-back';
      if (chunk === 'eof') {
        const ended = this.threadSession;
        this.threadSession = undefined;
        this.sessionEnded(ended ? ended.anchorFd : this.anchor.fd);
      } else if (chunk === 'hand-back') {
        // The same writer session goes on, read here: on the inode the worker read.
        const back = this.threadSession;
        this.threadSession = undefined;
        this.openSession(back?.anchorFd);
      } else {
        Atomics.sub(this.control.view, Slot.COUNTER, 1);
        Atomics.notify(this.control.view, Slot.COUNTER);
        this.deliver(chunk);
      }
      this.spent += performance.now() - started;
    }
  }

  /** Bytes in order from the line buffer: whole lines, or a piece of a very long one. */
  private deliver(chunk: Buffer): void {
    if (!this.connected) {
      this.connected = true;
      this.events.onConnect();
    }
    // Whole lines need no splitting for a batch handler: at most maxMessageSize + 1 bytes
    // means no line is too long.
    if (
      this.events.wantsBatches() &&
      this.splitter.idle &&
      chunk[chunk.length - 1] === 10 &&
      chunk.length <= this.maxMessageSize + 1
    ) {
      this.events.onBatch(chunk);
    } else {
      this.splitter.push(chunk);
    }
  }
}

function readerOnSlice(reader: InReader): void {
  reader.resumeSlice();
}

/** 16 random bytes, none of them `\n`, so the token never ends a line. */
function makeToken(): Uint8Array {
  const token = randomBytes(TOKEN_LENGTH);
  for (let i = 0; i < token.length; i++) if (token[i] === 10) token[i] = 11;
  return new Uint8Array(token);
}
