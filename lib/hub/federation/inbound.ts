/**
 * Frames that another hub routed to members of this hub. The sending hub has
 * done the routing (stamps, provider choice, audience); here each frame only
 * reaches its listed local targets, once, with this hub's id appended to
 * `path`. Nothing received here is ever sent on to a third hub, and a frame
 * whose `path` already holds this hub's id is dropped: no loops.
 *
 *   call      -> recorded in this hub's request table (so the provider's
 *                answer is routed back), then delivered; an absent provider
 *                is answered at once with PIPEIO_ERR_PROVIDER_GONE
 *   response  -> delivered only if the caller still waits for it here (the
 *                caller's hub is the one that answers failures, so a late
 *                or duplicate answer is counted as an orphan and dropped)
 *   broadcast, send, receive -> delivered
 */
import { decodeHubFrame, encodeFrame, type HubFrame } from '../protocol/codec';
import { restamp } from '../protocol/stamp';
import { FRAME_HEADER_BYTES } from '../protocol/frame-reader';
import { Texts } from '../protocol/messages';
import { nowSeconds, type HubCore } from '../server/core';
import { flag, optString, pathOf, requestIdOf } from '../server/fields';
import { isRemote } from './remote-endpoint';
import { ensureProvisional, type ReconcileContext } from './reconcile';
import type { Batch } from './wire';

export interface InboundStats {
  /** Frames dropped: undecodable, looped, or for members that are not here. */
  dropped: number;
}

export function handleBatch(ctx: ReconcileContext, batch: Batch, stats: InboundStats): void {
  for (const item of batch.items) {
    let frame: HubFrame;
    let path: string[];
    try {
      frame = decodeHubFrame(item.frame.subarray(FRAME_HEADER_BYTES));
      path = pathOf(frame.fields);
    } catch {
      stats.dropped++;
      continue;
    }
    if (path.includes(ctx.core.serverId)) {
      stats.dropped++;
      continue;
    }
    switch (frame.type) {
      case 'call':
        inboundCall(ctx, batch.hub, frame, path, item.targets, stats);
        break;
      case 'response':
        inboundResponse(ctx.core, batch.hub, frame, path, item.targets, stats);
        break;
      default:
        // Publications (`receive`) carry no path in comm-ipc: forwarded as they are.
        deliverLocal(ctx.core, item.targets, frame.type === 'receive' ? item.frame : stamped(ctx.core, frame, path), stats);
    }
  }
}

function stamped(core: HubCore, frame: HubFrame, path: string[]): Buffer {
  return restamp(frame, { path: [...path, core.serverId] });
}

function deliverLocal(core: HubCore, targets: string[], out: Buffer, stats: InboundStats): void {
  for (const id of targets) {
    const ep = core.clients.get(id);
    if (ep?.local) ep.deliver(out);
    else stats.dropped++;
  }
}

function inboundCall(ctx: ReconcileContext, hub: string, frame: HubFrame, path: string[], targets: string[], stats: InboundStats): void {
  const { core } = ctx;
  const f = frame.fields;
  let caller: string | undefined;
  let channel = '';
  let event = '';
  try {
    caller = optString(f, 'sender_id');
    channel = optString(f, 'channel') ?? '';
    event = optString(f, 'event') ?? '';
  } catch {
    caller = undefined;
  }
  const target = targets[0];
  if (!caller || target === undefined || !ensureProvisional(ctx, caller, hub)) {
    stats.dropped++;
    return;
  }
  const rid = requestIdOf(f);
  const ep = core.clients.get(target);
  if (!ep?.local) {
    if (rid !== undefined) {
      core.deliverTo(
        caller,
        encodeFrame({
          type: 'response',
          request_id: rid,
          channel,
          event,
          sender_id: target,
          server_id: core.serverId,
          origin_server_id: core.serverId,
          timestamp: nowSeconds(),
          target_id: caller,
          path: [core.serverId],
          is_stream: false,
          is_final: true,
          error: Texts.providerGone(channel, event),
          code: 'PIPEIO_ERR_PROVIDER_GONE',
        }),
      );
    }
    stats.dropped++;
    return;
  }
  if (rid !== undefined) core.requests.add({ caller, provider: target, requestId: rid, channel, event });
  ep.deliver(stamped(core, frame, path));
}

function inboundResponse(core: HubCore, hub: string, frame: HubFrame, path: string[], targets: string[], stats: InboundStats): void {
  const f = frame.fields;
  const caller = targets[0];
  const rid = requestIdOf(f);
  if (caller === undefined || rid === undefined) {
    stats.dropped++;
    return;
  }
  const pending = core.requests.peek(caller, rid);
  const provider = pending && core.clients.get(pending.provider);
  if (!pending || !isRemote(provider) || provider.home !== hub) {
    core.requests.orphanResponses++;
    return;
  }
  const streaming = flag(f, 'is_stream') && !flag(f, 'is_final') && !f.has('error');
  if (!streaming) core.requests.complete(pending.key);
  core.observer.response(pending, f, !streaming);
  const ep = core.clients.get(caller);
  if (ep?.local) ep.deliver(stamped(core, frame, path));
}

/**
 * A frame that could not cross (typically over NATS' max_payload): answer
 * whoever waits for it instead of leaving a call to hang. A call is answered
 * here (its caller is local); an answer is replaced by a small error sent to
 * the caller's hub through `toHub`. Other frames are only reported.
 */
export function answerUndeliverable(core: HubCore, frameBytes: Buffer, targets: string[], reason: string, toHub: (frame: Buffer, target: string) => void): void {
  let frame: HubFrame;
  let rid: string | undefined;
  let sender: string | undefined;
  let channel: string | undefined;
  let event: string | undefined;
  try {
    frame = decodeHubFrame(frameBytes.subarray(FRAME_HEADER_BYTES));
    rid = requestIdOf(frame.fields);
    sender = optString(frame.fields, 'sender_id');
    channel = optString(frame.fields, 'channel');
    event = optString(frame.fields, 'event');
  } catch {
    return;
  }
  if (rid === undefined || !sender) return;
  const base = { type: 'response', request_id: rid, channel, event, server_id: core.serverId, timestamp: nowSeconds(), is_stream: false, is_final: true, code: 'PIPEIO_ERR_FEDERATION' };
  if (frame.type === 'call') {
    const pending = core.requests.peek(sender, rid);
    if (!pending) return;
    core.requests.complete(pending.key);
    core.sendTo(sender, { ...base, sender_id: 'server', target_id: sender, error: `Call to ${channel}:${event} could not reach its provider: ${reason}` });
  } else if (frame.type === 'response' && targets[0] !== undefined) {
    toHub(encodeFrame({ ...base, sender_id: sender, target_id: targets[0], path: [core.serverId], error: `The answer could not cross the cluster link: ${reason}` }), targets[0]);
  }
}
