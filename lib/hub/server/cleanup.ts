/**
 * What a departing member leaves behind (comm-ipc 1.3 step 4, in its order),
 * without comm-ipc's gaps: the leave notice skips the leaver, calls it owed
 * are answered with an error, a bridge's announced members go with it, and
 * its challenges are dropped.
 */
import { SYSTEM_CHANNEL_PREFIX, Texts } from '../protocol/messages';
import { nowSeconds, type HubCore } from './core';
import type { ChannelState } from './channel-table';
import { forgetMember, restoreRoute } from './handle-bridge';
import type { RemoteRoute } from './remote-routes';
import { leaveUpdate } from './handle-register';
import { notifyOwner } from './handle-pubsub';

export function cleanupClient(core: HubCore, id: string): void {
  const mode = core.clients.get(id)?.mode ?? 'client';
  // 1. member lists: leave notices, owner loss, emptied channels.
  for (const ch of core.channels.channelsOf(id)) {
    const at = ch.members.indexOf(id);
    if (at < 0) continue;
    ch.members.splice(at, 1);
    ch.authorized.delete(id);
    ch.openers.delete(id);
    core.notifyOpeners(ch, leaveUpdate(ch.name, id, mode), id);
    // System channels (`__comm_ipc*`) have no owner that can end them: any client may open them first.
    if (at === 0 && core.options.channelPolicy === 'terminate' && !ch.name.startsWith(SYSTEM_CHANNEL_PREFIX)) terminate(core, ch);
    else if (ch.members.length === 0) core.channels.clearMembers(ch);
  }
  // 3. opener lists.
  for (const ch of core.channels.channelsOf(id)) {
    ch.openers.delete(id);
    core.channels.dropIfEmpty(ch);
  }
  // 4. provider lists.
  core.providers.removeEverywhere(id);
  // 5. calls in flight: answer those it owed, forget those it waited on.
  for (const call of core.requests.dropProvider(id)) {
    core.sendTo(call.caller, {
      type: 'response',
      request_id: call.requestId,
      channel: call.channel,
      event: call.event,
      sender_id: 'server',
      server_id: core.serverId,
      origin_server_id: core.serverId,
      timestamp: nowSeconds(),
      target_id: call.caller,
      is_stream: false,
      is_final: true,
      error: Texts.providerGone(call.channel, call.event),
      code: 'PIPEIO_ERR_PROVIDER_GONE',
    });
  }
  core.requests.dropCaller(id);
  // 6-7. topics it owned vanish; topics it subscribed to may send `last` (its own topics only:
  // the table is indexed per client).
  for (const topic of core.topics.ownedByClient(id)) {
    topic.owner = undefined;
    topic.subscribers.clear();
    core.topics.dropIfEmpty(topic);
  }
  for (const topic of core.topics.subscribedByClient(id)) {
    if (topic.subscribers.delete(id) && topic.subscribers.size === 0) notifyOwner(core, topic, 'last');
    core.topics.dropIfEmpty(topic);
  }
  core.channels.forgetClient(id);
  core.challenges.dropClient(id);
  // A bridge's members leave with it (comm-ipc keeps ghost members forever),
  // parked for a while in case the same bridge reconnects.
  const parked: Array<[string, RemoteRoute, string[]]> = [];
  for (const remoteId of core.remotes.routedBy(id)) {
    const route = core.remotes.routes.get(remoteId)!;
    parked.push([remoteId, route, core.remotes.channelsOf(remoteId)]);
    core.remotes.deleteRoute(remoteId);
    forgetMember(core, remoteId);
  }
  if (mode === 'bridge') core.remotes.park(id, parked);
}

/** channelPolicy 'terminate' (4.3): everyone left gets the error and loses the channel. */
export function terminate(core: HubCore, ch: ChannelState): void {
  for (const member of [...ch.members]) {
    core.sendTo(member, { type: 'error', message: Texts.channelTerminated(ch.name), code: 'PIPEIO_ERR_CHANNEL_TERMINATED', channel: ch.name });
    ch.openers.delete(member);
    core.providers.removeFromChannel(ch.name, member);
  }
  core.channels.clearMembers(ch);
}

/** A bridge that reconnects within the grace period gets its parked members back. */
export function restoreBridge(core: HubCore, bridgeId: string): void {
  for (const [id, route, channels] of core.remotes.unpark(bridgeId)) restoreRoute(core, id, route, channels);
}
