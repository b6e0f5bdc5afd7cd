/**
 * CallDeadlines: the call timeouts of one plugin instance on ONE timer.
 *
 * Every call of an instance gets the same timeout, so deadlines are armed in
 * order: a queue (two parallel arrays, no allocation per call) whose head
 * is always the next to expire, and one timer set for it. Answering a call
 * only clears its `deadline`; its stale entry leaves the queue when it
 * reaches the head (at once in line mode, where answers come in order) or
 * at the next compaction. Re-arming (a stream chunk) pushes a new entry.
 *
 *   arm(call)    deadline = now + timeout, pushed; timer set if none
 *   disarm(call) deadline = 0 (entry stale); stale head entries popped
 *   timer        expired heads -> onExpire(call); timer set for the new head
 *
 * Measured: a setTimeout + clearTimeout per call cost ~1 µs of the hub's
 * main thread at 40,000 calls/s (bench/hub-plugin.bench.js); this costs two
 * array pushes.
 */
import { performance } from 'node:perf_hooks';

/** What the queue needs of a call: its deadline (performance.now() ms; 0 = none). */
export interface Timed {
  deadline: number;
}

/** Stale entries tolerated beyond twice the armed ones before the queue is compacted. */
const COMPACT_SLACK = 1024;

export class CallDeadlines<T extends Timed> {
  private calls: T[] = [];
  private at: number[] = [];
  private head = 0;
  /** Calls armed and not yet disarmed or expired. */
  private armed = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * @param timeout ms from arm() to onExpire (0: never)
   * @param onExpire called once per expired call, its deadline already cleared
   */
  constructor(
    private readonly timeout: number,
    private readonly onExpire: (call: T) => void,
  ) {}

  /** Number of calls armed. */
  get size(): number {
    return this.armed;
  }

  /** Starts (or restarts) `call`'s timeout. */
  arm(call: T): void {
    if (this.timeout <= 0 || this.closed) return;
    if (call.deadline !== 0) this.armed--;
    const deadline = performance.now() + this.timeout;
    call.deadline = deadline;
    this.calls.push(call);
    this.at.push(deadline);
    this.armed++;
    if (this.timer === undefined) this.schedule(deadline);
    else if (this.calls.length - this.head > 2 * this.armed + COMPACT_SLACK) this.compact();
  }

  /** `call` was answered (or failed otherwise): no timeout for it. */
  disarm(call: T): void {
    if (call.deadline === 0) return;
    call.deadline = 0;
    this.armed--;
    this.popStale();
  }

  /** Stops the timer and forgets every call (idempotent). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.calls = [];
    this.at = [];
    this.head = 0;
    this.armed = 0;
  }

  private schedule(deadline: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(1, Math.ceil(deadline - performance.now())));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.head < this.calls.length) {
      const call = this.calls[this.head]!;
      const deadline = this.at[this.head]!;
      if (call.deadline === deadline && deadline > now) break;
      this.head++;
      if (call.deadline !== deadline) continue; // answered or re-armed since
      call.deadline = 0;
      this.armed--;
      this.onExpire(call);
      if (this.closed) return;
    }
    this.popStale();
    if (this.head < this.calls.length && this.timer === undefined) this.schedule(this.at[this.head]!);
  }

  private popStale(): void {
    const calls = this.calls;
    const at = this.at;
    let head = this.head;
    while (head < calls.length && calls[head]!.deadline !== at[head]) head++;
    if (head === calls.length) {
      calls.length = 0;
      at.length = 0;
      head = 0;
    } else if (head > COMPACT_SLACK && head * 2 > calls.length) {
      this.calls = calls.slice(head);
      this.at = at.slice(head);
      head = 0;
    }
    this.head = head;
  }

  /** Drops stale entries everywhere (answers out of order left them behind the head). */
  private compact(): void {
    const calls: T[] = [];
    const at: number[] = [];
    for (let i = this.head; i < this.calls.length; i++) {
      if (this.calls[i]!.deadline === this.at[i]) {
        calls.push(this.calls[i]!);
        at.push(this.at[i]!);
      }
    }
    this.calls = calls;
    this.at = at;
    this.head = 0;
  }
}
