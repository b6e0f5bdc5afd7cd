/**
 * InstanceBridge: the protocol engine between one plugin instance (its
 * lines) and its hub membership (frames, as plain objects). It knows
 * neither pipes nor sockets: the member feeds it lines and frames and gives
 * it a writer while an incarnation of the plugin is up.
 *
 *   hub 'call' ──> waiting ──writer──> in flight ──line──> response
 *                     │                    │
 *                     └── timeout / limit / closed / breach ──> error response
 *
 * A call waits while no incarnation is up and, in 'line' mode, while the
 * instance already has `pipeline` calls written and unanswered (default 1:
 * the next call is written only once the previous answer came back and the
 * lines read with it were taken, so that a second line written with an
 * answer meets no call in flight and is seen as the breach it is).
 *
 * Every call leaves the tables on each path (answer, timeout, incarnation
 * ended, close); the calls' timeouts share one timer (call-deadlines.ts).
 *
 * In 'line' mode answers match calls by order only, so an incarnation that
 * missed an answer (a call written to it timed out) or wrote a line no call
 * asked for can no longer be trusted: any line it writes next could be the
 * late answer of another call. It is breached: every call in flight on it
 * fails at once (the timed-out one PIPEIO_ERR_TIMEOUT, the others
 * PIPEIO_ERR_PROVIDER_GONE), nothing it writes afterwards is read, calls
 * from then on wait for the next incarnation, and the member is told
 * (`onBreach`) to stop it and start another.
 */
import { pipeIOError, type PipeIOError, type PipeIOErrorCode } from '../../errors';
import { CallDeadlines } from './call-deadlines';
import { CallLines } from './call-lines';
import { CallQueue } from './call-queue';
import { fromJsonText } from './json-value';
import { envelopeLine, errorOf, LineShapeError, parsePluginLine, preview, type PluginLine, type PluginLineMode } from './line-protocol';
import { OutCalls } from './out-calls';

/** The body of an answer to a call (comm-ipc's response keys, in this order). */
export type ResponseBody =
  | { data: unknown; is_stream?: true; is_final: boolean; error?: undefined }
  | { error: string; code: PipeIOErrorCode; is_final: true };

/** The hub side of one member: its id, and a way to send it frames. */
export interface HubLink {
  readonly id: string;
  /** Sends one frame (a plain object, comm-ipc keys) to the hub as this member. */
  send(frame: Record<string, unknown>): void;
  /** Sends the answer to call `requestId` of `targetId`: `{type: 'response', request_id, target_id, ...body}`. */
  respond(requestId: string, targetId: string, body: ResponseBody): void;
}

/** Writes one line (without its newline) to the running incarnation. */
export type LineWriter = (line: string) => void;

export interface BridgeOptions {
  mode: PluginLineMode;
  /** Used in error texts. */
  name: string;
  /** Per call: ms without an answer before the caller gets PIPEIO_ERR_TIMEOUT (0: never). */
  timeout: number;
  /** Calls waiting or in flight beyond which calls are refused with PIPEIO_ERR_LIMIT. */
  maxPending: number;
  /** 'line' mode: calls written to the incarnation before its answers to the earlier ones came back (>= 1). */
  pipeline: number;
  /** Channel passwords for registrations (channel -> password). */
  passwords: Map<string, string>;
  /** Problems that no caller can be told about (a stray or malformed line in 'rpc' mode, ...). */
  onError(err: PipeIOError): void;
  /**
   * 'line' mode: the running incarnation missed an answer or wrote a line no
   * call asked for; its calls have been failed and its lines are ignored from
   * now on. The member stops it and starts another (its restart policy).
   */
  onBreach(reason: string): void;
}

interface InCall {
  caller: string;
  rid: string | undefined;
  channel: string;
  event: string;
  local: string;
  /** The line, kept only while the call waits for an incarnation. */
  line: string;
  /** performance.now() ms of its timeout (0: none armed); see CallDeadlines. */
  deadline: number;
  done: boolean;
  /** Written to an incarnation. */
  written: boolean;
  /** Waiting to be written (see CallQueue). */
  queued: boolean;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export class InstanceBridge {
  private readonly link: HubLink;
  private readonly options: BridgeOptions;
  private writer: LineWriter | undefined;
  /** Calls not written yet (no incarnation up, or the line-mode pipeline full), in order. */
  private readonly waiting = new CallQueue<InCall>();
  /** 'line' mode: a pump of waiting calls is scheduled (after an answer). */
  private pumpQueued = false;
  /** 'line' mode: calls written, in order. */
  private fifo: InCall[] = [];
  private fifoHead = 0;
  /** 'rpc' mode: calls written, by local id. */
  private readonly inCalls = new Map<string, InCall>();
  /** Requests this member sent to the hub (its own, its plugin's). */
  private readonly outCalls: OutCalls;
  private seq = 0;
  private closed = false;
  /** 'line' mode: the running incarnation is breached; its lines are dropped until the next one attaches. */
  private muted = false;
  /** Timeouts of the calls (in flight or waiting). */
  private readonly deadlines: CallDeadlines<InCall>;
  private readonly lines: CallLines;
  /** Answers that matched no call (late after a timeout, or unknown ids). */
  orphanLines = 0;

  constructor(link: HubLink, options: BridgeOptions) {
    this.link = link;
    this.options = options;
    this.deadlines = new CallDeadlines<InCall>(options.timeout, (call) => this.callOnTimeout(call));
    this.lines = new CallLines(options.mode);
    this.outCalls = new OutCalls({ send: (frame) => link.send(frame), writeLine: (line) => this.writeLine(line), passwords: options.passwords });
  }

  /** Calls waiting or in flight. */
  get pending(): number {
    return this.waiting.size + this.fifo.length - this.fifoHead + this.inCalls.size;
  }

  /** An incarnation is up: later lines go to `write`; waiting calls are written now, in order (line mode: up to `pipeline`). */
  attachWriter(write: LineWriter): void {
    this.writer = write;
    this.muted = false;
    this.pump();
  }

  /** True if a call may be written now (an incarnation is up, the line-mode pipeline has room). */
  private canWrite(): boolean {
    return this.writer !== undefined && (this.options.mode === 'rpc' || this.fifo.length - this.fifoHead < this.options.pipeline);
  }

  /** Writes waiting calls, in order, while there is room. */
  private pump(): void {
    while (this.waiting.size > 0 && this.canWrite()) this.writeCall(this.waiting.shift()!);
  }

  /** The incarnation is going down: calls from now on wait for the next one. */
  detachWriter(): void {
    this.writer = undefined;
  }

  /** The incarnation is gone (its last lines delivered): its calls in flight fail; its call-outs are forgotten. */
  incarnationEnded(reason: string, code: PipeIOErrorCode = 'PIPEIO_ERR_PROVIDER_GONE'): void {
    this.writer = undefined;
    const calls = [...this.fifo.slice(this.fifoHead), ...this.inCalls.values()];
    this.fifo = [];
    this.fifoHead = 0;
    this.inCalls.clear();
    for (const call of calls) this.fail(call, reason, code);
    this.outCalls.forgetPlugin();
  }

  /** The member is stopping: everything still open fails with `reason`. Idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.incarnationEnded(reason, 'PIPEIO_ERR_CLOSED');
    this.closed = true;
    for (const call of this.waiting.drain()) this.fail(call, reason, 'PIPEIO_ERR_CLOSED');
    this.deadlines.close();
    this.outCalls.close(reason);
  }

  /** Sends a request of the member itself (registration); resolves with the hub's final response. */
  request(frame: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.outCalls.request(frame);
  }

  // -- from the hub ------------------------------------------------------------

  /** A frame the hub delivered to this member. */
  onHubFrame(frame: Record<string, unknown>): void {
    switch (frame['type']) {
      case 'call':
        this.onCall(frame);
        return;
      case 'response':
        this.outCalls.onResponse(frame);
        return;
      case 'send':
      case 'broadcast':
      case 'receive':
        if (this.options.mode === 'rpc') this.writeLine(envelopeLine(frame['type'], frame));
        return;
      case 'auth_challenge':
        this.outCalls.onChallenge(frame);
        return;
      case 'error':
        if (this.options.mode === 'rpc') this.writeLine(envelopeLine('error', frame));
        else this.options.onError(pipeIOError(codeOf(frame['code'], 'PIPEIO_ERR_REMOTE'), `hub: ${str(frame['message'])}`));
        return;
      default:
        return; // identified, pong, channel_sync, metadata_update: nothing for a plugin
    }
  }

  private onCall(frame: Record<string, unknown>): void {
    const rid = typeof frame['request_id'] === 'string' ? frame['request_id'] : undefined;
    this.onDecodedCall(rid, str(frame['sender_id']), str(frame['channel']), str(frame['event']), frame['is_stream'] === true, frame['data']);
  }

  /**
   * A call for this member, its fields already decoded (by the routing core
   * for an in-process member, else from the delivered frame): `data` may
   * hold `Map`s, Buffers and bigints (json-value.ts writes them all).
   */
  onDecodedCall(rid: string | undefined, caller: string, channel: string, event: string, isStream: boolean, data: unknown): void {
    const call = this.admit(rid, caller, channel, event);
    if (call) this.dispatchCall(call, this.lines.line(call.local, channel, event, caller, isStream, data));
  }

  /** A new call, or undefined if it was refused (closed, too many pending: the caller is answered). */
  private admit(rid: string | undefined, caller: string, channel: string, event: string): InCall | undefined {
    const call: InCall = { caller, rid, channel, event, local: '', line: '', deadline: 0, done: false, written: false, queued: false };
    if (this.closed) {
      this.fail(call, `plugin ${this.options.name} is stopping`, 'PIPEIO_ERR_CLOSED');
      return undefined;
    }
    if (this.pending >= this.options.maxPending) {
      this.fail(call, `plugin ${this.options.name} has ${this.options.maxPending} calls in flight`, 'PIPEIO_ERR_LIMIT');
      return undefined;
    }
    if (this.options.mode === 'rpc') call.local = String(++this.seq);
    return call;
  }

  /** Arms the call's timeout and writes `line` now, or queues the call with its line until it may be written. */
  private dispatchCall(call: InCall, line: string): void {
    this.deadlines.arm(call);
    if (this.waiting.size === 0 && this.canWrite()) {
      this.writeCall(call, line);
    } else {
      call.line = line;
      this.waiting.push(call);
    }
  }

  private writeCall(call: InCall, line: string = call.line): void {
    call.line = ''; // written: nothing keeps the text
    try {
      this.writer!(line);
    } catch (err) {
      // Never queued as sent: in line mode a call the plugin never saw must not take an answer's place.
      const e = err as PipeIOError;
      this.fail(call, `plugin ${this.options.name}: cannot write the call: ${e.message}`, e.code ?? 'PIPEIO_ERR_CLOSED');
      return;
    }
    call.written = true;
    if (this.options.mode === 'line') this.fifo.push(call);
    else this.inCalls.set(call.local, call);
  }

  private writeLine(line: string): void {
    if (!this.writer) return; // only calls wait for an incarnation; other traffic is dropped while down
    try {
      this.writer(line);
    } catch (err) {
      this.options.onError(err as PipeIOError);
    }
  }

  private callOnTimeout(call: InCall): void {
    if (call.done) return;
    if (this.options.mode === 'rpc') this.inCalls.delete(call.local);
    const text = `plugin ${this.options.name} did not answer ${call.channel}:${call.event} within ${this.options.timeout} ms`;
    this.fail(call, text, 'PIPEIO_ERR_TIMEOUT');
    // 'line' mode: its next line might be this call's late answer or the next call's: nothing it writes can be paired any more
    if (this.options.mode === 'line' && call.written && !this.muted) this.breach(text, 'PIPEIO_ERR_TIMEOUT');
  }

  /**
   * 'line' mode: the running incarnation can no longer be trusted to answer
   * in order. Its calls in flight fail now, its lines are ignored, calls from
   * now on wait for the next incarnation, and the member replaces it.
   */
  private breach(reason: string, code: PipeIOErrorCode): void {
    this.muted = true;
    this.writer = undefined;
    const calls = this.fifo.slice(this.fifoHead);
    this.fifo = [];
    this.fifoHead = 0;
    const gone = `plugin ${this.options.name} was restarted before answering (line mode: ${reason}, so its later lines cannot be paired with calls)`;
    for (const call of calls) this.fail(call, gone, 'PIPEIO_ERR_PROVIDER_GONE');
    this.options.onError(pipeIOError(code, `${reason}: restarting it (line mode pairs answers with calls by order only)`));
    this.options.onBreach(reason);
  }

  // -- from the plugin ---------------------------------------------------------

  /** One line the plugin wrote (its bytes, without the newline, or its text). */
  onPluginLine(line: Buffer | string): void {
    if (this.closed) return; // late lines while stopping: nobody is waiting for them
    const text = typeof line === 'string' ? line : line.toString('utf8');
    if (this.options.mode === 'line') this.onDataLine(text);
    else this.onRpcLine(text);
  }

  /**
   * 'line' mode: the answer to the oldest call. JSON.parse, then the link
   * packs the value (msgpackr) into the response frame.
   */
  private onDataLine(text: string): void {
    if (this.muted) {
      this.orphanLines++; // a breached incarnation: its lines belong to nobody
      return;
    }
    const call = this.fifoHead < this.fifo.length ? this.fifo[this.fifoHead++] : undefined;
    if (this.fifoHead > 1024 && this.fifoHead * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.fifoHead);
      this.fifoHead = 0;
    }
    if (!call) {
      // more lines than calls: one of its earlier lines may already have answered the wrong call
      this.orphanLines++;
      this.breach(`plugin ${this.options.name} wrote a line no call asked for: ${preview(text)}`, 'PIPEIO_ERR_PROTOCOL');
      return;
    }
    this.schedulePump();
    if (call.done) {
      this.orphanLines++;
      return;
    }
    let value: unknown;
    try {
      value = fromJsonText(text);
    } catch {
      this.fail(call, `plugin ${this.options.name} answered with a line that is not JSON: ${preview(text)}`, 'PIPEIO_ERR_INVALID_JSON');
      return;
    }
    const error = errorOf(value);
    if (error !== undefined) this.fail(call, error, 'PIPEIO_ERR_REMOTE');
    else this.answer(call, { data: value, is_final: true });
  }

  /**
   * 'line' mode, after an answer: with `pipeline` 1 the next waiting call is
   * written once the lines read with this one have been taken (a microtask:
   * after the rest of the batch), so that a second line the plugin wrote
   * with its answer meets no call in flight. A longer pipeline trusts the
   * plugin: refilled at once.
   */
  private schedulePump(): void {
    if (this.waiting.size === 0) return;
    if (this.options.pipeline > 1) {
      this.pump();
    } else if (!this.pumpQueued) {
      this.pumpQueued = true;
      queueMicrotask(() => {
        this.pumpQueued = false;
        if (!this.closed) this.pump();
      });
    }
  }

  private onRpcLine(text: string): void {
    let line: PluginLine;
    try {
      line = parsePluginLine(text);
    } catch (err) {
      const shape = err instanceof LineShapeError;
      const message = shape ? `plugin ${this.options.name}: ${err.message}: ${preview(text)}` : `plugin ${this.options.name} wrote a line that is not JSON: ${preview(text)}`;
      const code: PipeIOErrorCode = shape ? 'PIPEIO_ERR_PROTOCOL' : 'PIPEIO_ERR_INVALID_JSON';
      const call = shape && err.requestId !== undefined ? this.inCalls.get(err.requestId) : undefined;
      if (call) {
        this.inCalls.delete(call.local);
        this.fail(call, message, code);
      } else {
        this.options.onError(pipeIOError(code, message));
      }
      return;
    }
    switch (line.type) {
      case 'response':
        return this.onPluginResponse(line);
      case 'call':
        return this.outCalls.callOut(line.request_id, { type: 'call', channel: line.channel, event: line.event, data: line.data ?? null, is_stream: line.stream === true, is_final: line.stream !== true }, line.timeout ?? this.options.timeout);
      case 'send':
        return this.link.send({ type: 'send', channel: line.channel, event: line.event, data: line.data ?? null });
      case 'broadcast':
        return this.link.send({ type: 'broadcast', channel: line.channel, event: line.event, data: line.data ?? null, is_final: true });
      case 'publish':
        return this.link.send({ type: 'publish', channel: line.channel, sub_name: line.sub_name, data: line.data ?? null });
      default:
        return this.outCalls.pluginRequest(line);
    }
  }

  private onPluginResponse(line: { request_id: string; data?: unknown; error?: string; is_final?: boolean }): void {
    const call = this.inCalls.get(line.request_id);
    if (!call || call.done) {
      this.orphanLines++;
      return;
    }
    if (line.error !== undefined) {
      this.inCalls.delete(call.local);
      this.fail(call, line.error, 'PIPEIO_ERR_REMOTE');
    } else if (line.is_final === false) {
      this.deadlines.arm(call);
      this.send(call, { data: line.data ?? null, is_stream: true, is_final: false });
    } else {
      this.inCalls.delete(call.local);
      this.answer(call, line.is_final === true ? { data: line.data ?? null, is_stream: true, is_final: true } : { data: line.data ?? null, is_final: true });
    }
  }

  // -- answering callers ---------------------------------------------------------

  private send(call: InCall, body: ResponseBody): void {
    if (call.rid === undefined) return; // a call without request_id expects no answer
    // comm-ipc's own answer shape: no channel/event (the caller matches by request_id)
    this.link.respond(call.rid, call.caller, body);
  }

  private answer(call: InCall, body: ResponseBody): void {
    this.settle(call);
    this.send(call, body);
  }

  /** The call is answered: no timeout, nothing kept. */
  private settle(call: InCall): void {
    call.done = true;
    call.line = '';
    this.waiting.drop(call);
    this.deadlines.disarm(call);
  }

  private fail(call: InCall, text: string, code: PipeIOErrorCode): void {
    if (call.done) return;
    this.answer(call, { error: text, code, is_final: true });
  }
}

function codeOf(value: unknown, fallback: PipeIOErrorCode): PipeIOErrorCode {
  return typeof value === 'string' && value.startsWith('PIPEIO_ERR_') ? (value as PipeIOErrorCode) : fallback;
}
