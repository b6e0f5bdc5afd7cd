/**
 * HubBridge: links two hubs the way comm-ipc's bridge does (its section 8.4),
 * so it interoperates with comm-ipc hubs: two ordinary clients in
 * `mode: "bridge"` (`<bridgeId>-c1` on hub 1, `<bridgeId>-c2` on hub 2), and
 * for each allowed channel:
 *
 *   hub 1                    HubBridge                       hub 2
 *   members ── list_members ──► announce_remote ───────────► remote members
 *   provider ◄── call/stream ── proxy provider (same name) ◄── callers
 *   broadcast ─────────────────► relayed broadcast (path) ──► openers
 *   (and the same from hub 2 to hub 1)
 *
 * Joins, leaves and new events seen in `metadata_update`s keep both sides in
 * step. Pub/sub is not bridged (comm-ipc's bridge does not either). Use NATS
 * federation (`new Hub({ nats })`) to join our own hubs: one channel space,
 * balancing and failure handling cluster-wide; use a bridge to join a hub you
 * do not run, such as a Python comm-ipc hub.
 */
import { EventEmitter } from 'node:events';
import { asError, pipeIOError, type PipeIOError } from '../../errors';
import { HubClient } from '../client';
import type { HubClientAddress, HubClientOptions } from '../client';
import type { HubChannel } from '../client';
import type { HubMessage } from '../protocol/messages';

export interface HubBridgeOptions {
  /** Prefix of the bridge's two client ids; members whose id starts with it are never proxied. @default 'bridge-net' */
  bridgeId?: string;
  /** Channels to link, in order. comm-ipc links nothing when the list is empty; so do we. */
  allowedChannels: string[];
  /** Options of each side's HubClient (secret, tls via the address, reconnect...). */
  client1?: Omit<HubClientOptions, 'clientId' | 'mode'>;
  client2?: Omit<HubClientOptions, 'clientId' | 'mode'>;
}

export interface HubBridgeEvents {
  /** A proxy, an announcement or a relay failed; the bridge goes on. */
  error: [err: PipeIOError];
}

interface Side {
  readonly name: 'c1' | 'c2';
  readonly client: HubClient;
  readonly channels: Map<string, HubChannel>;
  /** Members of the other side already announced to this side, per channel. */
  readonly announced: Set<string>;
  /** Events already proxied onto this side, per channel. */
  readonly proxied: Set<string>;
  other?: Side;
}

export class HubBridge extends EventEmitter<HubBridgeEvents> {
  readonly bridgeId: string;
  private readonly allowed: string[];
  private readonly a: Side;
  private readonly b: Side;
  private started: Promise<void> | undefined;

  constructor(hub1: HubClientAddress, hub2: HubClientAddress, options: HubBridgeOptions) {
    super();
    if (!Array.isArray(options?.allowedChannels) || !options.allowedChannels.every((c) => typeof c === 'string' && c !== '')) {
      throw new TypeError('options.allowedChannels must be an array of channel names');
    }
    this.bridgeId = options.bridgeId ?? 'bridge-net';
    this.allowed = [...options.allowedChannels];
    const side = (name: 'c1' | 'c2', address: HubClientAddress, extra: HubBridgeOptions['client1']): Side => ({
      name,
      client: new HubClient(address, { ...extra, clientId: `${this.bridgeId}-${name}`, mode: 'bridge' }),
      channels: new Map(),
      announced: new Set(),
      proxied: new Set(),
    });
    this.a = side('c1', hub1, options.client1);
    this.b = side('c2', hub2, options.client2);
    this.a.other = this.b;
    this.b.other = this.a;
  }

  /** Connects both sides and links every allowed channel. */
  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private async doStart(): Promise<void> {
    for (const s of [this.a, this.b]) {
      s.client.on('metadata', (msg) => void this.onMetadata(s, msg).catch((e) => this.fail(e)));
      s.client.on('error', (e) => this.fail(e));
    }
    await Promise.all([this.a.client.connect(), this.b.client.connect()]);
    for (const channel of this.allowed) {
      for (const s of [this.a, this.b]) {
        const ch = await s.client.open(channel);
        s.channels.set(channel, ch);
        ch.onReceive((msg) => void this.relay(s, channel, msg).catch((e) => this.fail(e)));
      }
      await Promise.all([this.syncMembers(this.a, channel), this.syncMembers(this.b, channel)]);
      await Promise.all([this.syncEvents(this.a, channel), this.syncEvents(this.b, channel)]);
    }
  }

  /** Closes both sides. */
  async stop(): Promise<void> {
    await Promise.all([this.a.client.close(), this.b.client.close()]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private ours(id: unknown): boolean {
    return typeof id === 'string' && id.startsWith(this.bridgeId);
  }

  private fail(err: unknown): void {
    const e = asError(err);
    const coded = (e as PipeIOError).code ? (e as PipeIOError) : pipeIOError('PIPEIO_ERR_CONNECTION', e.message, { cause: e });
    if (this.listenerCount('error') > 0) this.emit('error', coded);
  }

  /** Announces `from`'s members of `channel` to the other hub. */
  private async syncMembers(from: Side, channel: string): Promise<void> {
    const members = await from.channels.get(channel)!.listMembers();
    const serverId = from.client.serverId ?? '';
    const clients = members
      .filter((m) => !this.ours(m.id) && !from.other!.announced.has(`${channel}\u0000${m.id}`))
      .map((m) => {
        from.other!.announced.add(`${channel}\u0000${m.id}`);
        return { id: m.id, mode: m.mode, path: [...(m.path ?? []), serverId] };
      });
    if (clients.length > 0) await from.other!.client.sendFrame({ type: 'announce_remote', channel, clients });
  }

  /** Proxies onto the other hub every event `from` knows a foreign provider of. */
  private async syncEvents(from: Side, channel: string): Promise<void> {
    const explored = await from.channels.get(channel)!.explore();
    for (const [event, info] of Object.entries(explored.events)) {
      if (this.ours(info.owner) || info.owner === from.client.clientId) continue;
      await this.proxy(from, channel, event, info.is_stream, false);
    }
  }

  /** Registers on the other side a provider of `event` that calls `event` on `from`. */
  private async proxy(from: Side, channel: string, event: string, isStream: boolean, isGroup: boolean): Promise<void> {
    const to = from.other!;
    const key = `${channel}\u0000${event}`;
    if (to.proxied.has(key)) return;
    to.proxied.add(key);
    const source = from.channels.get(channel)!;
    const target = to.channels.get(channel) ?? (await to.client.open(channel));
    const handler = isStream
      ? async function* (msg: HubMessage): AsyncGenerator<unknown> {
          for await (const chunk of source.stream(event, msg.data)) yield chunk.data;
        }
      : async (msg: HubMessage): Promise<unknown> => (await source.call(event, msg.data)).data;
    if (isGroup) await target.group().addEvent(event, handler, { stream: isStream });
    else await target.addEvent(event, handler, { stream: isStream });
  }

  private async onMetadata(from: Side, msg: HubMessage): Promise<void> {
    const channel = msg.channel;
    if (typeof channel !== 'string' || !this.allowed.includes(channel) || !from.channels.has(channel)) return;
    const owner = msg['owner'];
    if (this.ours(owner) || typeof owner !== 'string') return;
    const to = from.other!;
    const key = `${channel}\u0000${owner}`;
    if (msg['stype'] === 'membership') {
      if (msg['action'] === 'join' && !to.announced.has(key)) {
        to.announced.add(key);
        const path = [...(Array.isArray(msg.path) ? msg.path : []), from.client.serverId ?? ''];
        await to.client.sendFrame({ type: 'announce_remote', channel, clients: [{ id: owner, mode: msg.mode ?? 'client', path }] });
      } else if (msg['action'] === 'leave' && to.announced.delete(key)) {
        await to.client.sendFrame({ type: 'forget_remote', id: owner, channel });
      }
    } else if (msg['stype'] === 'event' && typeof msg['name'] === 'string') {
      await this.proxy(from, channel, msg['name'], msg['is_stream'] === true, msg['is_group'] === true);
    }
  }

  /** Relays a broadcast seen on `from` to the other hub, as comm-ipc's bridge does (never a request). */
  private async relay(from: Side, channel: string, msg: HubMessage): Promise<void> {
    if (msg.type !== 'broadcast' || (msg.request_id !== undefined && msg.request_id !== null)) return;
    const to = from.other!;
    const path = Array.isArray(msg.path) ? msg.path : [];
    if (this.ours(msg.sender_id) || (to.client.serverId !== undefined && path.includes(to.client.serverId))) return;
    const frame: Record<string, unknown> = { ...msg, type: 'broadcast', channel, path: [...path, from.client.serverId ?? ''] };
    if (!frame['origin_server_id']) frame['origin_server_id'] = from.client.serverId;
    delete frame['signature']; // the destination hub restamps sender_id: a signature could not verify
    await to.client.sendFrame(frame);
  }
}
