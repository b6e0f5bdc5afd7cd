/**
 * Test fixture for HubClient tests: a real Hub on a fresh Unix socket in a
 * temp dir, clients tracked and closed in stop(), and deadline helpers (no
 * fixed sleeps).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EventEmitter } from 'node:events';
import { PipeIOError } from '../../lib/errors';
import { HubClient } from '../../lib/hub/client/hub-client';
import type { HubClientAddress, HubClientOptions } from '../../lib/hub/client/types';
import { Hub, type HubOptions } from '../../lib/hub/server/hub';

export class ClientFixture {
  readonly clients: HubClient[] = [];
  hub: Hub;
  readonly hubs: Hub[] = [];

  private constructor(
    readonly dir: string,
    readonly socketPath: string,
    hub: Hub,
  ) {
    this.hub = hub;
    this.hubs.push(hub);
  }

  static async start(hubOptions: HubOptions = {}): Promise<ClientFixture> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-'));
    const socketPath = path.join(dir, 'h.sock');
    const hub = new Hub({ serverId: 'hub-1', ...hubOptions });
    hub.on('clientError', () => undefined);
    await hub.listen({ path: socketPath });
    return new ClientFixture(dir, socketPath, hub);
  }

  get address(): HubClientAddress {
    return { path: this.socketPath };
  }

  /** A tracked client, not connected. */
  newClient(options: HubClientOptions = {}, address: HubClientAddress = this.address): HubClient {
    const c = new HubClient(address, options);
    this.clients.push(c);
    return c;
  }

  /** A tracked, connected client. */
  async client(options: HubClientOptions = {}, address: HubClientAddress = this.address): Promise<HubClient> {
    const c = this.newClient(options, address);
    await c.connect();
    return c;
  }

  /** Stops the hub and starts a new one on the same socket path (a "hub restart"). */
  async restartHub(hubOptions: HubOptions = {}): Promise<void> {
    await this.hub.stop();
    const hub = new Hub({ serverId: 'hub-2', ...hubOptions });
    hub.on('clientError', () => undefined);
    await hub.listen({ path: this.socketPath });
    this.hub = hub;
    this.hubs.push(hub);
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    await Promise.all(this.hubs.map((h) => h.stop()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `predicate` every 5 ms until true, or fails after `timeout` ms with `what`. */
export async function waitFor(predicate: () => boolean, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The next `event` of `emitter`, or a failure after `timeout` ms. Unlike
 * events.once, an 'error' emitted meanwhile does not reject it.
 */
export function nextEvent<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, timeout = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const listener = (...args: unknown[]): void => {
      clearTimeout(timer);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      emitter.removeListener(event, listener);
      reject(new Error(`timed out after ${timeout} ms waiting for '${event}'`));
    }, timeout);
    emitter.once(event, listener);
  });
}

/** Awaits a promise that must reject with a PipeIOError of `code`; returns the error. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<PipeIOError> {
  let settled: unknown;
  try {
    settled = await promise;
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(PipeIOError);
    expect((err as PipeIOError).code, (err as Error).message).to.equal(code);
    return err as PipeIOError;
  }
  throw new Error(`expected a rejection with ${code}, got ${JSON.stringify(settled)}`);
}

/** Collects every chunk's data of a stream (fails on error). */
export async function collect(stream: AsyncIterable<{ data?: unknown }>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const chunk of stream) out.push(chunk.data);
  return out;
}

/** A promise plus its resolver, for handlers that must wait in tests. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
