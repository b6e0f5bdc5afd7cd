/**
 * Routed frames: `call`, `response`, `broadcast`, `send` (comm-ipc 3.0.2,
 * 3.1.5-3.1.8). The hub stamps them and forwards the sender's bytes
 * untouched otherwise ({@link stampRouted}), so signatures and number types
 * survive. Beyond comm-ipc: calls are tracked until answered (responses from
 * anyone but the chosen provider are dropped; a provider's departure answers
 * its callers), password channels admit only members that proved the
 * password, and `__comm_ipc*` channels are read-only. A call for an
 * in-process member (a hub plugin) is handed over decoded instead of
 * stamped ({@link Endpoint.deliverCall}): it would only decode it again.
 *
 * What a sender may claim (docs/hub.md, "What a client may claim"). Keys that
 * signatures cover are never rewritten: a false claim there is refused.
 *   sender_id         always the sender's id (rewritten)
 *   path              a client's is replaced by [this hub]; a bridge's is kept
 *                     and this hub appended (a frame whose path holds this hub
 *                     is dropped: the only loop rule, and only for bridges)
 *   server_id         a client's, when present, is this hub's (rewritten)
 *   origin_server_id  added when absent; a client may send only nil or this
 *                     hub's id (else PIPEIO_ERR_FORBIDDEN); a bridge any string
 *   timestamp         added when absent; an integer, from a client within
 *                     MAX_CLOCK_SKEW_S of the hub's clock (else PIPEIO_ERR_PROTOCOL)
 *   code              removed from a forwarded response: only the hub's own
 *                     errors carry a code (in-process plugins are the hub's)
 */
import type { HubFrame } from '../protocol/codec';
import { packed, stampRouted, type Packed, type RoutedStamps } from '../protocol/stamp';
import { SYSTEM_CHANNEL, SYSTEM_CHANNEL_PREFIX, Texts } from '../protocol/messages';
import { nowSeconds, type HubCore } from './core';
import type { Endpoint } from './endpoint';
import { flag, optString, pathOf, reqString, requestIdOf } from './fields';

/** Seconds a client's `timestamp` may be away from the hub's clock. */
export const MAX_CLOCK_SKEW_S = 300;

/** Encoded stamps reused across frames: routing runs for every call. */
const packedIds = new Map<string, Packed>();
function packedId(id: string): Packed {
  let p = packedIds.get(id);
  if (!p) {
    if (packedIds.size >= 8192) packedIds.clear();
    p = packed(id);
    packedIds.set(id, p);
  }
  return p;
}

let stampSecond = -1;
let stampNow: Packed = packed(0);
/** Whether stampSecond was read in this turn of the event loop (frames of one read share it). */
let stampFresh = false;
function staleNow(): void {
  stampFresh = false;
}
function packedNow(): Packed {
  if (!stampFresh) {
    stampFresh = true;
    queueMicrotask(staleNow);
    const now = nowSeconds();
    if (now !== stampSecond) {
      stampSecond = now;
      stampNow = packed(now);
    }
  }
  return stampNow;
}

const selfStamps = new WeakMap<HubCore, { path: Packed; origin: Packed }>();
function ownStamps(core: HubCore): { path: Packed; origin: Packed } {
  let s = selfStamps.get(core);
  if (!s) {
    s = { path: packed([core.serverId]), origin: packed(core.serverId) };
    selfStamps.set(core, s);
  }
  return s;
}

/** Per hub, the stamps of each sender's last frame, reused while the second stays the same. */
const lastStamps = new WeakMap<HubCore, Map<string, { second: number; stamps: RoutedStamps }>>();

/** A bridge relays other hubs' frames: its path and origin are kept. */
function isBridge(from: Endpoint): boolean {
  return from.mode === 'bridge';
}

/**
 * Stamps for a routed frame (comm-ipc 3.0.2), or undefined if it looped back
 * to us. Only a bridge's `path` is read: a client's frame starts here.
 */
function stamps(core: HubCore, from: Endpoint, frame: HubFrame): RoutedStamps | undefined {
  const own = ownStamps(core);
  if (isBridge(from) && frame.fields.get('path') !== undefined) {
    const incoming = pathOf(frame.fields);
    if (incoming.includes(core.serverId)) return undefined;
    if (incoming.length > 0) {
      const path = packed([...incoming, core.serverId]).bytes;
      return { id: from.id, senderId: packedId(from.id).bytes, path, timestamp: packedNow().bytes, origin: own.origin.bytes };
    }
  }
  const timestamp = packedNow();
  let bySender = lastStamps.get(core);
  if (bySender === undefined) lastStamps.set(core, (bySender = new Map()));
  const last = bySender.get(from.id);
  if (last !== undefined && last.second === stampSecond) return last.stamps;
  const st: RoutedStamps = { id: from.id, senderId: packedId(from.id).bytes, path: own.path.bytes, timestamp: timestamp.bytes, origin: own.origin.bytes };
  if (bySender.size >= 8192) bySender.clear();
  bySender.set(from.id, { second: stampSecond, stamps: st });
  return st;
}

/** Packed server id of each hub core (`server_id` of a client's frame is rewritten to it). */
const packedServerIds = new WeakMap<HubCore, Packed>();

/**
 * Codes a provider may put on its own error response: they describe the
 * provider's view of the data (typed events, lib/schema), never the hub's
 * (no provider, provider gone, auth, ...), so a forwarded response keeps them.
 */
const PROVIDER_CODES: ReadonlySet<unknown> = new Set(['PIPEIO_ERR_VALIDATION', 'PIPEIO_ERR_SCHEMA']);

/**
 * What the hub changes besides the stamps (see the header): a client's
 * foreign `server_id`, a forwarded response's `code` (unless a provider's own,
 * {@link PROVIDER_CODES}). Undefined: nothing.
 */
function extraChanges(core: HubCore, from: Endpoint, frame: HubFrame, response: boolean): Record<string, unknown> | undefined {
  const f = frame.fields;
  let extra: Record<string, unknown> | undefined;
  if (response && !from.inProcess && f.has('code') && !PROVIDER_CODES.has(f.get('code'))) extra = { code: undefined };
  if (!isBridge(from) && !from.inProcess) {
    const sid = f.get('server_id');
    if (sid !== undefined && sid !== core.serverId) {
      let p = packedServerIds.get(core);
      if (!p) packedServerIds.set(core, (p = packed(core.serverId)));
      (extra ??= {})['server_id'] = p;
    }
  }
  return extra;
}

/**
 * Refuses a claim a sender may not make (see the header): the error text and
 * code, or undefined if the frame's claims are allowed.
 */
function claimRefusal(core: HubCore, from: Endpoint, frame: HubFrame): [string, 'PIPEIO_ERR_FORBIDDEN' | 'PIPEIO_ERR_PROTOCOL'] | undefined {
  if (from.inProcess) return undefined;
  const f = frame.fields;
  const ts = f.get('timestamp');
  if (isBridge(from)) {
    if (ts !== undefined && !(typeof ts === 'number' && Number.isInteger(ts))) return ['"timestamp" must be an integer (Unix seconds)', 'PIPEIO_ERR_PROTOCOL'];
    return undefined;
  }
  const origin = f.get('origin_server_id');
  if (origin !== undefined && origin !== null && origin !== core.serverId) {
    return [`"origin_server_id" may only name this hub (${core.serverId}); only a bridge relays other hubs' frames`, 'PIPEIO_ERR_FORBIDDEN'];
  }
  if (ts !== undefined && !(typeof ts === 'number' && Number.isInteger(ts) && Math.abs(ts - nowSeconds()) <= MAX_CLOCK_SKEW_S)) {
    return [`"timestamp" must be an integer (Unix seconds) within ${MAX_CLOCK_SKEW_S} s of the hub's clock`, 'PIPEIO_ERR_PROTOCOL'];
  }
  return undefined;
}

/**
 * Refuses a frame into a channel the sender may not use. Returns the error
 * text, or undefined if allowed.
 */
function refusal(core: HubCore, from: Endpoint, channel: string): [string, 'PIPEIO_ERR_AUTH' | 'PIPEIO_ERR_RESERVED'] | undefined {
  if (channel.startsWith(SYSTEM_CHANNEL_PREFIX)) return [`Channel ${channel} is read-only`, 'PIPEIO_ERR_RESERVED'];
  const ch = core.channels.get(channel);
  const password = ch?.password ?? core.channels.passwordOf(channel);
  if (password !== undefined && !ch?.authorized.has(from.id)) {
    return [`Channel ${channel} requires authentication, but no password was provided.`, 'PIPEIO_ERR_AUTH'];
  }
  return undefined;
}

export function handleCall(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const f = frame.fields;
  const channel = reqString(f, 'channel');
  const event = reqString(f, 'event');
  const rid = requestIdOf(f);
  const changes = stamps(core, from, frame);
  if (!changes) return;
  const refused = claimRefusal(core, from, frame) ?? refusal(core, from, channel);
  if (refused) {
    if (channel === SYSTEM_CHANNEL && core.answerSystemCall(from, event, rid, f.get('data'))) return;
    core.replyError(from, rid, refused[0], refused[1], { channel, event, is_final: true });
    core.observer.callRejected(channel, event, flag(f, 'is_stream'), 'refused', refused[1] === 'PIPEIO_ERR_AUTH');
    return;
  }
  const entry = core.providers.get(channel, event);
  const target = entry
    ? core.providers.pick(entry, core.strategy, (id) => core.requests.activeOf(id), (id) => core.clients.has(id))
    : undefined;
  if (target === undefined) {
    core.observer.callRejected(channel, event, flag(f, 'is_stream'), 'no_provider', false);
    const text = Texts.noProvider(channel, event);
    core.refuse(from, rid ?? '', text, 'PIPEIO_ERR_NO_PROVIDER', {
      channel,
      event,
      sender_id: 'server',
      server_id: core.serverId,
      origin_server_id: core.serverId,
      timestamp: nowSeconds(),
      target_id: null,
      is_stream: false,
      is_final: false,
    });
    return;
  }
  if (rid !== undefined) {
    if (core.requests.pendingOf(from.id) >= core.options.maxPendingCalls) {
      core.replyError(from, rid, Texts.tooManyCalls(core.options.maxPendingCalls), 'PIPEIO_ERR_LIMIT', {
        channel,
        event,
        is_final: true,
      });
      core.observer.callRejected(channel, event, flag(f, 'is_stream'), 'refused', false);
      return;
    }
    core.requests.add({ caller: from.id, provider: target, requestId: rid, channel, event, stream: flag(f, 'is_stream') });
  }
  core.deliverCallTo(target, frame, from.id, () => stampRouted(frame, changes, extraChanges(core, from, frame, false)));
}

export function handleResponse(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const f = frame.fields;
  const changes = stamps(core, from, frame);
  if (!changes) return;
  const target = optString(f, 'target_id');
  const rid = requestIdOf(f);
  if (!target || rid === undefined) return;
  const refused = claimRefusal(core, from, frame);
  if (refused) {
    core.replyError(from, undefined, refused[0], refused[1]);
    return;
  }
  const pending = core.requests.find(target, rid, from.id);
  if (!pending) {
    core.requests.orphanResponses++;
    return;
  }
  const streaming = flag(f, 'is_stream') && !flag(f, 'is_final') && !f.has('error');
  if (!streaming) core.requests.complete(pending);
  core.observer.response(pending, f, !streaming);
  core.deliverTo(target, stampRouted(frame, changes, extraChanges(core, from, frame, true)));
}

export function handleBroadcast(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const channel = reqString(frame.fields, 'channel');
  const changes = stamps(core, from, frame);
  if (!changes) return;
  // Relayed back by a comm-ipc bridge after a hub of our NATS cluster spread it: everyone has it.
  if (isBridge(from) && core.peerHubs.size > 0 && pathOf(frame.fields).some((h) => core.peerHubs.has(h))) return;
  const refused = claimRefusal(core, from, frame) ?? refusal(core, from, channel);
  const ev = frame.fields.get('event');
  const event = typeof ev === 'string' ? ev : '';
  if (refused) {
    core.replyError(from, undefined, refused[0], refused[1]);
    core.observer.message('broadcast', channel, event, 'refused', 0, refused[1] === 'PIPEIO_ERR_AUTH');
    return;
  }
  const ch = core.channels.get(channel);
  let reached = 0;
  if (ch) {
    let out: Buffer | undefined;
    for (const id of ch.openers) {
      if (id === from.id) continue;
      out ??= stampRouted(frame, changes, extraChanges(core, from, frame, false));
      if (core.deliverTo(id, out)) reached++;
    }
  }
  core.observer.message('broadcast', channel, event, 'ok', reached);
}

export function handleSend(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const f = frame.fields;
  const channel = reqString(f, 'channel');
  const event = reqString(f, 'event');
  const changes = stamps(core, from, frame);
  if (!changes) return;
  const refused = claimRefusal(core, from, frame) ?? refusal(core, from, channel);
  if (refused) {
    core.replyError(from, undefined, refused[0], refused[1]);
    core.observer.message('send', channel, event, 'refused', 0, refused[1] === 'PIPEIO_ERR_AUTH');
    return;
  }
  const entry = core.providers.get(channel, event);
  // comm-ipc: no provider, dropped silently, no reply
  const target = entry && core.providers.pick(entry, core.strategy, (id) => core.requests.activeOf(id), (id) => core.clients.has(id));
  if (target === undefined) core.observer.message('send', channel, event, 'no_provider', 0);
  else core.observer.message('send', channel, event, 'ok', core.deliverTo(target, stampRouted(frame, changes, extraChanges(core, from, frame, false))) ? 1 : 0);
}
