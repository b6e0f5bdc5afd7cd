/**
 * Pub/sub topics (comm-ipc section 7): per (channel, sub_name) an optional
 * owner, its schema, and the subscriber set. An entry with neither owner nor
 * subscribers is deleted at once, so topics that never existed cost nothing.
 *
 * Indexed both ways, kept by the entries themselves (setting `owner`, adding
 * or removing subscribers, from any code path): per client the topics it owns
 * and subscribes to, per channel its owned topics. So a subscribe, an open
 * and a departure cost what they touch, never the whole table (issue 21:
 * counting a client's subscriptions by scanning every topic made each
 * subscribe O(topics)).
 */
export interface Topic {
  readonly channel: string;
  readonly name: string;
  owner: string | undefined;
  schema: unknown;
  readonly subscribers: Set<string>;
}

const key = (channel: string, name: string): string => `${channel}\u0000${name}`;

function addTo<K, V>(index: Map<K, Set<V>>, k: K, v: V): void {
  let set = index.get(k);
  if (!set) index.set(k, (set = new Set()));
  set.add(v);
}

function removeFrom<K, V>(index: Map<K, Set<V>>, k: K, v: V): void {
  const set = index.get(k);
  if (set?.delete(v) && set.size === 0) index.delete(k);
}

/** A subscriber set that keeps the table's per-client index. */
class SubscriberSet extends Set<string> {
  constructor(
    private readonly index: Map<string, Set<Topic>>,
    private readonly topic: Topic,
  ) {
    super();
  }

  override add(id: string): this {
    if (!this.has(id)) addTo(this.index, id, this.topic);
    return super.add(id);
  }

  override delete(id: string): boolean {
    if (!super.delete(id)) return false;
    removeFrom(this.index, id, this.topic);
    return true;
  }

  override clear(): void {
    for (const id of this) removeFrom(this.index, id, this.topic);
    super.clear();
  }
}

class TopicEntry implements Topic {
  schema: unknown = null;
  readonly subscribers: Set<string>;
  private ownerValue: string | undefined;

  constructor(
    private readonly table: SubscriptionTable,
    readonly channel: string,
    readonly name: string,
    subscribedBy: Map<string, Set<Topic>>,
  ) {
    this.subscribers = new SubscriberSet(subscribedBy, this);
  }

  get owner(): string | undefined {
    return this.ownerValue;
  }

  set owner(id: string | undefined) {
    if (id === this.ownerValue) return;
    this.table.ownerChanged(this, this.ownerValue, id);
    this.ownerValue = id;
  }
}

export class SubscriptionTable {
  private readonly topics = new Map<string, Topic>();
  /** client -> topics it subscribes to. */
  private readonly subscribedBy = new Map<string, Set<Topic>>();
  /** client -> topics it owns. */
  private readonly ownedBy = new Map<string, Set<Topic>>();
  /** channel -> its topics that have an owner. */
  private readonly ownedIn = new Map<string, Set<Topic>>();

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
      t = new TopicEntry(this, channel, name, this.subscribedBy);
      this.topics.set(k, t);
    }
    return t;
  }

  dropIfEmpty(t: Topic): void {
    if (t.owner === undefined && t.subscribers.size === 0) this.topics.delete(key(t.channel, t.name));
  }

  /** Topics of a channel that have an owner. */
  owned(channel: string): Topic[] {
    return [...(this.ownedIn.get(channel) ?? [])];
  }

  /** Topics `id` owns (a copy: safe to change them while iterating). */
  ownedByClient(id: string): Topic[] {
    return [...(this.ownedBy.get(id) ?? [])];
  }

  /** Topics `id` subscribes to (a copy). */
  subscribedByClient(id: string): Topic[] {
    return [...(this.subscribedBy.get(id) ?? [])];
  }

  /** How many topics `id` owns. */
  ownedCount(id: string): number {
    return this.ownedBy.get(id)?.size ?? 0;
  }

  /** How many topics `id` subscribes to. */
  subscriptionCount(id: string): number {
    return this.subscribedBy.get(id)?.size ?? 0;
  }

  all(): IterableIterator<Topic> {
    return this.topics.values();
  }

  /** Called by a topic whose owner changes. */
  ownerChanged(t: Topic, from: string | undefined, to: string | undefined): void {
    if (from !== undefined) {
      removeFrom(this.ownedBy, from, t);
      if (to === undefined) removeFrom(this.ownedIn, t.channel, t);
    }
    if (to !== undefined) {
      addTo(this.ownedBy, to, t);
      addTo(this.ownedIn, t.channel, t);
    }
  }
}
