/**
 * What a hub holds, as plain JSON for the dashboard, `top` and `/api/stats`:
 * channels with members, owner and whether a password is set (never the
 * password), events with their schemas and providers (with their load: calls
 * in flight), topics with their subscriber counts, peers, plugins. Each list
 * is cut at `limit` entries (`truncated` says so).
 */
import type { HubCore } from '../hub/server/core';

export interface TopologyMember {
  id: string;
  mode: string;
  /** unix, tcp, tls, in_process or federation. */
  transport: string;
}

export interface TopologyChannel {
  name: string;
  owner: string | null;
  members: TopologyMember[];
  openers: number;
  passwordSet: boolean;
}

export interface TopologyEvent {
  channel: string;
  event: string;
  isGroup: boolean;
  isStream: boolean;
  paramSchema: unknown;
  returnSchema: unknown;
  /** Providers in registration order, with their calls in flight. */
  providers: Array<{ id: string; active: number }>;
}

export interface TopologyTopic {
  channel: string;
  name: string;
  owner: string | null;
  subscribers: number;
  schema: unknown;
}

export interface TopologyPlugin {
  command: string;
  channel: string;
  event: string | null;
  ids: string[];
  /** Pid per instance (null while down). */
  pids: Array<number | null>;
  restarts: number;
}

export interface HubTopology {
  channels: TopologyChannel[];
  events: TopologyEvent[];
  topics: TopologyTopic[];
  /** Other hubs of the NATS cluster. */
  peers: string[];
  plugins: TopologyPlugin[];
  /** The connections with the most unread outgoing bytes (at most 20), largest first. */
  queues: Array<{ id: string; transport: string; queuedBytes: number }>;
  /** A list was cut at the limit. */
  truncated: boolean;
}

/** Turns decoded values (Maps, bigints, Buffers) into JSON-safe values. */
export function jsonSafe(value: unknown, depth = 0): unknown {
  if (depth > 64) return null;
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[String(k)] = jsonSafe(v, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => jsonSafe(v, depth + 1));
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v, depth + 1);
    return out;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

export function buildTopology(
  core: HubCore,
  transportOf: (id: string) => string,
  plugins: TopologyPlugin[],
  queues: HubTopology['queues'],
  limit: number,
): HubTopology {
  let truncated = false;
  const take = <T>(it: Iterable<T>, map: (x: T) => unknown, out: unknown[]): void => {
    for (const x of it) {
      if (out.length >= limit) {
        truncated = true;
        return;
      }
      out.push(map(x));
    }
  };
  const channels: TopologyChannel[] = [];
  take(
    core.channels.all(),
    (ch) => ({
      name: ch.name,
      owner: ch.members[0] ?? null,
      members: ch.members.slice(0, limit).map((id) => ({ id, mode: core.clients.get(id)?.mode ?? 'client', transport: transportOf(id) })),
      openers: ch.openers.size,
      passwordSet: (ch.password ?? core.channels.passwordOf(ch.name)) !== undefined,
    }),
    channels,
  );
  const events: TopologyEvent[] = [];
  take(
    core.providers.all(),
    (e) => ({
      channel: e.channel,
      event: e.event,
      isGroup: e.isGroup,
      isStream: e.isStream,
      paramSchema: jsonSafe(e.paramSchema),
      returnSchema: jsonSafe(e.returnSchema),
      providers: e.providers.map((id) => ({ id, active: core.requests.activeOf(id) })),
    }),
    events,
  );
  const topics: TopologyTopic[] = [];
  take(
    core.topics.all(),
    (t) => ({ channel: t.channel, name: t.name, owner: t.owner ?? null, subscribers: t.subscribers.size, schema: jsonSafe(t.schema) }),
    topics,
  );
  return { channels, events, topics, peers: [...core.peerHubs].slice(0, limit), plugins, queues, truncated };
}
