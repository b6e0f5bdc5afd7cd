/**
 * HubConnection: one client socket of a hub. Owns the bytes (framing,
 * decoding, the bounded outgoing queue, timeouts) and the handshake; hands
 * decoded frames of an identified client to the routing core.
 *
 *   accepted --identify--> (secret? challenged --conn_proof-->) ready --> closed
 *       \______________ bad frame / timeout / wrong proof ______________/
 *
 * Any state answers `ping` with `pong` (comm-ipc does so before the auth check).
 * A frame that cannot be decoded, an oversized header, an unknown type, a
 * client that never identifies, and a client whose unread output passes
 * `maxQueueBytes` each end in a coded `error` frame (where one can still be
 * written) and a close. Nothing else is affected.
 *
 * Flow control (./flow-control.ts): a client whose unsent output passes the
 * high-water mark holds the producers filling it (their sockets are not read)
 * until it drains. One that takes nothing of its output for idleTimeout is a
 * slow consumer: its queue, then an `error` frame (PIPEIO_ERR_SLOW_CONSUMER),
 * then the close. A held client is sent a `pong` every second, so that its
 * own idle timer does not take our silence for a dead hub.
 */
import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import { pipeIOError, type PipeIOError, type PipeIOErrorCode } from '../../errors';
import { decodeHubFrame, encodeFrame, type HubFrame } from '../protocol/codec';
import { FrameReader } from '../protocol/frame-reader';
import { Texts } from '../protocol/messages';
import { connectionProof, randomHexChallenge, safeEqualHex } from '../security/signing';
import type { HubCore } from './core';
import type { Endpoint } from './endpoint';
import { optString } from './fields';
import { FANOUT_STALL_MS, FLOW_HIGH_WATER, FlowGate, flowKind, flowScope } from './flow-control';
import { OutQueue } from './out-queue';

export interface ConnectionLimits {
  maxFrameSize: number;
  /** Unread outgoing bytes beyond which the client is a slow consumer and is closed. */
  maxQueueBytes: number;
  /** Milliseconds a client may stay silent, or take nothing of its unsent output (a slow consumer), before it is closed. */
  idleTimeout: number;
  dataTimeout: number;
  handshakeTimeout: number;
}

export interface ConnectionContext {
  core: HubCore;
  limits: ConnectionLimits;
  /** `H` of the connection secret, if the hub has one. */
  secretHash: string | undefined;
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
/** How long a closing connection may take to flush its last error frame. */
const CLOSE_FLUSH_MS = 1000;
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
  /** Bytes the kernel had taken at the last sweep that saw them move (-1: queue empty). */
  private outTaken = -1;
  /** When a sweep last saw the output queue empty or moving. */
  private outMovedAt = Date.now();
  /** Takes nothing for FANOUT_STALL_MS: publications to it no longer hold their publishers. */
  private lagging = false;
  private lastKeepalive = 0;

  constructor(socket: net.Socket, ctx: ConnectionContext) {
    this.socket = socket;
    this.ctx = ctx;
    this.reader = new FrameReader(ctx.limits.maxFrameSize);
    this.highWater = Math.min(FLOW_HIGH_WATER, ctx.limits.maxQueueBytes / 4);
    this.lowWater = this.highWater / 2;
    // The socket holds at most a quarter of the mark ahead: its progress shows in steps that small.
    this.out = new OutQueue(socket, this.highWater / 4, () => this.releaseAtLowWater());
    this.gate = new FlowGate({
      pauseReading: () => socket.pause(),
      resumeReading: () => {
        this.lastRead = Date.now(); // the silence was ours
        if (this.state !== 'closed') socket.resume();
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
        if (!this.lagging) this.gate.hold(producer, true);
        return;
      case 'point':
        this.gate.hold(producer, false);
        return;
    }
  }

  /** Writes what this tick delivered. */
  flush(): void {
    this.out.flush();
    // The kernel took it at once: nobody needs holding (later writes report through releaseAtLowWater).
    this.releaseAtLowWater();
  }

  /** Producers held by this connection are read again once its queue is down to half the mark. */
  private releaseAtLowWater(): void {
    if (this.gate.holding && this.out.bytes <= this.lowWater) this.gate.release();
  }

  /** Sends a coded `error` frame (if possible) and closes. Idempotent. */
  close(err: PipeIOError | undefined, sendError = true): void {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    this.gate.dispose();
    if (err && sendError && !this.socket.destroyed) {
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
      if (now - this.lastKeepalive >= HELD_KEEPALIVE_MS) {
        this.lastKeepalive = now;
        this.deliver(PONG);
      }
      return;
    }
    const limit = this.reader.bufferedBytes > 0 ? dataTimeout : idleTimeout;
    if (now - this.lastRead <= limit) return;
    // Silent, with output it does not take: it stopped reading too, which is what it is told.
    if (this.out.bytes > 0) this.fail('PIPEIO_ERR_SLOW_CONSUMER', `client ${this.id} sent nothing and took none of its output for ${limit} ms`);
    else this.fail('PIPEIO_ERR_TIMEOUT', `no data for ${limit} ms`);
  }

  /**
   * Watches the output queue: one that takes nothing for FANOUT_STALL_MS stops
   * holding publishers; for idleTimeout, it is cut off. Progress is what the
   * kernel took (`bytesWritten` counts queued bytes too). True if it closed.
   */
  private checkOutput(now: number, idleTimeout: number): boolean {
    const pending = this.out.bytes;
    const taken = pending === 0 ? -1 : this.socket.bytesWritten - this.socket.writableLength;
    if (pending === 0 || taken !== this.outTaken) {
      this.outTaken = taken;
      this.outMovedAt = now;
      this.lagging = false;
      return false;
    }
    const stuck = now - this.outMovedAt; // at least this long, since the last sweep that saw it move
    if (stuck > idleTimeout) {
      this.fail('PIPEIO_ERR_SLOW_CONSUMER', `client ${this.id} took none of its ${pending} queued bytes for ${stuck} ms`);
      return true;
    }
    if (stuck >= FANOUT_STALL_MS && !this.lagging) {
      this.lagging = true;
      this.gate.releaseFanout();
    }
    return false;
  }

  private fail(code: PipeIOErrorCode, message: string): void {
    this.close(pipeIOError(code, message));
  }

  private onData(chunk: Buffer): void {
    this.lastRead = Date.now();
    let payloads: Buffer[];
    try {
      payloads = this.reader.push(chunk);
    } catch (err) {
      this.close(err as PipeIOError);
      return;
    }
    const outer = flowScope.producer;
    flowScope.producer = this.gate;
    try {
      this.route(payloads);
    } finally {
      flowScope.producer = outer;
      flowScope.frame = undefined;
    }
  }

  private route(payloads: Buffer[]): void {
    for (const payload of payloads) {
      if (this.state === 'closed') return;
      let frame: HubFrame;
      try {
        frame = decodeHubFrame(payload);
      } catch (err) {
        this.close(err as PipeIOError);
        return;
      }
      flowScope.frame = frame;
      try {
        this.handle(frame);
      } catch (err) {
        const e = err as PipeIOError;
        this.close(e.code ? e : pipeIOError('PIPEIO_ERR_PROTOCOL', String((err as Error)?.message ?? err), { cause: err }));
        return;
      }
    }
  }

  private handle(frame: HubFrame): void {
    if (frame.type === 'ping') {
      this.deliver(PONG);
      return;
    }
    switch (this.state) {
      case 'ready':
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
        if (frame.type !== 'conn_proof') throw pipeIOError('PIPEIO_ERR_AUTH', Texts.notAuthenticated);
        this.checkProof(frame);
        return;
      case 'closed':
        return;
    }
  }

  private identify(frame: HubFrame): void {
    const id = optString(frame.fields, 'client_id') || `cli-${randomBytes(4).toString('hex')}`;
    const mode = optString(frame.fields, 'mode') || 'client';
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
    this.deliver(encodeFrame({ type: 'identified', client_id: this.id, server_id: this.ctx.core.serverId }));
    this.ctx.core.log(`Client ${this.id} identified`, 'info', this.id);
    this.ctx.onIdentified(this);
  }

  private onDrain(): void {
    // Node emits 'drain' before the write callbacks: the backlog may not have moved on yet.
    this.lagging = false;
    this.releaseAtLowWater();
  }

  private onSocketClose(): void {
    if (this.state !== 'closed') this.close(undefined);
  }
}

function flushOutbox(conn: HubConnection): void {
  conn.flush();
}
