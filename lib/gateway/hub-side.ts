/**
 * The gateway's side of the hub: one HubClient shared by every request
 * (given by the user, or made from an address, or linked to our `Hub` in
 * this process without a socket: ./in-process-link.ts), the channels it
 * opened (on demand, bounded, or a fixed list), the topics it owns (it may
 * publish to those), and the catalog fed by explore() and `metadata_update`.
 *
 * Downloads get a client of their own when the gateway made its client
 * itself (see {@link GatewayHub.dedicated}): a stream that must wait for a
 * slow web reader then pauses only its own link, never the shared one.
 */
import { randomBytes } from 'node:crypto';
import type { HubChannel } from '../hub/client/channel';
import { HubClient } from '../hub/client/hub-client';
import { socketOpener, type LinkOpener } from '../hub/client/transport';
import type { HubClientAddress, HubClientOptions } from '../hub/client/types';
import type { HubMessage } from '../hub/protocol/messages';
import type { Hub } from '../hub/server/hub';
import { Catalog } from './catalog';
import { httpError } from './http-errors';
import { inProcessOpener } from './in-process-link';

/** Where the gateway finds the hub: a connected (or connectable) client, an address, or our Hub in this process (linked directly, no socket). */
export type GatewaySource = { client: HubClient } | { address: HubClientAddress } | { hub: Hub };

export interface HubSideOptions {
  /** Options of the clients the gateway makes (not of a client it is given). */
  clientOptions: HubClientOptions;
  /** Serve only these channels (opened at start); undefined: any channel, opened on first use. */
  channels: readonly string[] | undefined;
  /** Channel passwords. */
  passwords: Readonly<Record<string, string>>;
  /** Topics this gateway declares (and so may publish to), by channel. */
  topics: Readonly<Record<string, readonly string[]>>;
  /** Channels opened on demand at most. */
  maxChannels: number;
}

export class GatewayHub {
  readonly catalog = new Catalog();
  readonly client: HubClient;
  private readonly ownsClient: boolean;
  /** How the gateway's own clients reach the hub (undefined: it was given a client). */
  private readonly reach: LinkOpener | undefined;
  private readonly opened = new Map<string, Promise<HubChannel>>();
  /** The channels whose opening completed (what a request needs without waiting a turn). */
  private readonly ready = new Map<string, HubChannel>();
  private readonly allowed: ReadonlySet<string> | undefined;
  private readonly onMetadata = (msg: HubMessage): void => this.catalog.apply(msg);
  private readonly onReconnect = (): void => void this.reseed();

  constructor(
    source: GatewaySource,
    private readonly options: HubSideOptions,
  ) {
    if ('client' in source) {
      this.client = source.client;
      this.ownsClient = false;
      this.reach = undefined;
    } else {
      // Every web request's call gathered per turn of the event loop: one write for all of them.
      this.reach = 'hub' in source ? inProcessOpener(source.hub) : socketOpener(source.address, 'turn');
      this.client = new HubClient(this.reach, { clientId: `gw-${randomBytes(4).toString('hex')}`, ...options.clientOptions });
      this.ownsClient = true;
    }
    this.allowed = options.channels ? new Set(options.channels) : undefined;
    this.client.on('metadata', this.onMetadata);
    this.client.on('reconnect', this.onReconnect);
  }

  /** Connects (if needed), opens the listed channels and declares the owned topics. */
  async start(): Promise<void> {
    if (this.client.state === 'idle') await this.client.connect();
    const names = new Set([...(this.options.channels ?? []), ...Object.keys(this.options.topics)]);
    for (const name of names) await this.channel(name, true);
  }

  /**
   * The opened channel `name` (opened now if needed). 404 for a channel this
   * gateway does not serve, 503 past maxChannels, the hub's error otherwise.
   */
  channel(name: string, internal = false): Promise<HubChannel> {
    const known = this.opened.get(name);
    if (known) return known;
    if (!internal && this.allowed && !this.allowed.has(name)) {
      return Promise.reject(httpError(404, 'PIPEIO_ERR_NO_PROVIDER', `channel ${name} is not served by this gateway`));
    }
    if (this.opened.size >= this.options.maxChannels) {
      return Promise.reject(httpError(503, 'PIPEIO_ERR_LIMIT', `this gateway already serves ${this.options.maxChannels} channels`));
    }
    const password = this.options.passwords[name];
    const opening = (async () => {
      const ch = await this.client.open(name, password === undefined ? {} : { password });
      for (const topic of this.options.topics[name] ?? []) await ch.addSubscription(topic);
      this.catalog.seed(name, await ch.explore());
      return ch;
    })();
    this.opened.set(name, opening);
    opening.then(
      (ch) => {
        if (this.opened.get(name) === opening) this.ready.set(name, ch);
      },
      () => {
        if (this.opened.get(name) === opening) this.opened.delete(name);
      },
    );
    return opening;
  }

  /** The channel `name` if its opening completed, else undefined (then use {@link channel}). */
  openedChannel(name: string): HubChannel | undefined {
    return this.ready.get(name);
  }

  /** The password the gateway opens `channel` with, if any. */
  passwordOf(channel: string): string | undefined {
    return this.options.passwords[channel];
  }

  /** True if this gateway declared `topic` on `channel` (it may publish there). */
  ownsTopic(channel: string, topic: string): boolean {
    return this.options.topics[channel]?.includes(topic) ?? false;
  }

  /**
   * A client of its own for one long transfer (closed by the caller), or
   * undefined when the gateway was given a client (it knows no address).
   */
  async dedicated(highWaterMark: number): Promise<HubClient | undefined> {
    if (!this.reach) return undefined;
    const c = new HubClient(this.reach, {
      ...this.options.clientOptions,
      clientId: `gwx-${randomBytes(6).toString('hex')}`,
      autoReconnect: false,
      streamHighWaterMark: highWaterMark,
    });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  private async reseed(): Promise<void> {
    for (const [name, opening] of this.opened) {
      const ch = await opening.catch(() => undefined);
      if (ch) this.catalog.seed(name, await ch.explore());
    }
  }

  async close(): Promise<void> {
    this.client.removeListener('metadata', this.onMetadata);
    this.client.removeListener('reconnect', this.onReconnect);
    if (this.ownsClient) await this.client.close();
  }
}
