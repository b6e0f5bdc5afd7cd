/**
 * A hub on a private socket, a Node provider with the events the gateway
 * tests call, and a gateway listening on loopback port 0; all cleaned up.
 */
import * as path from 'node:path';
import { Hub, type HubOptions } from '../../lib/hub/server/hub';
import { HubClient } from '../../lib/hub/client/hub-client';
import type { HubChannel } from '../../lib/hub/client/channel';
import { HubGateway } from '../../lib/gateway/gateway';
import type { GatewaySource } from '../../lib/gateway/hub-side';
import type { GatewayOptions } from '../../lib/gateway/options';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';

export const ADD_SCHEMA = {
  title: 'AddParams',
  type: 'object',
  properties: { a: { title: 'A', type: 'integer' }, b: { title: 'B', type: 'integer' } },
  required: ['a', 'b'],
};

/** What the Node provider saw, for assertions. */
export interface ProviderLog {
  streamsEnded: number;
  cancelled: number;
  started: number;
}

/**
 * How the fixture's gateways reach the hub: over its Unix socket (a gateway
 * of its own), or given the Hub (the in-process link, as `hub --http` runs it).
 */
export type FixtureSource = 'address' | 'hub';

/** Both, for suites that must hold over either link. */
export const SOURCES: readonly FixtureSource[] = ['address', 'hub'];

export class GatewayFixture {
  hub!: Hub;
  dir = '';
  socketPath = '';
  provider!: HubClient;
  math!: HubChannel;
  gateway!: HubGateway;
  base = '';
  readonly log: ProviderLog = { streamsEnded: 0, cancelled: 0, started: 0 };
  private readonly extra: Array<{ close(): Promise<void> }> = [];

  constructor(readonly source: FixtureSource = 'address') {}

  /** What a gateway of this fixture is given to reach the hub. */
  gatewaySource(): GatewaySource {
    return this.source === 'hub' ? { hub: this.hub } : { address: { path: this.socketPath } };
  }

  async start(options: GatewayOptions = {}, withProvider = true, hubOptions: HubOptions = {}): Promise<this> {
    this.dir = makeTempDir('gw');
    this.socketPath = path.join(this.dir, 'hub.sock');
    this.hub = new Hub({ serverId: 'S1', ...hubOptions });
    this.hub.on('clientError', () => undefined);
    await this.hub.listen({ path: this.socketPath });
    if (withProvider) await this.startProvider();
    this.gateway = new HubGateway(this.gatewaySource(), { channels: ['math'], keepAlive: 0, ...options });
    const { port } = await this.gateway.listen();
    this.base = `http://127.0.0.1:${port}`;
    return this;
  }

  async startProvider(): Promise<void> {
    const log = this.log;
    this.provider = new HubClient({ path: this.socketPath }, { clientId: 'node-provider' });
    await this.provider.connect();
    this.math = await this.provider.open('math');
    await this.math.addEvent('add', (msg) => {
      const d = msg.data as { a: number; b: number };
      return d.a + d.b;
    }, { parameters: ADD_SCHEMA, returns: { type: 'integer' } });
    await this.math.addEvent('echo', (msg) => msg.data);
    await this.math.addEvent('fail', () => {
      throw new Error('intentional fail');
    });
    await this.math.addEvent('slow', (msg, ctx) => new Promise((resolve) => {
      const t = setTimeout(() => resolve('late'), Number((msg.data as { ms?: number } | null)?.ms ?? 2000));
      ctx.signal.addEventListener('abort', () => clearTimeout(t));
    }));
    await this.math.addEvent('count', async function* (msg) {
      const n = Number((msg.data as { n?: number } | null)?.n ?? 3);
      for (let i = 0; i < n; i++) yield i;
    });
    await this.math.addEvent('boom', async function* () {
      yield 'first';
      throw new Error('oops');
    });
    await this.math.addEvent('forever', async function* (_msg, ctx) {
      log.started++;
      ctx.signal.addEventListener('abort', () => log.cancelled++);
      try {
        for (let i = 0; ; i++) {
          yield i;
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        log.streamsEnded++;
      }
    });
  }

  /** Something else to close at stop(). */
  track<T extends { close(): Promise<void> }>(thing: T): T {
    this.extra.push(thing);
    return thing;
  }

  async stop(): Promise<void> {
    for (const t of this.extra.splice(0)) await t.close().catch(() => undefined);
    await this.gateway?.close();
    await this.provider?.close();
    await this.hub?.stop();
    removeTempDir(this.dir);
  }
}

/** Reads an SSE response to its end (or `max` events); returns the parsed events. */
export async function readSse(res: Response, max = Infinity): Promise<Array<{ event: string; data: unknown; id?: string }>> {
  const out: Array<{ event: string; data: unknown; id?: string }> = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        let event = 'message';
        let data = '';
        let id: string | undefined;
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
          else if (line.startsWith('id: ')) id = line.slice(4);
        }
        if (data === '' && event === 'message') continue; // a comment (keep-alive)
        out.push({ event, data: JSON.parse(data), ...(id === undefined ? {} : { id }) });
        if (out.length >= max) return out;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return out;
}

/** POSTs JSON text (or nothing) with the JSON media type. */
export function postJson(url: string, body?: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body }), ...(signal ? { signal } : {}) });
}
