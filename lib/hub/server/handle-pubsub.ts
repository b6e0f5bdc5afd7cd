/**
 * Pub/sub: `add_subscription`, `remove_subscription`, `subscribe`,
 * `unsubscribe`, `publish` (comm-ipc 3.1.9-3.1.12, section 7), with its
 * exact texts and first/last notices. Publications forward the publisher's
 * `data` bytes untouched.
 */
import type { HubFrame } from '../protocol/codec';
import { restamp } from '../protocol/stamp';
import { RESERVED_CHANNEL, SUBSCRIPTION_EVENT_PREFIX, SYSTEM_CHANNEL_PREFIX, Texts } from '../protocol/messages';
import { nowSeconds, type HubCore } from './core';
import type { Endpoint } from './endpoint';
import { optString, requestIdOf } from './fields';
import type { Topic } from './subscription-table';

/** Per-client cap on topics it subscribes to (each costs a table entry). */
export const MAX_SUBSCRIPTIONS_PER_CLIENT = 10_000;
/**
 * Per-client cap on topics it declares (owns). With the cap above it bounds
 * what a departure undoes at once: 10,000 of each take the hub ~25 ms.
 */
export const MAX_OWNED_TOPICS_PER_CLIENT = 10_000;

function ok(core: HubCore, from: Endpoint, rid: string | undefined): void {
  if (rid !== undefined) core.sendTo(from.id, { type: 'response', request_id: rid, data: { success: true } });
}

function fail(core: HubCore, from: Endpoint, rid: string | undefined, text: string, code: Parameters<HubCore['replyError']>[3]): void {
  if (rid !== undefined) core.replyError(from, rid, text, code);
}

export function handleAddSubscription(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const f = frame.fields;
  const rid = requestIdOf(f);
  const channel = optString(f, 'channel');
  const name = optString(f, 'sub_name');
  if (!channel || !name) return fail(core, from, rid, Texts.subRequired, 'PIPEIO_ERR_PROTOCOL');
  if (channel === RESERVED_CHANNEL) return fail(core, from, rid, Texts.subChannelReserved, 'PIPEIO_ERR_RESERVED');
  if (name.startsWith(SUBSCRIPTION_EVENT_PREFIX)) return fail(core, from, rid, Texts.subNameReserved(name), 'PIPEIO_ERR_RESERVED');
  if (channel.startsWith(SYSTEM_CHANNEL_PREFIX)) return fail(core, from, rid, `Channel ${channel} is read-only`, 'PIPEIO_ERR_RESERVED');
  const existing = core.topics.get(channel, name);
  if (existing?.owner !== undefined && existing.owner !== from.id) {
    return fail(core, from, rid, Texts.subOwned(name), 'PIPEIO_ERR_CONFLICT');
  }
  if (existing?.owner !== from.id && core.topics.ownedCount(from.id) >= MAX_OWNED_TOPICS_PER_CLIENT) {
    return fail(core, from, rid, `Too many subscriptions declared (limit ${MAX_OWNED_TOPICS_PER_CLIENT})`, 'PIPEIO_ERR_LIMIT');
  }
  const topic = existing ?? core.topics.ensure(channel, name);
  topic.owner = from.id;
  topic.schema = f.get('return_schema') ?? f.get('schema') ?? null;
  core.notifyOpeners(
    core.channels.get(channel),
    { type: 'metadata_update', channel, name, stype: 'subscription', owner: from.id, return_schema: topic.schema },
    from.id,
  );
  core.log(`Client ${from.id} added subscription ${name} on channel ${channel}`, 'info', from.id);
  ok(core, from, rid);
}

export function handleRemoveSubscription(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const f = frame.fields;
  const rid = requestIdOf(f);
  const channel = optString(f, 'channel') ?? '';
  const name = optString(f, 'sub_name') ?? '';
  const topic = core.topics.get(channel, name);
  if (!topic || topic.owner !== from.id) return fail(core, from, rid, Texts.subNotOwner, 'PIPEIO_ERR_FORBIDDEN');
  topic.owner = undefined;
  topic.subscribers.clear();
  core.topics.dropIfEmpty(topic);
  core.log(`Subscription ${name} on channel ${channel} removed`, 'info', from.id);
  ok(core, from, rid);
}

/** `subscription.<s>.first` / `.last` to the owner. */
export function notifyOwner(core: HubCore, topic: Topic, which: 'first' | 'last'): void {
  if (topic.owner === undefined) return;
  core.sendTo(topic.owner, {
    type: 'receive',
    channel: topic.channel,
    event: `${SUBSCRIPTION_EVENT_PREFIX}${topic.name}.${which}`,
    data: { sub_name: topic.name },
    timestamp: nowSeconds(),
  });
}

export function handleSubscribe(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const f = frame.fields;
  const rid = requestIdOf(f);
  const channel = optString(f, 'channel');
  const name = optString(f, 'sub_name');
  if (!channel || !name) return fail(core, from, rid, Texts.subRequired, 'PIPEIO_ERR_PROTOCOL');
  const ch = core.channels.get(channel);
  if ((ch?.password ?? core.channels.passwordOf(channel)) !== undefined && !ch?.authorized.has(from.id)) {
    return fail(core, from, rid, `Channel ${channel} requires authentication, but no password was provided.`, 'PIPEIO_ERR_AUTH');
  }
  const topic = core.topics.ensure(channel, name);
  if (!topic.subscribers.has(from.id)) {
    if (core.topics.subscriptionCount(from.id) >= MAX_SUBSCRIPTIONS_PER_CLIENT) {
      core.topics.dropIfEmpty(topic);
      return fail(core, from, rid, `Too many subscriptions (limit ${MAX_SUBSCRIPTIONS_PER_CLIENT})`, 'PIPEIO_ERR_LIMIT');
    }
    const wasEmpty = topic.subscribers.size === 0;
    topic.subscribers.add(from.id);
    if (wasEmpty) notifyOwner(core, topic, 'first');
  }
  ok(core, from, rid);
}

export function handleUnsubscribe(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const f = frame.fields;
  const rid = requestIdOf(f);
  const topic = core.topics.get(optString(f, 'channel') ?? '', optString(f, 'sub_name') ?? '');
  if (topic?.subscribers.delete(from.id)) {
    if (topic.subscribers.size === 0) notifyOwner(core, topic, 'last');
    core.topics.dropIfEmpty(topic);
  }
  ok(core, from, rid);
}

export function handlePublish(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const f = frame.fields;
  const channel = optString(f, 'channel') ?? '';
  const name = optString(f, 'sub_name') ?? '';
  const topic = core.topics.get(channel, name);
  if (!topic || topic.owner !== from.id) {
    // comm-ipc drops silently; we tell the publisher why (an `error` frame, no request to fail).
    core.replyError(from, requestIdOf(f), `Only the owner of subscription ${name} may publish to it`, 'PIPEIO_ERR_FORBIDDEN');
    core.observer.message('publish', channel, name, 'refused', 0);
    return;
  }
  core.observer.message('publish', channel, name, 'ok', topic.subscribers.size);
  if (topic.subscribers.size === 0) return;
  const out = restamp(frame, {
    type: 'receive',
    event: `${SUBSCRIPTION_EVENT_PREFIX}${name}.data`,
    sender_id: from.id,
    server_id: core.serverId,
    timestamp: nowSeconds(),
    sub_name: undefined,
    request_id: undefined,
  });
  for (const id of topic.subscribers) core.deliverTo(id, out);
}
