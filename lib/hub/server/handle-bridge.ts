/**
 * Membership and comm-ipc bridges: `list_members`, `announce_remote`,
 * `forget_remote` (3.1.13-3.1.15, 8.3), with the path rules comm-ipc's bridge
 * depends on: ignore entries whose path holds our id, keep only strictly
 * shorter routes, honour `forget_remote` only from the route's bridge.
 */
import type { HubFrame } from '../protocol/codec';
import type { HubCore } from './core';
import type { Endpoint } from './endpoint';
import { fieldError, optString, reqString, requestIdOf } from './fields';
import { MAX_ROUTES_PER_BRIDGE, type RemoteRoute } from './remote-routes';
import { RESERVED_CLIENT_IDS } from '../protocol/messages';

/** Hub ids an announced member's path may hold. */
const MAX_ANNOUNCED_PATH = 64;

export function handleListMembers(core: HubCore, from: Endpoint, frame: HubFrame): void {
  const rid = requestIdOf(frame.fields);
  const channel = reqString(frame.fields, 'channel');
  const members: object[] = [];
  const ch = core.channels.get(channel);
  for (const id of ch?.members ?? []) {
    const ep = core.clients.get(id);
    members.push({ id, mode: ep?.mode ?? 'client', is_local: ep?.local ?? true, path: [] });
  }
  for (const id of core.remotes.membersOf(channel) ?? []) {
    const route = core.remotes.routes.get(id);
    members.push({ id, mode: route?.mode ?? 'client', is_local: false, bridge_id: route?.bridge ?? null, path: route?.path ?? [] });
  }
  core.sendTo(from.id, { type: 'response', request_id: rid ?? null, data: { members } });
}

/**
 * What a bridge may announce (docs/hub.md, "What a client may claim"): ids
 * of members on other hubs, not reserved ones, not a local member's, not one
 * another bridge holds by a path at least as short; a path of at most
 * MAX_ANNOUNCED_PATH hub ids without this hub; at most MAX_ROUTES_PER_BRIDGE
 * routes. Entries outside that are skipped; past the route cap the bridge
 * gets a PIPEIO_ERR_LIMIT error.
 */
export function handleAnnounceRemote(core: HubCore, from: Endpoint, frame: HubFrame): void {
  if (from.mode !== 'bridge') return;
  const channel = optString(frame.fields, 'channel');
  const clients = frame.fields.get('clients');
  if (!Array.isArray(clients)) throw fieldError('"clients" must be a list');
  let overLimit = false;
  for (const item of clients) {
    let id: string;
    let mode = 'client';
    let path: string[] = [];
    if (typeof item === 'string') id = item;
    else if (item instanceof Map && typeof item.get('id') === 'string') {
      id = item.get('id') as string;
      if (typeof item.get('mode') === 'string') mode = item.get('mode') as string;
      const p = item.get('path');
      if (Array.isArray(p) && p.every((x) => typeof x === 'string')) path = p as string[];
    } else continue;
    if (RESERVED_CLIENT_IDS.has(id) || path.length > MAX_ANNOUNCED_PATH) continue;
    if (path.includes(core.serverId)) continue;
    if (core.clients.has(id)) continue; // a local member is never shadowed by a remote route
    const existing = core.remotes.routes.get(id);
    if (existing && existing.path.length > 0 && path.length >= existing.path.length) continue;
    if (existing?.bridge !== from.id && core.remotes.routeCount(from.id) >= MAX_ROUTES_PER_BRIDGE) {
      overLimit = true;
      continue;
    }
    core.remotes.setRoute(id, { bridge: from.id, path, mode });
    if (channel !== undefined) joinRemote(core, channel, id, mode, path);
  }
  if (overLimit) core.replyError(from, undefined, `Too many remote members announced by bridge ${from.id} (limit ${MAX_ROUTES_PER_BRIDGE})`, 'PIPEIO_ERR_LIMIT');
}

function joinRemote(core: HubCore, channel: string, id: string, mode: string, path: string[]): void {
  core.remotes.addMember(channel, id);
  core.notifyOpeners(core.channels.get(channel), {
    type: 'metadata_update',
    stype: 'membership',
    action: 'join',
    owner: id,
    mode,
    channel,
    is_local: false,
    path,
  });
}

/** Puts back a parked route, unless a local member or a shorter route took the id meanwhile. */
export function restoreRoute(core: HubCore, id: string, route: RemoteRoute, channels: string[]): void {
  if (core.clients.has(id)) return;
  const existing = core.remotes.routes.get(id);
  if (existing && existing.path.length <= route.path.length) return;
  core.remotes.setRoute(id, route);
  for (const channel of channels) joinRemote(core, channel, id, route.mode, route.path);
}

export function handleForgetRemote(core: HubCore, from: Endpoint, frame: HubFrame): void {
  if (from.mode !== 'bridge') return;
  const id = optString(frame.fields, 'id');
  if (!id) return;
  const route = core.remotes.routes.get(id);
  if (route && route.bridge !== from.id) return;
  core.remotes.deleteRoute(id);
  forgetMember(core, id, optString(frame.fields, 'channel'));
}

/** Removes a remote member from one channel (or all) and tells the openers. */
export function forgetMember(core: HubCore, id: string, channel?: string): void {
  for (const name of core.remotes.removeMember(id, channel)) {
    core.notifyOpeners(core.channels.get(name), {
      type: 'metadata_update',
      stype: 'membership',
      action: 'leave',
      owner: id,
      channel: name,
      is_local: false,
    });
  }
}
