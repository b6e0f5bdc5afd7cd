/**
 * The caller's side of a stream: an async iterator over the provider's
 * chunks, fed by the request table.
 *
 *   starting --call sent--> open --is_final / single response--> done
 *       \                      \--error / drop / timeout / abort--> failed
 *        \--return() / break (the rest of the chunks is dropped)--> done
 *
 * The queue is bounded: past `highWaterMark` chunks the client stops reading
 * its socket (our hub then holds the provider, see docs/hub.md "Flow control";
 * comm-ipc's queues the rest), and reads again once the consumer has taken half of them. A
 * consumer that takes nothing for `stallTimeout` ms (idleTimeout) would stall
 * the whole link: its stream then fails with PIPEIO_ERR_LIMIT, its queue is
 * dropped and reading resumes.
 */
import { pipeIOError, type PipeIOError } from '../../errors';
import type { HubMessage } from '../protocol/messages';
import { errorText, remoteError, type PendingEntry, type PendingHandlers } from './pending';

/** What a stream needs from its client. */
export interface StreamHost {
  pause(holder: object): void;
  resume(holder: object): void;
  /** Milliseconds a full queue may hold the link paused. */
  readonly stallTimeout: number;
}

type Item = { msg: HubMessage } | { err: PipeIOError };

export class HubStream implements AsyncIterableIterator<HubMessage>, PendingHandlers {
  private readonly queue: Item[] = [];
  private waiter: ((item: Item | undefined) => void) | undefined;
  private finished = false;
  private paused = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private entry: PendingEntry | undefined;
  private startError: PipeIOError | undefined;
  private readonly started: Promise<void>;

  /**
   * @param start Sends the call and returns its request-table entry (which
   *   routes frames to this stream). A rejection ends the stream with that error.
   * @param check Runs on each chunk as it is taken (validating callers);
   *   what it throws ends the stream with that error.
   */
  constructor(
    private readonly host: StreamHost,
    private readonly highWaterMark: number,
    start: (stream: HubStream) => Promise<PendingEntry>,
    private readonly check?: (msg: HubMessage) => HubMessage,
  ) {
    this.started = start(this).then(
      (entry) => {
        if (this.finished) entry.cancel();
        else this.entry = entry;
      },
      (err: PipeIOError) => {
        this.startError = err;
      },
    );
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  // -- PendingHandlers (called by the request table) ----------------------

  onFrame(msg: HubMessage): boolean {
    if (this.finished) return true;
    this.entry?.armTimer();
    if (msg.type === 'error' || 'error' in msg) {
      this.push({ err: remoteError(errorText(msg), msg) });
      return true;
    }
    // A response that is not a stream chunk (a plain provider, comm-ipc's
    // answer without is_final) is the whole stream: comm-ipc callers hang on it.
    const last = msg.is_final === true || msg.is_stream !== true;
    if (msg.data !== null && msg.data !== undefined) this.push({ msg });
    if (last) this.push(undefined);
    return last;
  }

  onFail(err: PipeIOError): void {
    if (!this.finished) this.push({ err });
  }

  // -- AsyncIterator ------------------------------------------------------

  async next(): Promise<IteratorResult<HubMessage>> {
    await this.started;
    if (this.startError) {
      const err = this.startError;
      this.startError = undefined;
      this.finish();
      throw err;
    }
    let item: Item | undefined;
    if (this.queue.length > 0) {
      item = this.queue.shift();
      if (this.paused && this.queue.length <= this.highWaterMark / 2) this.unpause();
    } else if (this.finished) {
      return { done: true, value: undefined };
    } else {
      item = await new Promise<Item | undefined>((resolve) => (this.waiter = resolve));
    }
    if (item === undefined) {
      this.finish();
      return { done: true, value: undefined };
    }
    if ('err' in item) {
      this.finish();
      throw item.err;
    }
    if (this.check) {
      try {
        return { done: false, value: this.check(item.msg) };
      } catch (err) {
        this.finish();
        throw err;
      }
    }
    return { done: false, value: item.msg };
  }

  /**
   * Stops listening; chunks still on their way are dropped. The hub is sent a
   * `cancel` (our hub tells the provider, whose generator is returned; a
   * comm-ipc hub ignores it, as comm-ipc has no cancel).
   */
  async return(): Promise<IteratorResult<HubMessage>> {
    await this.started;
    this.startError = undefined;
    this.finish();
    return { done: true, value: undefined };
  }

  // -- internals ----------------------------------------------------------

  /** Queues a chunk, an error, or the end (undefined). */
  private push(item: Item | undefined): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(item);
      return;
    }
    // The end marker and errors always fit; only chunks count toward the mark.
    this.queue.push(item as Item);
    if (item !== undefined && 'msg' in item && !this.paused && this.queue.length >= this.highWaterMark) {
      this.paused = true;
      this.host.pause(this);
      this.stallTimer = setTimeout(() => this.stalled(), this.host.stallTimeout);
    }
  }

  private unpause(): void {
    this.paused = false;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.host.resume(this);
  }

  /** Nobody read for stallTimeout ms: give the link back, fail this stream. */
  private stalled(): void {
    this.stallTimer = undefined;
    this.entry?.cancel();
    this.queue.length = 0;
    this.queue.push({
      err: pipeIOError('PIPEIO_ERR_LIMIT', `stream consumer read nothing for ${this.host.stallTimeout} ms with ${this.highWaterMark} chunks queued`),
    });
    this.unpause();
  }

  private finish(): void {
    if (!this.finished) {
      this.finished = true;
      this.entry?.cancel(); // no-op after the last frame; otherwise the provider is told to stop
    }
    this.queue.length = 0;
    if (this.paused) this.unpause();
  }
}
