/**
 * Pub/sub topics (comm-ipc section 7): per (channel, sub_name) an optional
 * owner, its schema, and the subscriber set. An entry with neither owner nor
 * subscribers is deleted at once, so topics that never existed cost nothing.
 */
export interface Topic {
  readonly channel: string;
  readonly name: string;
  owner: string | undefined;
  schema: unknown;
  readonly subscribers: Set<string>;
}

const key = (channel: string, name: string): string => `${channel}\u0000${name}`;

export class SubscriptionTable {
  private readonly topics = new Map<string, Topic>();

  get size(): number {
    return this.topics.size;
  }

  get(channel: string, name: string): Topic | undefined {
    return this.topics.get(key(channel, name));
  }

  ensure(channel: string, name: string): Topic {
    const k = key(channel, name);
    let t = this.topics.get(k);
    if (!t) {
      t = { channel, name, owner: undefined, schema: null, subscribers: new Set() };
      this.topics.set(k, t);
    }
    return t;
  }

  dropIfEmpty(t: Topic): void {
    if (t.owner === undefined && t.subscribers.size === 0) this.topics.delete(key(t.channel, t.name));
  }

  /** Topics of a channel that have an owner. */
  owned(channel: string): Topic[] {
    const out: Topic[] = [];
    for (const t of this.topics.values()) if (t.channel === channel && t.owner !== undefined) out.push(t);
    return out;
  }

  all(): IterableIterator<Topic> {
    return this.topics.values();
  }
}
