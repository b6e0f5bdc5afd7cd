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
 */
import type { HubFrame } from '../protocol/codec';
import { packed, stampRouted, type Packed, type RoutedStamps } from '../protocol/stamp';
import { SYSTEM_CHANNEL_PREFIX, Texts } from '../protocol/messages';
import { nowSeconds, type HubCore } from './core';
import type { Endpoint } from './endpoint';
import { flag, optString, pathOf, reqString, requestIdOf } from './fields';

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

/** Stamps for a routed frame (comm-ipc 3.0.2), or undefined if it looped back to us. */
function stamps(core: HubCore, from: Endpoint, frame: HubFrame): RoutedStamps | undefined {
  const own = ownStamps(core);
  if (frame.fields.get('path') !== undefined) {
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
  const refused = refusal(core, from, channel);
  if (refused) {
    core.replyError(from, rid, refused[0], refused[1], { channel, event, is_final: true });
    return;
  }
  const entry = core.providers.get(channel, event);
  const target = entry
    ? core.providers.pick(entry, core.strategy, (id) => core.requests.activeOf(id), (id) => core.clients.has(id))
    : undefined;
  if (target === undefined) {
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
      return;
    }
    core.requests.add({ caller: from.id, provider: target, requestId: rid, channel, event });
  }
  core.deliverCallTo(target, frame, from.id, () => stampRouted(frame, changes));
}

export function handleResponse(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const f = frame.fields;
  const changes = stamps(core, from, frame);
  if (!changes) return;
  const target = optString(f, 'target_id');
  const rid = requestIdOf(f);
  if (!target || rid === undefined) return;
  const pending = core.requests.find(target, rid, from.id);
  if (!pending) {
    core.requests.orphanResponses++;
    return;
  }
  const streaming = flag(f, 'is_stream') && !flag(f, 'is_final') && !f.has('error');
  if (!streaming) core.requests.complete(pending);
  core.deliverTo(target, stampRouted(frame, changes));
}

export function handleBroadcast(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const channel = reqString(frame.fields, 'channel');
  const changes = stamps(core, from, frame);
  if (!changes) return;
  // Relayed back by a comm-ipc bridge after a hub of our NATS cluster spread it: everyone has it.
  if (core.peerHubs.size > 0 && pathOf(frame.fields).some((h) => core.peerHubs.has(h))) return;
  const refused = refusal(core, from, channel);
  if (refused) {
    core.replyError(from, undefined, refused[0], refused[1]);
    return;
  }
  const ch = core.channels.get(channel);
  if (!ch) return;
  let out: Buffer | undefined;
  for (const id of ch.openers) {
    if (id === from.id) continue;
    out ??= stampRouted(frame, changes);
    core.deliverTo(id, out);
  }
}

export function handleSend(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const f = frame.fields;
  const channel = reqString(f, 'channel');
  const event = reqString(f, 'event');
  const changes = stamps(core, from, frame);
  if (!changes) return;
  const refused = refusal(core, from, channel);
  if (refused) {
    core.replyError(from, undefined, refused[0], refused[1]);
    return;
  }
  const entry = core.providers.get(channel, event);
  if (!entry) return; // comm-ipc: dropped silently, no reply
  const target = core.providers.pick(entry, core.strategy, (id) => core.requests.activeOf(id), (id) => core.clients.has(id));
  if (target !== undefined) core.deliverTo(target, stampRouted(frame, changes));
}
