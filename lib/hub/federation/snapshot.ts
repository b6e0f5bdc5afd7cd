/**
 * What this hub tells the cluster about itself: a {@link HubState} built from
 * the core's tables, local members only. Built again after every local change
 * (cheap next to a socket round trip; O(state)); the federation compares the
 * encoded bytes and publishes only when they differ.
 *
 * Also keeps the two pieces of cluster state the core has no place for: when
 * each local member joined each channel (ownership order across hubs), and
 * the version of each channel password (the newest set_password anywhere wins).
 */
import type { HubCore } from '../server/core';
import type { HubState, Version } from './wire';

const key = (channel: string, id: string): string => `${channel}\u0000${id}`;

export interface PasswordRecord {
  /** undefined: cleared here (a tombstone, so an older copy is not adopted again). */
  password: string | undefined;
  version: Version;
}

export class LocalView {
  private readonly core: HubCore;
  /** channel+id -> ms it joined, local members only (rebuilt each time: bounded by live members). */
  private joined = new Map<string, number>();
  /** channel+id -> ms it joined, as announced by its home hub. */
  readonly remoteJoined = new Map<string, number>();
  /** Per channel, the password in force and its version (local or adopted). */
  readonly passwords = new Map<string, PasswordRecord>();

  constructor(core: HubCore) {
    this.core = core;
  }

  /** When `id` joined `channel` (local or remote), for ordering members; Infinity if unknown. */
  joinedAt(channel: string, id: string): number {
    const k = key(channel, id);
    return this.joined.get(k) ?? this.remoteJoined.get(k) ?? Number.POSITIVE_INFINITY;
  }

  setRemoteJoined(channel: string, id: string, at: number): void {
    this.remoteJoined.set(key(channel, id), at);
  }

  forgetRemoteJoined(channel: string, id: string): void {
    this.remoteJoined.delete(key(channel, id));
  }

  private isLocal(id: string): boolean {
    return this.core.clients.get(id)?.local === true;
  }

  build(now = Date.now()): HubState {
    const core = this.core;
    const state: HubState = { clients: [], channels: [], events: [], topics: [], passwords: [] };
    for (const ep of core.clients.values()) if (ep.local) state.clients.push([ep.id, ep.mode]);
    const joined = new Map<string, number>();
    for (const ch of core.channels.all()) {
      const members: Array<[string, number]> = [];
      for (const id of ch.members) {
        if (!this.isLocal(id)) continue;
        const k = key(ch.name, id);
        const at = this.joined.get(k) ?? now;
        joined.set(k, at);
        members.push([id, at]);
      }
      const openers = [...ch.openers].filter((id) => this.isLocal(id));
      if (members.length > 0 || openers.length > 0) state.channels.push({ name: ch.name, members, openers });
      this.notePassword(ch.name, ch.password, now);
    }
    this.joined = joined;
    for (const [name, rec] of this.passwords) {
      if (rec.password !== undefined && core.channels.get(name)?.password === undefined) {
        // Cleared here since the last build (owner left under terminate, channel emptied).
        this.passwords.set(name, { password: undefined, version: rec.version });
      }
    }
    for (const [channel, rec] of this.passwords) {
      if (rec.password !== undefined) state.passwords.push({ channel, password: rec.password, version: rec.version });
    }
    for (const e of core.providers.all()) {
      const providers = e.providers.filter((id) => this.isLocal(id));
      if (providers.length === 0) continue;
      state.events.push({
        channel: e.channel,
        event: e.event,
        isGroup: e.isGroup,
        isStream: e.isStream,
        paramSchema: e.paramSchema,
        returnSchema: e.returnSchema,
        providers,
      });
    }
    for (const t of core.topics.all()) {
      const owner = t.owner !== undefined && this.isLocal(t.owner) ? t.owner : null;
      const subscribers = [...t.subscribers].filter((id) => this.isLocal(id));
      if (owner === null && subscribers.length === 0) continue;
      state.topics.push({ channel: t.channel, name: t.name, owner, schema: owner === null ? null : t.schema, subscribers });
    }
    return state;
  }

  /** A password that differs from the recorded one was set here (set_password, system passwords). */
  private notePassword(channel: string, password: string | undefined, now: number): void {
    if (password === undefined) return;
    const rec = this.passwords.get(channel);
    if (rec?.password === password) return;
    const version: Version = [Math.max(now, (rec?.version[0] ?? 0) + 1), this.core.serverId];
    this.passwords.set(channel, { password, version });
  }
}
