/**
 * What the hub announces, per channel, kept current: events (stream or not,
 * parameter and result schemas) and subscriptions. Seeded from explore()
 * when a channel opens, then updated from `metadata_update`: an event or a
 * subscription announced, and a member leaving (its events and topics go
 * with it, since comm-ipc has no "event removed" notice). A reconnect
 * re-seeds from explore(). Every change bumps `version` and emits 'change'
 * (the OpenAPI document is rebuilt from it).
 *
 * Known limit: an event of a load-balanced group is dropped when the member
 * the hub named as its owner leaves, even if other members still provide it
 * (the hub says nothing more); it reappears with the next registration.
 * Calls never depend on the catalog: they go to the hub whatever it says.
 */
import { EventEmitter } from 'node:events';
import type { HubMessage } from '../hub/protocol/messages';
import type { ExploreResult } from '../hub/client/types';
import { compileValidator, type Validator } from './validate';

export interface CatalogEvent {
  readonly channel: string;
  readonly name: string;
  readonly owner: string;
  readonly isStream: boolean;
  readonly parameters: unknown;
  readonly returns: unknown;
  /** The compiled parameter schema (undefined: nothing to enforce). */
  readonly validate: Validator | undefined;
}

export interface CatalogTopic {
  readonly channel: string;
  readonly name: string;
  readonly owner: string;
  readonly schema: unknown;
}

interface ChannelEntry {
  events: Map<string, CatalogEvent>;
  topics: Map<string, CatalogTopic>;
}

export class Catalog extends EventEmitter<{ change: []; schemaError: [err: Error, channel: string, event: string] }> {
  private readonly channels = new Map<string, ChannelEntry>();
  private versionValue = 0;

  get version(): number {
    return this.versionValue;
  }

  /** Channels known, in the order they were added. */
  channelNames(): string[] {
    return [...this.channels.keys()];
  }

  events(channel: string): CatalogEvent[] {
    return [...(this.channels.get(channel)?.events.values() ?? [])];
  }

  topics(channel: string): CatalogTopic[] {
    return [...(this.channels.get(channel)?.topics.values() ?? [])];
  }

  event(channel: string, name: string): CatalogEvent | undefined {
    return this.channels.get(channel)?.events.get(name);
  }

  /** Replaces a channel's entries with an explore() view. */
  seed(channel: string, view: ExploreResult): void {
    const entry: ChannelEntry = { events: new Map(), topics: new Map() };
    for (const [name, e] of Object.entries(view.events)) {
      entry.events.set(name, this.makeEvent(channel, name, e.owner, e.is_stream, e.parameters, e.returns));
    }
    for (const [name, t] of Object.entries(view.subscriptions)) {
      entry.topics.set(name, { channel, name, owner: t.owner, schema: t.returns ?? null });
    }
    this.channels.set(channel, entry);
    this.changed();
  }

  /** Forgets a channel (it was closed or refused). */
  drop(channel: string): void {
    if (this.channels.delete(channel)) this.changed();
  }

  /** Applies one `metadata_update` frame (any channel; unknown channels are ignored). */
  apply(msg: HubMessage): void {
    const channel = typeof msg.channel === 'string' ? msg.channel : undefined;
    const entry = channel === undefined ? undefined : this.channels.get(channel);
    if (!entry || channel === undefined) return;
    const stype = msg['stype'];
    const name = msg['name'];
    const owner = String(msg['owner'] ?? '');
    if (stype === 'event' && typeof name === 'string') {
      entry.events.set(name, this.makeEvent(channel, name, owner, msg.is_stream === true, msg['param_schema'] ?? null, msg['return_schema'] ?? null));
      this.changed();
    } else if (stype === 'subscription' && typeof name === 'string') {
      entry.topics.set(name, { channel, name, owner, schema: msg['return_schema'] ?? null });
      this.changed();
    } else if (stype === 'membership' && msg['action'] === 'leave') {
      let changed = false;
      for (const [n, e] of entry.events) if (e.owner === owner) changed = entry.events.delete(n) || changed;
      for (const [n, t] of entry.topics) if (t.owner === owner) changed = entry.topics.delete(n) || changed;
      if (changed) this.changed();
    }
  }

  /** Records an event this gateway knows of on its own (a mapping added before its provider came). */
  private makeEvent(channel: string, name: string, owner: string, isStream: boolean, parameters: unknown, returns: unknown): CatalogEvent {
    const validate = compileValidator(parameters, false, (err) => this.emit('schemaError', err, channel, name));
    return { channel, name, owner, isStream, parameters, returns, validate };
  }

  private changed(): void {
    this.versionValue++;
    this.emit('change');
  }
}
