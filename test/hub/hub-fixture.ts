/** A hub on a fresh private socket path, and the raw clients a test made, all cleaned up. */
import * as path from 'node:path';
import { Hub, type HubOptions } from '../../lib/hub/server/hub';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';
import { RawClient } from './raw-client';

export class HubFixture {
  hub!: Hub;
  dir = '';
  socketPath = '';
  readonly clients: RawClient[] = [];

  async start(options: HubOptions = {}): Promise<Hub> {
    this.dir = makeTempDir('hub');
    this.socketPath = path.join(this.dir, 'hub.sock');
    this.hub = new Hub({ serverId: 'S1', ...options });
    this.hub.on('clientError', () => undefined);
    await this.hub.listen({ path: this.socketPath });
    return this.hub;
  }

  async client(id: string, mode?: string): Promise<RawClient> {
    const c = await RawClient.identified({ path: this.socketPath }, id, mode);
    this.clients.push(c);
    return c;
  }

  async raw(): Promise<RawClient> {
    const c = await RawClient.connect({ path: this.socketPath });
    this.clients.push(c);
    return c;
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    this.clients.length = 0;
    await this.hub?.stop();
    removeTempDir(this.dir);
  }
}
