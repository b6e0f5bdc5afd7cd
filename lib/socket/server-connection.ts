/**
 * One accepted connection of a UnixServer: decodes request lines, calls the
 * handler (sync or async, several in flight), and writes the replies back in
 * request order. Reading pauses while replies back up (backpressure).
 */
import type * as net from 'node:net';
import { PipeIOError } from '../errors';
import { JsonLineDecoder, jsonLineText } from '../protocol/json-line';
import { errorReply } from './error-reply';

/**
 * A request handler. Return a value (or a promise of one) to reply with one
 * JSON line; return `undefined` for no reply (a notification); throw or
 * reject to reply `{"error": message, "type": name}`.
 */
export type JsonLineHandler = (request: unknown) => unknown;

/** A reply waiting for an earlier one, or for its own promise. */
interface Slot {
  done: boolean;
  reply: unknown;
}

/** Replies in flight above which reading pauses. */
const MAX_PENDING = 1024;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

function decodeErrorType(err: PipeIOError): string {
  // Python peers see the name of the exception codechu-ipc would raise.
  return err.code === 'PIPEIO_ERR_INVALID_JSON' ? 'JSONDecodeError' : 'ValueError';
}

export class ServerConnection {
  readonly socket: net.Socket;
  private readonly handler: JsonLineHandler;
  private readonly decoder: JsonLineDecoder;
  private readonly slots: Slot[] = [];
  private ending = false;
  /** Reply lines not yet handed to the socket: one write per batch. */
  private out = '';
  private closed = false;
  private readonly closedPromise: Promise<void>;

  constructor(socket: net.Socket, handler: JsonLineHandler, maxLineLength: number) {
    this.socket = socket;
    this.handler = handler;
    this.decoder = new JsonLineDecoder(
      (value) => this.request(value),
      (err) => this.queueReply(errorReply(err, decodeErrorType(err))),
      { maxLineLength },
    );
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        resolve();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      this.flush();
    });
    socket.on('end', () => {
      this.decoder.end();
      this.flush();
      this.end();
    });
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => undefined); // ECONNRESET/EPIPE from a vanished client: 'close' follows
  }

  /** Resolves when the socket has closed. */
  get closedWait(): Promise<void> {
    return this.closedPromise;
  }

  /** Stops reading; ends the socket once every pending reply is written. */
  end(): void {
    if (this.ending) return;
    this.ending = true;
    this.socket.pause();
    this.maybeFinish();
  }

  /** Closes at once; pending replies are dropped. */
  destroy(): void {
    this.socket.destroy();
  }

  private request(value: unknown): void {
    let result: unknown;
    try {
      result = this.handler(value);
    } catch (err) {
      this.queueReply(errorReply(err));
      return;
    }
    if (!isThenable(result)) {
      this.queueReply(result);
      return;
    }
    const slot: Slot = { done: false, reply: undefined };
    this.slots.push(slot);
    if (this.slots.length >= MAX_PENDING) this.socket.pause();
    Promise.resolve(result).then(
      (reply) => this.settle(slot, reply),
      (err: unknown) => this.settle(slot, errorReply(err)),
    );
  }

  private queueReply(reply: unknown): void {
    if (this.slots.length === 0) this.write(reply);
    else this.slots.push({ done: true, reply });
  }

  private flush(): void {
    if (this.out.length === 0 || this.closed) return;
    const text = this.out;
    this.out = '';
    if (!this.socket.write(text)) this.socket.pause();
  }

  private settle(slot: Slot, reply: unknown): void {
    slot.done = true;
    slot.reply = reply;
    if (this.slots[0] !== slot) return;
    while (this.slots.length > 0 && this.slots[0]!.done) this.write(this.slots.shift()!.reply);
    this.flush();
    this.maybeResume();
    this.maybeFinish();
  }

  /** Appends one reply line to the batch; flush() hands the batch to the socket. */
  private write(reply: unknown): void {
    if (reply === undefined || this.closed) return;
    try {
      this.out += jsonLineText(reply);
    } catch (err) {
      this.out += jsonLineText(errorReply(err));
    }
  }

  private maybeResume(): void {
    if (this.ending || this.closed) return;
    if (this.socket.writableNeedDrain || this.slots.length >= MAX_PENDING / 2) return;
    if (this.socket.isPaused()) this.socket.resume();
  }

  private maybeFinish(): void {
    if (!this.ending || this.slots.length > 0 || this.closed) return;
    // Our side is done: flush, then close without waiting for the peer.
    this.flush();
    this.socket.end(() => this.socket.destroy());
  }
}
