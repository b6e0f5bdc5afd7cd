/**
 * Who provides what (comm-ipc section 5): per (channel, event) the providers
 * in registration order, the group flag, the last registrant's schemas, and
 * the balancing cursor. Entries disappear with their last provider, cursor
 * included, so the table never outgrows the live registrations. Indexed per
 * provider, so a departure costs that provider's entries, not the table's.
 */
import type { Candidate, EventCursor, Strategy } from '../strategies';

export interface EventEntry {
  readonly channel: string;
  readonly event: string;
  readonly providers: string[];
  isGroup: boolean;
  isStream: boolean;
  paramSchema: unknown;
  returnSchema: unknown;
  readonly cursor: EventCursor;
}

export type RegisterOutcome = 'added' | 'updated' | 'conflict';

/** Events one client may provide (a departure undoes them at once). */
export const MAX_EVENTS_PER_CLIENT = 10_000;

export class ProviderTable {
  private readonly byChannel = new Map<string, Map<string, EventEntry>>();
  /** provider -> the entries it is a provider of. */
  private readonly byProvider = new Map<string, Set<EventEntry>>();
  private count = 0;

  /** How many events `id` provides. */
  countOf(id: string): number {
    return this.byProvider.get(id)?.size ?? 0;
  }

  /** Events that have providers, over all channels. */
  get size(): number {
    return this.count;
  }

  get(channel: string, event: string): EventEntry | undefined {
    return this.byChannel.get(channel)?.get(event);
  }

  /** Events of a channel that have providers. */
  events(channel: string): IterableIterator<EventEntry> | [] {
    return this.byChannel.get(channel)?.values() ?? [];
  }

  /**
   * Applies comm-ipc's compatibility rules (5.1): a new event is always
   * accepted; an existing provider may re-register (schema overwritten, group
   * flag may flip); another client joins only if both sides are groups.
   */
  register(
    channel: string,
    event: string,
    id: string,
    reg: { isGroup: boolean; isStream: boolean; paramSchema: unknown; returnSchema: unknown },
  ): RegisterOutcome {
    let events = this.byChannel.get(channel);
    if (!events) {
      events = new Map();
      this.byChannel.set(channel, events);
    }
    let entry = events.get(event);
    let outcome: RegisterOutcome = 'added';
    if (!entry) {
      entry = {
        channel,
        event,
        providers: [id],
        isGroup: reg.isGroup,
        isStream: reg.isStream,
        paramSchema: null,
        returnSchema: null,
        cursor: { index: 0 },
      };
      events.set(event, entry);
      this.count++;
      this.index(id, entry);
    } else if (entry.providers.includes(id)) {
      outcome = 'updated';
    } else if (reg.isGroup && entry.isGroup) {
      entry.providers.push(id);
      this.index(id, entry);
    } else {
      return 'conflict';
    }
    entry.isGroup = reg.isGroup;
    entry.isStream = reg.isStream;
    entry.paramSchema = reg.paramSchema ?? null;
    entry.returnSchema = reg.returnSchema ?? null;
    return outcome;
  }

  /** Every event entry, over all channels (the federation announces and reconciles them). */
  *all(): IterableIterator<EventEntry> {
    for (const events of this.byChannel.values()) yield* events.values();
  }

  /** Removes `id` from one event's providers (a remote hub withdrew it). */
  remove(channel: string, event: string, id: string): void {
    const events = this.byChannel.get(channel);
    const entry = events?.get(event);
    if (!events || !entry) return;
    this.removeProvider(events, entry, id);
    if (events.size === 0) this.byChannel.delete(channel);
  }

  /** Removes `id` from one channel's providers (password change, terminate). */
  removeFromChannel(channel: string, id: string): void {
    for (const entry of [...(this.byProvider.get(id) ?? [])]) if (entry.channel === channel) this.remove(channel, entry.event, id);
  }

  /** Removes `id` everywhere (disconnect). */
  removeEverywhere(id: string): void {
    for (const entry of [...(this.byProvider.get(id) ?? [])]) this.remove(entry.channel, entry.event, id);
  }

  private index(id: string, entry: EventEntry): void {
    let mine = this.byProvider.get(id);
    if (!mine) this.byProvider.set(id, (mine = new Set()));
    mine.add(entry);
  }

  private removeProvider(events: Map<string, EventEntry>, entry: EventEntry, id: string): void {
    const i = entry.providers.indexOf(id);
    if (i < 0) return;
    entry.providers.splice(i, 1);
    const mine = this.byProvider.get(id);
    if (mine?.delete(entry) && mine.size === 0) this.byProvider.delete(id);
    if (entry.providers.length === 0) {
      events.delete(entry.event);
      this.count--;
    }
  }

  /** Picks a provider for a call or send; undefined if there is none. */
  pick(entry: EventEntry, strategy: Strategy, activeOf: (id: string) => number, usable: (id: string) => boolean): string | undefined {
    const providers = entry.providers;
    if (providers.length === 1) return usable(providers[0]!) ? providers[0] : undefined;
    const candidates: Candidate[] = [];
    for (const id of providers) if (usable(id)) candidates.push({ id, active: activeOf(id) });
    if (candidates.length === 0) return undefined;
    if (candidates.length === 1) return candidates[0]!.id;
    return strategy.select(candidates, entry.cursor).id;
  }
}
