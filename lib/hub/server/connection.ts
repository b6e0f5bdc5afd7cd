/**
 * HubConnection: one client socket of a hub. Owns the bytes (framing,
 * decoding, the bounded outgoing queue, timeouts) and the handshake; hands
 * decoded frames of an identified client to the routing core.
 *
 *   accepted --identify--> (secret? challenged --conn_proof-->) ready --> closed
 *       \______________ bad frame / timeout / wrong proof ______________/
 *
 * Only `ready` answers `ping`: before the handshake completes, a ping is a
 * first frame like any other and closes the connection (comm-ipc discards a
 * non-identify first frame, and closes on a ping in place of the proof).
 * A frame that cannot be decoded, an oversized header, an unknown type, a
 * reserved or refused identity, a client that never identifies, a frame not
 * complete within `dataTimeout` of its first byte, a partial frame past the
 * hub's `maxPartialFrameBytes`, and a client whose unread output passes
 * `maxQueueBytes` each end in a coded `error` frame (where one can still be
 * written) and a close. Nothing else is affected.
 *
 * Flow control (./flow-control.ts): a client whose unsent output passes the
 * high-water mark holds the producers filling it (their sockets are not read)
 * until it drains. One that takes nothing of its output for idleTimeout is a
 * slow consumer: its queue, then an `error` frame (PIPEIO_ERR_SLOW_CONSUMER),
 * then the close. A held client is sent a `pong` every second, so that its
 * own idle timer does not take our silence for a dead hub.
 *
 * Reading: the socket is read unless flow control holds this client or its own
 * frames still wait for their turn (intake slices, below).
 */
import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import { pipeIOError, type PipeIOError, type PipeIOErrorCode } from '../../errors';
import { decodeHubFrame, encodeFrame, type HubFrame } from '../protocol/codec';
import { FrameReader, type PartialFrameBudget } from '../protocol/frame-reader';
import { RESERVED_CLIENT_IDS, Texts } from '../protocol/messages';
import { connectionProof, randomHexChallenge, safeEqualHex } from '../security/signing';
import type { HubCore } from './core';
import type { Endpoint } from './endpoint';
import { optString } from './fields';
import { FANOUT_STALL_MS, FLOW_HIGH_WATER, FlowGate, flowKind, flowScope, OutputWatch, stopReading } from './flow-control';
import { OutQueue } from './out-queue';

export interface ConnectionLimits {
  maxFrameSize: number;
  /** Unread outgoing bytes beyond which the client is a slow consumer and is closed. */
  maxQueueBytes: number;
  /** Milliseconds a client may stay silent, or take nothing of its unsent output (a slow consumer), before it is closed. */
  idleTimeout: number;
  /** Milliseconds a frame may take from its first byte to its last. */
  dataTimeout: number;
  handshakeTimeout: number;
  /** Least average bytes per read of a frame past TRICKLE_READS reads (0: no floor). */
  minFrameReadBytes: number;
}

export interface ConnectionContext {
  core: HubCore;
  limits: ConnectionLimits;
  /** `H` of the connection secret, if the hub has one. */
  secretHash: string | undefined;
  /** Whether clients may identify with `mode: "bridge"`. */
  allowBridges: boolean;
  /** What all connections' partial frames may hold together. */
  budget: PartialFrameBudget;
  onIdentified(conn: HubConnection): void;
  onClosed(conn: HubConnection, err: PipeIOError | undefined): void;
  onError(err: PipeIOError, clientId: string | undefined): void;
}

type ConnState = 'accepted' | 'challenged' | 'ready' | 'closed';

const PONG = encodeFrame({ type: 'pong' });
/**
 * Calls are written once this many have gathered, not only at the end of the tick, so a
 * provider starts on the first calls of a large read while the hub routes the rest (cut-through;
 * one pipelined connection: 36k -> 50k calls/s). Other frames (responses, stream chunks,
 * publications) wait for the end of the tick: their receivers only consume, and early writes
 * there cost syscalls (a stream: 168k -> 84k chunks/s). Measured with bench/hub.bench.js.
 */
const CUT_THROUGH_FRAMES = 16;
/**
 * Longest a connection's frames are handled at a stretch (ms); then the rest
 * wait a turn of the event loop. One read can bring about 2 MiB (libuv reads
 * up to 32 x 64 KiB per wake-up): 35,000 small frames, ~140 ms of work.
 */
const INTAKE_SLICE_MS = 4;
/**
 * Reads of one frame after which its average read size must reach
 * `minFrameReadBytes`. A read costs about 1 us of CPU whatever its size (the
 * kernel's and libuv's share, measured: a Node server that drops the bytes
 * pays the same), so a frame sent one byte per write costs at most this many
 * before it is refused.
 */
const TRICKLE_READS = 4096;
const NO_FRAMES: Buffer[] = [];
/** How long a closing connection may take to flush its last error frame. */
export const CLOSE_FLUSH_MS = 1000;
/** The same for a slow consumer: it reads slowly, if at all, and its queue comes first. */
const SLOW_FLUSH_MS = 5000;
/** How often a held client (one we do not read) is sent a `pong`. */
const HELD_KEEPALIVE_MS = 1000;

export class HubConnection implements Endpoint {
  id = '';
  mode = 'client';
  readonly local = true;
  private state: ConnState = 'accepted';
  private readonly socket: net.Socket;
  private readonly ctx: ConnectionContext;
  private readonly reader: FrameReader;
  private challenge = '';
  private readonly acceptedAt = Date.now();
  private lastRead = Date.now();
  /** What this connection owes its socket: this tick's frames, then a backlog behind a lagging reader. */
  private readonly out: OutQueue;
  /** This connection as a producer and as a receiver of flow control. */
  private readonly gate: FlowGate;
  /** Unsent bytes past which producers filling this connection are held. */
  private readonly highWater: number;
  /**
   * Unsent bytes under which they are read again (half the high-water mark): the
   * receiver still has that much to read while their next frames arrive, so a
   * producer that is slow to be scheduled again (a busy machine) does not starve it.
   */
  private readonly lowWater: number;
  /** How long its output has not moved (a lagging reader, a slow consumer). */
  private readonly watch = new OutputWatch();
  private lastKeepalive = 0;
  /** When flow control last stopped reading this client (its frame deadline does not run meanwhile). */
  private heldSince = 0;
  /** The frame in progress: which one (FrameReader.framesStarted), and since when. */
  private frameSeq = 0;
  private frameStartedAt = 0;
  /** Reads of the frame in progress so far. */
  private frameReads = 0;
  /** Frames read but not handled yet (from `backlogAt` on), and whether reading waits for them. */
  private backlog: Buffer[] = NO_FRAMES;
  private backlogAt = 0;
  private intakeHeld = false;

  constructor(socket: net.Socket, ctx: ConnectionContext) {
    this.socket = socket;
    this.ctx = ctx;
    this.reader = new FrameReader(ctx.limits.maxFrameSize, ctx.budget);
    this.highWater = Math.min(FLOW_HIGH_WATER, ctx.limits.maxQueueBytes / 4);
    this.lowWater = this.highWater / 2;
    // The socket holds at most a quarter of the mark ahead: its progress shows in steps that small.
    this.out = new OutQueue(socket, this.highWater / 4, () => this.releaseAtLowWater());
    this.gate = new FlowGate({
      pauseReading: () => {
        this.heldSince = Date.now();
        this.syncReading();
      },
      resumeReading: () => {
        const now = Date.now();
        this.lastRead = now; // the silence was ours
        if (this.reader.inFrame) this.frameStartedAt += now - this.heldSince; // and so was the frame's wait
        this.syncReading();
      },
    });
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => this.close(undefined)); // followed by 'close'
    socket.on('close', () => this.onSocketClose());
  }

  get identified(): boolean {
    return this.state === 'ready';
  }

  /** True once the handshake completed (stays true after close). */
  identifiedOnce = false;

  /** Bytes written but not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.out.bytes;
  }

  deliver(frame: Buffer, startsWork = false): boolean {
    if (this.state === 'closed' || this.socket.destroyed) return false;
    const queued = this.out.bytes + frame.length;
    if (queued > this.ctx.limits.maxQueueBytes) {
      this.close(pipeIOError('PIPEIO_ERR_SLOW_CONSUMER', `client ${this.id} did not read ${queued - frame.length} queued bytes`));
      return false;
    }
    // Frames produced in one tick leave together (one syscall, one copy); calls 16 at a time at most.
    if (this.out.push(frame)) process.nextTick(flushOutbox, this);
    if (queued > this.highWater) this.holdProducer();
    if (startsWork && this.out.pendingFrames >= CUT_THROUGH_FRAMES) this.flush();
    return true;
  }

  /** Our queue is past the high-water mark: hold whoever's frame is being routed (see flow-control.ts). */
  private holdProducer(): void {
    const producer = flowScope.producer;
    if (producer === undefined) return; // hub-made (timers, federation): bounded by maxQueueBytes
    switch (flowKind(flowScope.frame)) {
      case 'reply':
        // It does not read its replies: stop reading its requests until it does.
        this.gate.hold(this.gate, false);
        return;
      case 'fanout':
        if (!this.watch.lagging) this.gate.hold(producer, true);
        return;
      case 'point':
        this.gate.hold(producer, false);
        return;
    }
  }

  /** Writes what this tick delivered. */
  flush(): void {
    const n = this.out.pendingFrames;
    if (n > 0) this.ctx.core.observer.sent(this.out.pendingBytes, n);
    this.out.flush();
    // The kernel took it at once: nobody needs holding (later writes report through releaseAtLowWater).
    this.releaseAtLowWater();
  }

  /** Producers held by this connection are read again once its queue is down to half the mark. */
  private releaseAtLowWater(): void {
    if (this.gate.holding && this.out.bytes <= this.lowWater) this.gate.release();
  }

  /** Reads the socket unless flow control holds this client or its own frames wait for their turn. */
  private syncReading(): void {
    if (this.state === 'closed') return;
    if (this.gate.held || this.intakeHeld) this.socket.pause();
    else this.socket.resume();
  }

  /** Sends a coded `error` frame (if possible) and closes. Idempotent. */
  close(err: PipeIOError | undefined, sendError = true): void {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    this.reader.dispose(); // its partial frame no longer counts against the hub's budget
    this.gate.dispose();
    if (err && sendError && !this.socket.destroyed) {
      // Nothing it sends now is read: a flood or a trickle would go on costing CPU until the end.
      stopReading(this.socket);
      this.out.drainAll(); // replies delivered before the error go first
      this.socket.end(encodeFrame({ type: 'error', message: err.message, code: err.code }));
      const grace = err.code === 'PIPEIO_ERR_SLOW_CONSUMER' ? SLOW_FLUSH_MS : CLOSE_FLUSH_MS;
      const timer = setTimeout(() => this.socket.destroy(), grace);
      timer.unref();
      this.socket.once('close', () => clearTimeout(timer));
    } else {
      this.socket.destroy();
    }
    if (wasReady) this.ctx.core.detach(this.id);
    if (err && err.code !== 'PIPEIO_ERR_CLOSED') this.ctx.onError(err, this.id || undefined);
    this.ctx.onClosed(this, err);
  }

  /** Applies the idle, data, handshake and output deadlines; called by the hub's sweep timer. */
  checkTimeouts(now: number): void {
    if (this.state === 'closed') return;
    const { idleTimeout, dataTimeout, handshakeTimeout } = this.ctx.limits;
    if (this.state !== 'ready') {
      if (now - this.acceptedAt > handshakeTimeout) this.fail('PIPEIO_ERR_TIMEOUT', `no identification within ${handshakeTimeout} ms`);
      return;
    }
    if (this.checkOutput(now, idleTimeout)) return;
    if (this.gate.held) {
      // We stopped reading it: its silence is ours, and ours must not look like a dead hub.
      // Half the period: the sweep that calls us runs about every HELD_KEEPALIVE_MS, with jitter.
      if (now - this.lastKeepalive >= HELD_KEEPALIVE_MS / 2) {
        this.lastKeepalive = now;
        this.deliver(PONG);
      }
      return;
    }
    if (this.intakeHeld) return; // its frames wait for their turn: the silence is ours
    if (this.reader.inFrame) {
      // A deadline for the whole frame from its first byte: a byte now and then does not extend it.
      if (now - this.frameStartedAt > dataTimeout) {
        this.fail('PIPEIO_ERR_TIMEOUT', `a frame was not complete ${dataTimeout} ms after its first byte (${this.reader.bufferedBytes} bytes received)`);
      }
      return;
    }
    if (now - this.lastRead <= idleTimeout) return;
    // Silent, with output it does not take: it stopped reading too, which is what it is told.
    if (this.out.bytes > 0) this.fail('PIPEIO_ERR_SLOW_CONSUMER', `client ${this.id} sent nothing and took none of its output for ${idleTimeout} ms`);
    else this.fail('PIPEIO_ERR_TIMEOUT', `no data for ${idleTimeout} ms`);
  }

  /** Cuts off a reader that takes none of its output for idleTimeout; true if it closed (see OutputWatch). */
  private checkOutput(now: number, idleTimeout: number): boolean {
    const pending = this.out.bytes;
    const stuck = this.watch.stuck(now, pending, this.socket.bytesWritten - this.socket.writableLength);
    if (stuck > idleTimeout) {
      this.fail('PIPEIO_ERR_SLOW_CONSUMER', `client ${this.id} took none of its ${pending} queued bytes for ${stuck} ms`);
      return true;
    }
    if (stuck >= FANOUT_STALL_MS && !this.watch.lagging) {
      this.watch.lagging = true;
      this.gate.releaseFanout();
    }
    return false;
  }

  private fail(code: PipeIOErrorCode, message: string): void {
    this.close(pipeIOError(code, message));
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return; // closing: its error frame is on its way, nothing more is read
    const now = Date.now();
    this.lastRead = now;
    let payloads: Buffer[];
    try {
      payloads = this.reader.push(chunk);
    } catch (err) {
      this.close(err as PipeIOError);
      return;
    }
    this.ctx.core.observer.received(chunk.length, payloads.length);
    if (this.reader.inFrame && !this.trackFrame(now)) return;
    if (payloads.length === 0) return;
    if (this.backlogAt < this.backlog.length) {
      for (const p of payloads) this.backlog.push(p); // behind what waits already
      return;
    }
    this.backlog = payloads;
    this.backlogAt = 0;
    this.work();
  }

  /**
   * Handles waiting frames in order, for at most INTAKE_SLICE_MS: the rest
   * wait for the next turn of the event loop with reading paused, so that a
   * burst from one client (a read can bring tens of thousands of small
   * frames) never holds the loop.
   */
  private work(): void {
    const started = performance.now();
    const queue = this.backlog;
    // Frames routed now are this connection's: a full receiver holds it (flow-control.ts).
    const outer = flowScope.producer;
    flowScope.producer = this.gate;
    try {
      while (this.backlogAt < queue.length) {
        if (this.state === 'closed') break;
        if (!this.handlePayload(queue[this.backlogAt++]!)) break;
        if ((this.backlogAt & 15) === 0 && this.backlogAt < queue.length && performance.now() - started > INTAKE_SLICE_MS) {
          if (!this.intakeHeld) {
            this.intakeHeld = true;
            this.syncReading();
          }
          setImmediate(() => this.work());
          return;
        }
      }
    } finally {
      flowScope.producer = outer;
      flowScope.frame = undefined;
    }
    this.backlog = NO_FRAMES;
    this.backlogAt = 0;
    if (this.intakeHeld) {
      this.intakeHeld = false;
      this.syncReading();
    }
  }

  /** Decodes and handles one payload; false once the connection is closed by it. */
  private handlePayload(payload: Buffer): boolean {
    let frame: HubFrame;
    try {
      frame = decodeHubFrame(payload);
    } catch (err) {
      this.close(err as PipeIOError);
      return false;
    }
    flowScope.frame = frame;
    try {
      this.handle(frame);
    } catch (err) {
      const e = err as PipeIOError;
      this.close(e.code ? e : pipeIOError('PIPEIO_ERR_PROTOCOL', String((err as Error)?.message ?? err), { cause: err }));
      return false;
    }
    return true;
  }

  /**
   * Starts the deadline of a frame that began in this read, and counts its
   * reads; false if the frame came in reads too small (the connection is closed).
   */
  private trackFrame(now: number): boolean {
    if (this.reader.framesStarted !== this.frameSeq) {
      this.frameSeq = this.reader.framesStarted;
      this.frameStartedAt = now;
      this.frameReads = 0;
    }
    const floor = this.ctx.limits.minFrameReadBytes;
    if (++this.frameReads > TRICKLE_READS && floor > 0 && this.reader.bufferedBytes < floor * this.frameReads) {
      const avg = (this.reader.bufferedBytes / this.frameReads).toFixed(1);
      this.fail('PIPEIO_ERR_LIMIT', `a frame arrived in ${this.frameReads} reads of ${avg} bytes on average (minFrameReadBytes: ${floor})`);
      return false;
    }
    return true;
  }

  private handle(frame: HubFrame): void {
    switch (this.state) {
      case 'ready':
        if (frame.type === 'ping') {
          this.deliver(PONG);
          return;
        }
        if (frame.type === 'identify' || frame.type === 'conn_proof') {
          this.ctx.core.replyError(this, undefined, `client ${this.id} is already identified`, 'PIPEIO_ERR_PROTOCOL');
          return;
        }
        this.ctx.core.dispatch(this, frame);
        return;
      case 'accepted':
        if (frame.type !== 'identify') throw pipeIOError('PIPEIO_ERR_PROTOCOL', 'the first frame must be "identify"');
        this.identify(frame);
        return;
      case 'challenged':
        // comm-ipc closes silently on anything but the proof here, a ping included.
        if (frame.type !== 'conn_proof') throw pipeIOError('PIPEIO_ERR_AUTH', Texts.notAuthenticated);
        this.checkProof(frame);
        return;
      case 'closed':
        return;
    }
  }

  private identify(frame: HubFrame): void {
    // No id (absent or nil): one is made up. A reserved one, the empty string included, is refused.
    const asked = optString(frame.fields, 'client_id');
    if (asked !== undefined && RESERVED_CLIENT_IDS.has(asked)) {
      throw pipeIOError('PIPEIO_ERR_RESERVED', `Client ID ${JSON.stringify(asked)} is reserved`);
    }
    const id = asked ?? `cli-${randomBytes(4).toString('hex')}`;
    const mode = optString(frame.fields, 'mode') || 'client';
    if (mode === 'bridge' && !this.ctx.allowBridges) {
      throw pipeIOError('PIPEIO_ERR_FORBIDDEN', 'Bridge mode is not allowed on this hub (it needs a connection secret, or allowBridges)');
    }
    this.id = id;
    this.mode = mode;
    if (this.ctx.core.isIdInUse(id)) throw pipeIOError('PIPEIO_ERR_ID_IN_USE', Texts.idInUse(id));
    if (this.ctx.secretHash !== undefined) {
      this.state = 'challenged';
      this.challenge = randomHexChallenge();
      this.deliver(encodeFrame({ type: 'conn_challenge', challenge: this.challenge, server_id: this.ctx.core.serverId }));
      return;
    }
    this.becomeReady();
  }

  private checkProof(frame: HubFrame): void {
    const expected = connectionProof({ hash: this.ctx.secretHash! }, this.challenge);
    if (!safeEqualHex(frame.fields.get('proof'), expected)) throw pipeIOError('PIPEIO_ERR_AUTH', Texts.authFailed);
    this.becomeReady();
  }

  private becomeReady(): void {
    // Checked again: another connection may have taken the id during the challenge.
    if (this.ctx.core.isIdInUse(this.id)) throw pipeIOError('PIPEIO_ERR_ID_IN_USE', Texts.idInUse(this.id));
    this.state = 'ready';
    this.identifiedOnce = true;
    this.ctx.core.attach(this);
    // `hub_codes`: this hub puts `code` only on errors it made itself and strips it from
    // everything it forwards, so a client may trust the code of any error it receives.
    this.deliver(encodeFrame({ type: 'identified', client_id: this.id, server_id: this.ctx.core.serverId, hub_codes: true }));
    this.ctx.core.log(`Client ${this.id} identified`, 'info', this.id);
    this.ctx.onIdentified(this);
  }

  private onDrain(): void {
    // Node emits 'drain' before the write callbacks: the backlog may not have moved on yet.
    this.watch.lagging = false;
    this.releaseAtLowWater();
  }

  private onSocketClose(): void {
    if (this.state !== 'closed') this.close(undefined);
  }
}

function flushOutbox(conn: HubConnection): void {
  conn.flush();
}
