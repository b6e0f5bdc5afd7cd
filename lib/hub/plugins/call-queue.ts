/**
 * CallQueue: calls of one plugin instance waiting to be written (no
 * incarnation up, or 'line' mode's pipeline full), in arrival order. An
 * entry answered while it waits (its timeout, a stop) is dropped where it
 * stands and skipped when its turn comes; `size` counts the live ones.
 */

/** What the queue needs of a call: whether it is still queued. */
export interface Queued {
  queued: boolean;
}

/** Skipped entries tolerated at the head before the array is cut. */
const COMPACT_AT = 1024;

export class CallQueue<T extends Queued> {
  private items: T[] = [];
  private head = 0;
  private live = 0;

  /** Calls still queued. */
  get size(): number {
    return this.live;
  }

  push(item: T): void {
    item.queued = true;
    this.items.push(item);
    this.live++;
  }

  /** Removes and returns the oldest call still queued, or undefined. */
  shift(): T | undefined {
    while (this.head < this.items.length) {
      const item = this.items[this.head++]!;
      if (!item.queued) continue;
      item.queued = false;
      this.live--;
      this.compact();
      return item;
    }
    this.items = [];
    this.head = 0;
    return undefined;
  }

  /** `item` no longer waits (answered while queued): it will be skipped. */
  drop(item: T): void {
    if (!item.queued) return;
    item.queued = false;
    this.live--;
  }

  /** Removes and returns every call still queued, oldest first. */
  drain(): T[] {
    const out = this.items.slice(this.head).filter((item) => item.queued);
    for (const item of out) item.queued = false;
    this.items = [];
    this.head = 0;
    this.live = 0;
    return out;
  }

  private compact(): void {
    if (this.live === 0) {
      this.items = [];
      this.head = 0;
    } else if (this.head > COMPACT_AT && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
