/**
 * HubClient (lib/hub/client) against federated hubs: a password set through
 * hub A, a provider on hub B, a caller on hub A; calls and broadcasts are
 * signed end to end and verify across the NATS hop (the hubs forward the
 * sender's bytes and only append to `path`, which signatures do not cover).
 */
import { expect } from 'chai';
import { HubClient } from '../../lib/hub/client';
import type { HubMessage } from '../../lib/hub/protocol/messages';
import { waitFor } from '../fixtures/helpers';
import { ClusterFixture, waitMember } from './cluster-fixture';
import { needsTools } from '../fixtures/tools';

describe('HubClient across federated hubs', function () {
  this.timeout(60_000);
  before(needsTools('nats-server'));
  const fx = new ClusterFixture();
  const clients: HubClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await fx.stop();
  });

  async function client(hub: string, clientId: string): Promise<HubClient> {
    const c = new HubClient({ path: fx.hubs.get(hub)!.socket }, { clientId, autoReconnect: false });
    c.on('error', () => undefined);
    clients.push(c);
    await c.connect();
    return c;
  }

  it('signs calls and broadcasts on a password channel; they verify on the other hub', async () => {
    await fx.nats.start();
    await Promise.all([fx.startHub('A'), fx.startHub('B')]);
    await fx.waitMesh(['A', 'B']);
    const owner = await client('A', 'owner');
    await owner.open('vault');
    await owner.setPassword('vault', 'pw');
    const raw = await fx.client('B', 'watch');
    await waitMember(raw, 'vault', 'owner');
    const provider = await client('B', 'prov');
    // B learns the password from A's state: retry until B challenges the registration.
    const p = (await waitFor(() => provider.open('vault', { password: 'pw' }).catch(() => undefined), 'B to protect vault'))!;
    const seen: HubMessage[] = [];
    await p.addEvent('add', async (msg) => {
      seen.push(msg);
      return (msg.data as number[]).reduce((x, y) => x + y, 0);
    });
    p.onReceive('note', (msg) => void seen.push(msg));
    const caller = await client('A', 'cal');
    const c = await caller.open('vault', { password: 'pw' });
    await waitMember(raw, 'vault', 'cal');
    await waitFor(() => c.call('add', [1, 2.5, 3]).then((r) => r.data === 6.5, () => false), 'the provider to be callable from A');
    await c.broadcast('note', { s: 'ünïcode' });
    await waitFor(() => seen.some((m) => m.event === 'note'), 'the broadcast on B');
    for (const m of seen) {
      expect(m.signature).to.match(/^[0-9a-f]{64}$/);
      expect(m.sender_id).to.equal('cal');
      expect(m.path).to.deep.equal(['A', 'B']);
    }
    expect(seen.find((m) => m.event === 'note')!.data).to.deep.equal({ s: 'ünïcode' });
  });
});
