/**
 * The per (channel, event) counters of a hub, with bounded cardinality: at
 * most `maxSeries` distinct pairs get series of their own; every later pair
 * is folded into the one pair `other`/`other` (and counted in `folded`).
 * Pairs first seen through a failure (no provider, refused) may take at most
 * a quarter of the budget, so a client calling random names cannot use up
 * the series that real traffic needs. A name longer than
 * {@link MAX_LABEL_LENGTH} is folded too. Series are never removed:
 * Prometheus counters only go up.
 */
import { Histogram } from './histogram';
import type { CallOutcome, MessageKind, MessageOutcome } from '../hub/server/observer';

export const CALL_OUTCOMES: readonly CallOutcome[] = ['ok', 'remote_error', 'no_provider', 'provider_gone', 'timeout', 'validation', 'refused', 'abandoned'];
export const MESSAGE_KINDS: readonly MessageKind[] = ['broadcast', 'send', 'publish'];
export const MESSAGE_OUTCOMES: readonly MessageOutcome[] = ['ok', 'no_provider', 'refused'];

/** Index of each outcome in the counter arrays. */
export const OUTCOME_INDEX: Readonly<Record<CallOutcome, number>> = Object.fromEntries(CALL_OUTCOMES.map((o, i) => [o, i])) as Record<CallOutcome, number>;
export const KIND_INDEX: Readonly<Record<MessageKind, number>> = { broadcast: 0, send: 1, publish: 2 };
export const MESSAGE_OUTCOME_INDEX: Readonly<Record<MessageOutcome, number>> = { ok: 0, no_provider: 1, refused: 2 };

/** Longest channel or event name kept as a label value. */
export const MAX_LABEL_LENGTH = 128;
/** The label value of the folded series. */
export const OTHER = 'other';

export class Series {
  /** Calls by outcome ({@link CALL_OUTCOMES} order), streams included. */
  readonly calls = new Float64Array(CALL_OUTCOMES.length);
  /** Stream calls by outcome. */
  readonly streams = new Float64Array(CALL_OUTCOMES.length);
  streamChunks = 0;
  /** [kind * 3 + outcome]: broadcasts, sends, publications. */
  readonly messages = new Float64Array(MESSAGE_KINDS.length * MESSAGE_OUTCOMES.length);
  /** Members reached, per kind. */
  readonly deliveries = new Float64Array(MESSAGE_KINDS.length);
  /** Request in to final response out, for calls a provider answered. */
  readonly latency = new Histogram();

  constructor(
    readonly channel: string,
    readonly event: string,
  ) {}
}

export class SeriesTable {
  private readonly byChannel = new Map<string, Map<string, Series>>();
  private readonly list: Series[] = [];
  private untrusted = 0;
  /** Observations that went to `other` because of the cap. */
  folded = 0;
  readonly other = new Series(OTHER, OTHER);

  constructor(readonly maxSeries: number) {}

  /** Distinct pairs with a series of their own. */
  get size(): number {
    return this.list.length;
  }

  /** The series of (channel, event); `failure`: first seen through a failed operation. */
  get(channel: string, event: string, failure = false): Series {
    const s = this.byChannel.get(channel)?.get(event);
    if (s !== undefined) return s;
    return this.create(channel, event, failure);
  }

  private create(channel: string, event: string, failure: boolean): Series {
    if (
      this.list.length >= this.maxSeries ||
      (failure && this.untrusted >= this.maxSeries >> 2) ||
      channel.length > MAX_LABEL_LENGTH ||
      event.length > MAX_LABEL_LENGTH
    ) {
      this.folded++;
      return this.other;
    }
    let events = this.byChannel.get(channel);
    if (events === undefined) this.byChannel.set(channel, (events = new Map()));
    const s = new Series(channel, event);
    events.set(event, s);
    this.list.push(s);
    if (failure) this.untrusted++;
    return s;
  }

  /** Every series, `other` last (whether used or not). */
  all(): readonly Series[] {
    return [...this.list, this.other];
  }
}
