/**
 * Applies another hub's announced state to this hub's tables: its members
 * become {@link RemoteEndpoint}s in the same client, channel, provider and
 * topic tables as local ones, so routing never asks where a member lives.
 *
 * The rule that keeps notices exactly-once: a hub notifies only its own
 * clients (the core's notifyOpeners/sendTo skip remote endpoints), and each
 * hub derives the notices for its clients from the changes it applies here:
 *
 *   departed member  -> core.detach(): leave notices, provider-gone answers
 *                       to local callers, `last` to a local owner, terminate
 *   new member       -> join notice (is_local:false, path [home hub])
 *   new provider     -> event metadata_update
 *   new topic owner  -> subscription metadata_update
 *   subscriber sets  -> `first` / `last` to a local owner (the owner's hub decides)
 *   newer password   -> adopted; local members are kicked as set_password does
 *
 * Order matters: departures first (cleanup needs the member lists as they
 * were), then memberships, providers, topics, passwords.
 */
import type { HubCore } from '../server/core';
import type { ChannelState } from '../server/channel-table';
import { joinUpdate } from '../server/handle-register';
import { notifyOwner } from '../server/handle-pubsub';
import { Texts } from '../protocol/messages';
import { isRemote, RemoteEndpoint, type Outbox } from './remote-endpoint';
import type { LocalView } from './snapshot';
import { newer, type HubState } from './wire';

export interface ReconcileContext {
  core: HubCore;
  view: LocalView;
  outbox: Outbox;
  /** A member id announced by two hubs, or by a hub while local here: reported, not applied. */
  onConflict(id: string, hub: string): void;
}

/** Remote endpoints homed at `hub`. */
export function endpointsOf(core: HubCore, hub: string): RemoteEndpoint[] {
  const out: RemoteEndpoint[] = [];
  for (const ep of core.clients.values()) if (isRemote(ep) && ep.home === hub) out.push(ep);
  return out;
}

function homedAt(core: HubCore, id: string, hub: string): boolean {
  const ep = core.clients.get(id);
  return isRemote(ep) && ep.home === hub;
}

/** Detaches every member of `hub` (it left or died); notices go to local clients only. */
export function dropHub(ctx: ReconcileContext, hub: string): number {
  const gone = endpointsOf(ctx.core, hub);
  for (const ep of gone) detachRemote(ctx, ep.id);
  ctx.outbox.dropHub(hub);
  return gone.length;
}

function detachRemote(ctx: ReconcileContext, id: string): void {
  for (const ch of ctx.core.channels.channelsOf(id)) ctx.view.forgetRemoteJoined(ch.name, id);
  ctx.core.detach(id);
}

/** Attaches a caller seen in a frame before its hub's state listed it. */
export function ensureProvisional(ctx: ReconcileContext, id: string, hub: string): boolean {
  const ep = ctx.core.clients.get(id);
  if (ep) return isRemote(ep) && ep.home === hub;
  ctx.core.attach(new RemoteEndpoint(id, 'client', hub, ctx.outbox, true));
  return true;
}

export function applyState(ctx: ReconcileContext, hub: string, state: HubState): void {
  const { core } = ctx;
  // 1. Departed members; new ones attached.
  const listed = new Map(state.clients);
  for (const ep of endpointsOf(core, hub)) {
    if (listed.has(ep.id)) continue;
    if (ep.provisional) ep.provisional = false; // give the announcement one more round
    else detachRemote(ctx, ep.id);
  }
  for (const [id, mode] of listed) {
    const ep = core.clients.get(id);
    if (!ep) core.attach(new RemoteEndpoint(id, mode, hub, ctx.outbox));
    else if (isRemote(ep) && ep.home === hub) {
      ep.mode = mode;
      ep.provisional = false;
    } else ctx.onConflict(id, hub);
  }
  const mine = (id: string): boolean => homedAt(core, id, hub);
  applyChannels(ctx, hub, state, mine);
  applyProviders(ctx, state, mine);
  applyTopics(ctx, state, mine);
  applyPasswords(ctx, state);
}

function applyChannels(ctx: ReconcileContext, hub: string, state: HubState, mine: (id: string) => boolean): void {
  const { core, view } = ctx;
  const want = new Map(state.channels.map((c) => [c.name, c]));
  const touched: ChannelState[] = [];
  for (const ch of [...core.channels.all()]) {
    const w = want.get(ch.name);
    const keepM = new Set(w?.members.map((m) => m[0]) ?? []);
    const keepO = new Set(w?.openers ?? []);
    for (let i = ch.members.length - 1; i >= 0; i--) {
      const id = ch.members[i]!;
      if (mine(id) && !keepM.has(id)) {
        ch.members.splice(i, 1);
        view.forgetRemoteJoined(ch.name, id);
        touched.push(ch);
      }
    }
    for (const id of [...ch.openers]) {
      if (mine(id) && !keepO.has(id)) {
        ch.openers.delete(id);
        touched.push(ch);
      }
    }
  }
  for (const c of state.channels) {
    const ch = core.channels.ensure(c.name);
    for (const [id, at] of c.members) {
      if (!mine(id) || ch.members.includes(id)) continue;
      view.setRemoteJoined(ch.name, id, at);
      let pos = ch.members.length;
      while (pos > 0 && view.joinedAt(ch.name, ch.members[pos - 1]!) > at) pos--;
      core.channels.insertMember(ch, id, pos);
      const ep = core.clients.get(id)!;
      core.notifyOpeners(ch, { ...joinUpdate(ch.name, ep), is_local: false, path: [hub] });
    }
    for (const id of c.openers) if (mine(id)) ch.openers.add(id);
    touched.push(ch);
  }
  for (const ch of touched) core.channels.dropIfEmpty(ch);
}

function applyProviders(ctx: ReconcileContext, state: HubState, mine: (id: string) => boolean): void {
  const { core } = ctx;
  const want = new Set<string>();
  for (const e of state.events) for (const id of e.providers) want.add(`${e.channel}\u0000${e.event}\u0000${id}`);
  for (const e of [...core.providers.all()]) {
    for (const id of [...e.providers]) {
      if (mine(id) && !want.has(`${e.channel}\u0000${e.event}\u0000${id}`)) core.providers.remove(e.channel, e.event, id);
    }
  }
  for (const e of state.events) {
    for (const id of e.providers) {
      if (!mine(id) || core.providers.get(e.channel, e.event)?.providers.includes(id)) continue;
      const reg = { isGroup: e.isGroup, isStream: e.isStream, paramSchema: e.paramSchema, returnSchema: e.returnSchema };
      if (core.providers.register(e.channel, e.event, id, reg) === 'conflict') continue;
      core.notifyOpeners(core.channels.get(e.channel), {
        type: 'metadata_update',
        channel: e.channel,
        name: e.event,
        stype: 'event',
        owner: id,
        is_stream: e.isStream,
        is_group: e.isGroup,
        param_schema: e.paramSchema ?? null,
        return_schema: e.returnSchema ?? null,
      });
    }
  }
}

function applyTopics(ctx: ReconcileContext, state: HubState, mine: (id: string) => boolean): void {
  const { core } = ctx;
  const tkey = (c: string, n: string): string => `${c}\u0000${n}`;
  const want = new Map(state.topics.map((t) => [tkey(t.channel, t.name), t]));
  const localOwner = (owner: string | undefined): boolean => owner !== undefined && core.clients.get(owner)?.local === true;
  for (const topic of [...core.topics.all()]) {
    const w = want.get(tkey(topic.channel, topic.name));
    if (topic.owner !== undefined && mine(topic.owner) && w?.owner !== topic.owner) {
      // Removed (or its owner left): the subscriber set vanishes, as on the owner's hub.
      topic.owner = undefined;
      topic.subscribers.clear();
    }
    const keep = new Set(w?.subscribers ?? []);
    let removed = false;
    for (const id of [...topic.subscribers]) {
      if (mine(id) && !keep.has(id)) {
        topic.subscribers.delete(id);
        removed = true;
      }
    }
    if (removed && topic.subscribers.size === 0 && localOwner(topic.owner)) notifyOwner(core, topic, 'last');
    core.topics.dropIfEmpty(topic);
  }
  for (const t of state.topics) {
    const topic = core.topics.ensure(t.channel, t.name);
    if (t.owner !== null && mine(t.owner)) {
      if (topic.owner === undefined) {
        topic.owner = t.owner;
        topic.schema = t.schema ?? null;
        core.notifyOpeners(core.channels.get(t.channel), {
          type: 'metadata_update',
          channel: t.channel,
          name: t.name,
          stype: 'subscription',
          owner: t.owner,
          return_schema: topic.schema,
        });
      } else if (topic.owner === t.owner) topic.schema = t.schema ?? null;
      else ctx.onConflict(`${t.channel}/${t.name}`, t.owner);
    }
    for (const id of t.subscribers) {
      if (!mine(id) || topic.subscribers.has(id)) continue;
      const wasEmpty = topic.subscribers.size === 0;
      topic.subscribers.add(id);
      if (wasEmpty && localOwner(topic.owner)) notifyOwner(core, topic, 'first');
    }
    core.topics.dropIfEmpty(topic);
  }
}

function applyPasswords(ctx: ReconcileContext, state: HubState): void {
  const { core, view } = ctx;
  for (const p of state.passwords) {
    const rec = view.passwords.get(p.channel);
    const ch = core.channels.get(p.channel);
    // (No channel here yet: adopted when one exists; members come with the password's owner.)
    if (!ch || !newer(p.version, rec?.version)) continue;
    view.passwords.set(p.channel, { password: p.password, version: p.version });
    if (ch.password === p.password) continue;
    core.channels.setPassword(ch, p.password);
    // As set_password does on the setter's hub: every other member must prove the new password.
    for (const id of [...ch.members]) {
      if (core.clients.get(id)?.local !== true) continue;
      core.sendTo(id, { type: 'error', message: Texts.passwordChanged, code: 'PIPEIO_ERR_CHANNEL_TERMINATED', channel: ch.name });
      ch.openers.delete(id);
      ch.authorized.delete(id);
      core.providers.removeFromChannel(ch.name, id);
    }
  }
}
