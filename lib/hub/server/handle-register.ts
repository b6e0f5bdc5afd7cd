/**
 * `register` (open a channel, register a provider, answer a password
 * challenge) and `set_password`: comm-ipc sections 3.1.1-3.1.4, 4.1, 4.2.
 */
import { channelProof, safeEqualHex } from '../security/signing';
import type { Fields, HubFrame } from '../protocol/codec';
import { SUBSCRIPTION_EVENT_PREFIX, SYSTEM_CHANNEL_PREFIX, Texts } from '../protocol/messages';
import { CHALLENGE_TTL_MS } from './challenges';
import { MAX_CHANNELS_PER_CLIENT, type ChannelState } from './channel-table';
import { MAX_EVENTS_PER_CLIENT } from './provider-table';
import type { HubCore } from './core';
import type { Endpoint } from './endpoint';
import { fieldError, flag, optString, reqString, requestIdOf } from './fields';

export function handleRegister(core: HubCore, from: Endpoint, frame: HubFrame): void {
  // comm-ipc nests the registration under `reg`, or sends it flat. Nested keys are strings (codec).
  const nested = frame.fields.get('reg');
  const reg = nested instanceof Map ? (nested as Fields) : frame.fields;
  const rid = requestIdOf(reg);
  const proof = reg.get('proof');
  if (proof !== undefined && proof !== null) {
    answerChallenge(core, from, reg, rid);
    return;
  }
  const channel = reqString(reg, 'channel');
  if (core.channels.passwordOf(channel) !== undefined) {
    const { challengeId, challenge } = core.challenges.issue(from.id, new Map(reg));
    core.sendTo(from.id, {
      type: 'auth_challenge',
      channel,
      challenge,
      challenge_id: challengeId,
      request_id: reg.get('request_id') ?? null,
    });
    return;
  }
  doRegister(core, from, reg, false);
}

function answerChallenge(core: HubCore, from: Endpoint, reg: Fields, rid: string | undefined): void {
  const challengeId = optString(reg, 'challenge_id');
  const proof = reg.get('proof');
  const pending = challengeId === undefined ? undefined : core.challenges.take(from.id, challengeId);
  const fail = (text: string): void => {
    core.refuse(from, rid, text, 'PIPEIO_ERR_AUTH');
  };
  if (!pending) return fail(Texts.invalidChallenge);
  if (Date.now() - pending.issuedAt > CHALLENGE_TTL_MS) return fail(Texts.challengeExpired);
  const channel = optString(pending.registration, 'channel') ?? '';
  const password = core.channels.passwordOf(channel);
  if (password !== undefined && !safeEqualHex(proof, channelProof(password, pending.challenge))) {
    return fail(Texts.invalidChannelPassword);
  }
  doRegister(core, from, pending.registration, true);
}

/** The registration proper, once any password has been proven. */
function doRegister(core: HubCore, from: Endpoint, reg: Fields, proven: boolean): void {
  const channel = reqString(reg, 'channel');
  const rid = reg.get('request_id') ?? null;
  const isProvider = flag(reg, 'is_provider');
  const event = optString(reg, 'event');
  if (isProvider && event !== undefined && event.startsWith(SUBSCRIPTION_EVENT_PREFIX)) {
    core.replyError(from, requestIdOf(reg), `Event name '${event}' is reserved (cannot start with 'subscription.')`, 'PIPEIO_ERR_RESERVED');
    return;
  }
  if (isProvider && channel.startsWith(SYSTEM_CHANNEL_PREFIX)) {
    core.replyError(from, requestIdOf(reg), `Channel ${channel} is read-only`, 'PIPEIO_ERR_RESERVED');
    return;
  }
  const known = core.channels.get(channel);
  if (!(known?.members.includes(from.id) || known?.openers.has(from.id)) && core.channels.countOf(from.id, MAX_CHANNELS_PER_CLIENT) >= MAX_CHANNELS_PER_CLIENT) {
    core.replyError(from, requestIdOf(reg), `Too many channels (limit ${MAX_CHANNELS_PER_CLIENT})`, 'PIPEIO_ERR_LIMIT');
    return;
  }
  const ch = known ?? core.channels.ensure(channel);
  core.channels.addMember(ch, from.id);
  if (proven) ch.authorized.add(from.id);
  const authenticated = ch.password !== undefined;
  if (!isProvider) {
    ch.openers.add(from.id);
    core.sendTo(from.id, channelSync(core, ch));
    core.notifyOpeners(ch, joinUpdate(ch.name, from), from.id);
    core.newRegistration(channel, null, false, false, from.id);
    core.sendTo(from.id, {
      type: 'response',
      request_id: rid,
      channel,
      event: null,
      data: { channel, event: null, authenticated },
    });
    return;
  }
  if (event === undefined || event === '') {
    core.replyError(from, requestIdOf(reg), Texts.eventRequired, 'PIPEIO_ERR_PROTOCOL');
    return;
  }
  const isStream = flag(reg, 'is_stream');
  const isGroup = flag(reg, 'is_group');
  const paramSchema = reg.get('param_schema') ?? null; // passed on as decoded (key order, every key)
  const returnSchema = reg.get('return_schema') ?? null;
  if (!core.providers.get(channel, event)?.providers.includes(from.id) && core.providers.countOf(from.id) >= MAX_EVENTS_PER_CLIENT) {
    core.replyError(from, requestIdOf(reg), `Too many events provided (limit ${MAX_EVENTS_PER_CLIENT})`, 'PIPEIO_ERR_LIMIT');
    return;
  }
  const outcome = core.providers.register(channel, event, from.id, { isGroup, isStream, paramSchema, returnSchema });
  if (outcome === 'conflict') {
    const text = Texts.providerExists(channel, event);
    core.refuse(from, requestIdOf(reg), text, 'PIPEIO_ERR_CONFLICT', { channel, event });
    return;
  }
  core.notifyOpeners(
    ch,
    {
      type: 'metadata_update',
      channel,
      name: event,
      stype: 'event',
      owner: from.id,
      is_stream: isStream,
      is_group: isGroup,
      param_schema: paramSchema,
      return_schema: returnSchema,
    },
    from.id,
  );
  core.sendTo(from.id, { type: 'response', request_id: rid, channel, event, success: true });
  core.notifyOpeners(ch, joinUpdate(channel, from), from.id);
  core.newRegistration(channel, event, true, isStream, from.id);
  core.sendTo(from.id, {
    type: 'response',
    request_id: rid,
    channel,
    event,
    data: { channel, event, authenticated },
  });
}

/** `channel_sync` (3.2.4): subscriptions carry their schema under `param_schema` (sic). */
function channelSync(core: HubCore, ch: ChannelState): object {
  const events: Record<string, object> = {};
  for (const e of core.providers.events(ch.name)) {
    events[e.event] = {
      owner: e.providers[0],
      is_stream: e.isStream,
      is_group: e.isGroup,
      param_schema: e.paramSchema,
      return_schema: e.returnSchema,
      stype: 'event',
    };
  }
  const subscriptions: Record<string, object> = {};
  for (const t of core.topics.owned(ch.name)) {
    subscriptions[t.name] = { owner: t.owner, param_schema: t.schema, stype: 'subscription' };
  }
  return { type: 'channel_sync', channel: ch.name, events, subscriptions };
}

export function joinUpdate(channel: string, who: Endpoint): object {
  return { type: 'metadata_update', channel, name: who.id, stype: 'membership', owner: who.id, mode: who.mode, action: 'join' };
}

export function leaveUpdate(channel: string, id: string, mode: string): object {
  return { type: 'metadata_update', channel, name: id, stype: 'membership', owner: id, mode, action: 'leave' };
}

/**
 * `set_password` (4.1). Unlike comm-ipc, an empty channel that still has a
 * password (system_passwords, `__comm_ipc*`) cannot be taken over, system
 * channels' passwords cannot be changed by clients, and a nil password is
 * refused instead of breaking the channel.
 */
export function handleSetPassword(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const f = frame.fields;
  const rid = requestIdOf(f);
  const channel = reqString(f, 'channel');
  const password = f.get('password');
  if (typeof password !== 'string') throw fieldError('"password" must be a string');
  let ch = core.channels.get(channel);
  const owner = ch?.members[0];
  const refuse = (): void => {
    core.refuse(from, rid, Texts.onlyOwnerPassword, 'PIPEIO_ERR_FORBIDDEN');
  };
  if (channel.startsWith(SYSTEM_CHANNEL_PREFIX)) return refuse();
  if (owner !== undefined && owner !== from.id) return refuse();
  if (owner === undefined) {
    if (core.channels.passwordOf(channel) !== undefined) return refuse();
    if (core.channels.countOf(from.id, MAX_CHANNELS_PER_CLIENT) >= MAX_CHANNELS_PER_CLIENT) {
      core.replyError(from, rid, `Too many channels (limit ${MAX_CHANNELS_PER_CLIENT})`, 'PIPEIO_ERR_LIMIT');
      return;
    }
    ch = core.channels.ensure(channel);
    core.channels.addMember(ch, from.id);
  }
  ch = ch!;
  if (password !== ch.password) {
    core.channels.setPassword(ch, password);
    core.log(`Channel ${channel} password set/changed`, 'info', from.id);
    for (const id of ch.members) {
      if (id === from.id) continue;
      core.sendTo(id, { type: 'error', message: Texts.passwordChanged, code: 'PIPEIO_ERR_CHANNEL_TERMINATED', channel });
      ch.openers.delete(id);
      ch.authorized.delete(id);
      core.providers.removeFromChannel(channel, id);
    }
  }
  ch.authorized.add(from.id);
  if (rid !== undefined) core.sendTo(from.id, { type: 'response', request_id: rid, data: { success: true } });
}
