/**
 * What a channel knows of other members' events and subscriptions, for
 * explore() (comm-ipc 11.2, done right): `channel_sync` (subscription schemas
 * under `param_schema`, sic) and `metadata_update` (under `return_schema`),
 * with remote subscriptions listed under `subscriptions`, not under `events`
 * as comm-ipc's client does. No wire message: purely client-side.
 */
import type { HubMessage } from '../protocol/messages';
import type { Registration } from './provider';
import type { ExploreResult } from './types';

interface RemoteEntry {
  stype: 'event' | 'subscription';
  owner: string;
  isStream: boolean;
  isGroup: boolean;
  parameters: unknown;
  returns: unknown;
}

export class RemoteSchemas {
  private readonly entries = new Map<string, RemoteEntry>();

  /** Stores the tables of a `channel_sync`. */
  applySync(msg: HubMessage): void {
    const put = (table: unknown, stype: RemoteEntry['stype']): void => {
      if (table === null || typeof table !== 'object') return;
      for (const [name, raw] of Object.entries(table as Record<string, Record<string, unknown>>)) {
        if (raw === null || typeof raw !== 'object') continue;
        this.entries.set(name, {
          stype,
          owner: String(raw['owner'] ?? ''),
          isStream: raw['is_stream'] === true,
          isGroup: raw['is_group'] === true,
          parameters: stype === 'event' ? (raw['param_schema'] ?? null) : null,
          returns: stype === 'event' ? (raw['return_schema'] ?? null) : (raw['param_schema'] ?? raw['return_schema'] ?? null),
        });
      }
    };
    put(msg['events'], 'event');
    put(msg['subscriptions'], 'subscription');
  }

  /** Stores an event or subscription `metadata_update` (membership updates are ignored). */
  applyMetadata(msg: HubMessage): void {
    const name = msg['name'];
    const stype = msg['stype'];
    if (typeof name !== 'string' || (stype !== 'event' && stype !== 'subscription')) return;
    this.entries.set(name, {
      stype,
      owner: String(msg['owner'] ?? ''),
      isStream: msg.is_stream === true,
      isGroup: msg['is_group'] === true,
      parameters: stype === 'event' ? (msg['param_schema'] ?? null) : null,
      returns: msg['return_schema'] ?? null,
    });
  }

  /** What a member announced for `name` (an event or a subscription), if anything. */
  lookup(name: string): Readonly<RemoteEntry> | undefined {
    return this.entries.get(name);
  }

  /** The explore() view: remote entries, overridden by our own registrations and declarations. */
  explore(me: string, own: Iterable<Registration>, declared: ReadonlyMap<string, unknown>): ExploreResult {
    const out: ExploreResult = { events: {}, subscriptions: {} };
    for (const [name, e] of this.entries) {
      if (e.stype === 'subscription') out.subscriptions[name] = { owner: e.owner, returns: e.returns };
      else out.events[name] = { owner: e.owner, is_stream: e.isStream, parameters: e.parameters, returns: e.returns };
    }
    for (const r of own) out.events[r.event] = { owner: me, is_stream: r.isStream, parameters: r.parameters, returns: r.returns };
    for (const [name, schema] of declared) out.subscriptions[name] = { owner: me, returns: schema };
    return out;
  }
}
