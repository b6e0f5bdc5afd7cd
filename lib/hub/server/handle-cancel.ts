/**
 * `cancel` (beyond comm-ipc): a caller gives up a call or stream it is
 * waiting on, `{"type":"cancel","request_id":rid}`. The call leaves the
 * request table (later answers are orphans, dropped) and its provider, when
 * it is a local connection, is told with
 * `{"type":"cancel","channel","event","request_id","sender_id":<caller>}` so
 * it can stop (our client returns the stream's generator and aborts the
 * handler's signal; comm-ipc clients ignore unknown types). Unknown or
 * finished request ids are ignored: cancelling races the last answer.
 */
import { encodeFrame, type HubFrame } from '../protocol/codec';
import type { HubCore } from './core';
import type { Endpoint } from './endpoint';
import { requestIdOf } from './fields';

export function handleCancel(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const rid = requestIdOf(frame.fields);
  if (rid === undefined) return;
  const call = core.requests.peek(from.id, rid);
  if (!call) return;
  core.requests.complete(call);
  core.observer.callDropped(call, 'abandoned');
  const provider = core.clients.get(call.provider);
  // In-process members (hub plugins) take calls decoded and have no cancel; remote ones are left to finish.
  if (!provider || !provider.local || provider.deliverCall || core.quiet) return;
  provider.deliver(encodeFrame({ type: 'cancel', channel: call.channel, event: call.event, request_id: rid, sender_id: from.id }));
}
