/**
 * Topic fan-out: one hub subscription per (channel, topic), however many
 * web readers follow it. Each publication is encoded once (its JSON, and
 * its SSE frame when an SSE reader is there) and handed to every reader;
 * readers never wait on each other (a slow one is cut off by its own
 * bounded writer). The hub subscription is dropped with the last reader
 * (the owner then hears `subscription.<t>.last`), and taken again with the
 * next one; the subscribe/unsubscribe steps of one topic run in order.
 */
import type { HubChannel } from '../hub/client/channel';
import type { HubMessage } from '../hub/protocol/messages';
import { toJson } from './json';
import { sseFrame } from './sse';

/** One reader of a topic: gets the publication's JSON, and its SSE frame on demand (shared by all readers). */
export type TopicReader = (json: string, sse: () => Buffer) => void;

interface TopicState {
  readers: Set<TopicReader>;
  /** Whether the hub subscription is (being) held. */
  held: boolean;
  /** The chain of subscribe/unsubscribe steps. */
  steps: Promise<void>;
  seq: number;
}

export class TopicFanout {
  private readonly topics = new Map<string, TopicState>();

  /** Topics with readers (for stats). */
  get size(): number {
    return this.topics.size;
  }

  /** Readers of all topics. */
  get readers(): number {
    let n = 0;
    for (const t of this.topics.values()) n += t.readers.size;
    return n;
  }

  /**
   * Adds a reader; resolves once the hub subscription is in place (rejects,
   * with the reader removed, if the hub refuses it). Returns the remover.
   */
  async add(channel: HubChannel, topic: string, reader: TopicReader): Promise<() => void> {
    const key = `${channel.name}\u0000${topic}`;
    let state = this.topics.get(key);
    if (!state) {
      state = { readers: new Set(), held: false, steps: Promise.resolve(), seq: 0 };
      this.topics.set(key, state);
    }
    const st = state;
    st.readers.add(reader);
    const remove = (): void => {
      if (!st.readers.delete(reader)) return;
      if (st.readers.size === 0) this.settle(key, st, channel, topic);
    };
    try {
      await this.settle(key, st, channel, topic);
    } catch (err) {
      remove();
      throw err;
    }
    return remove;
  }

  /** Brings the hub subscription in line with the readers (queued after earlier steps). */
  private settle(key: string, st: TopicState, channel: HubChannel, topic: string): Promise<void> {
    const step = st.steps.then(async () => {
      if (st.readers.size > 0 && !st.held) {
        await channel.subscribe(topic, (msg) => this.deliver(st, msg));
        st.held = true;
      } else if (st.readers.size === 0 && st.held) {
        st.held = false;
        await channel.unsubscribe(topic).catch(() => undefined);
      }
      if (st.readers.size === 0 && !st.held && this.topics.get(key) === st) this.topics.delete(key);
    });
    st.steps = step.catch(() => undefined);
    return step;
  }

  private deliver(st: TopicState, msg: HubMessage): void {
    const json = toJson(msg.data);
    const id = ++st.seq;
    let frame: Buffer | undefined;
    const sse = (): Buffer => (frame ??= sseFrame(json, undefined, id));
    for (const reader of st.readers) reader(json, sse);
  }
}
