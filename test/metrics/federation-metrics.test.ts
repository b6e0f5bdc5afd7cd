/**
 * Federation metrics with a real nats-server: link state, peers, NATS
 * messages, bytes and hub frames both ways, readiness, and a reconnect
 * counted after nats-server is restarted.
 */
import { expect } from 'chai';
import { HubClient } from '../../lib/hub/client/hub-client';
import { Hub } from '../../lib/hub/server/hub';
import { renderPrometheus } from '../../lib/metrics/prometheus';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';
import { waitFor } from '../hub/client-fixture';
import { NatsFixture } from '../hub/nats-fixture';
import { parseText, valueOf } from './prom-parse';
import * as path from 'node:path';

describe('federation metrics (real nats-server)', function () {
  this.timeout(60000);
  const nats = new NatsFixture();
  const hubs: Hub[] = [];
  const clients: HubClient[] = [];
  let dir = '';

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(hubs.map((h) => h.stop()));
    await nats.stop();
    removeTempDir(dir);
  });

  it('counts link, peers, NATS traffic and frames, and a reconnect', async () => {
    await nats.start();
    dir = makeTempDir('fed-metrics');
    for (const id of ['A', 'B']) {
      const hub = new Hub({ serverId: id, nats: { servers: nats.url }, cluster: { heartbeatInterval: 200, peerTimeout: 2000, linkDownGrace: 20000 } });
      hub.on('clientError', () => undefined);
      hub.on('cluster', () => undefined);
      await hub.listen({ path: path.join(dir, `${id}.sock`) });
      hubs.push(hub);
    }
    const [a, b] = hubs as [Hub, Hub];
    const figures = (h: Hub) => parseText(renderPrometheus(h.metrics().metrics));
    await waitFor(() => valueOf(figures(a), 'pipeio_hub_federation_peers') === 1 && valueOf(figures(b), 'pipeio_hub_federation_peers') === 1, 'the hubs to see each other', 15000);
    expect(valueOf(figures(a), 'pipeio_hub_federation_link_up')).to.equal(1);
    expect(a.health().ready).to.equal(true);
    const prov = new HubClient({ path: path.join(dir, 'B.sock') }, { clientId: 'p' });
    clients.push(prov);
    await prov.connect();
    await (await prov.open('m')).addEvent('e', (msg) => msg.data);
    const caller = new HubClient({ path: path.join(dir, 'A.sock') }, { clientId: 'c' });
    clients.push(caller);
    await caller.connect();
    const ch = await caller.open('m');
    await waitFor(() => a.stats().events === 1, 'the remote provider known on A', 15000);
    for (let i = 0; i < 5; i++) expect((await ch.call('e', i)).data).to.equal(i);
    const fa = figures(a);
    expect(valueOf(fa, 'pipeio_hub_federation_frames_total', { direction: 'sent' })).to.be.at.least(5);
    expect(valueOf(fa, 'pipeio_hub_federation_frames_total', { direction: 'received' })).to.be.at.least(5);
    expect(valueOf(fa, 'pipeio_hub_federation_messages_total', { direction: 'sent' })).to.be.greaterThan(5); // batches + control
    expect(valueOf(fa, 'pipeio_hub_federation_bytes_total', { direction: 'received' })).to.be.greaterThan(0);
    expect(valueOf(fa, 'pipeio_hub_federation_remote_members')).to.be.at.least(1);
    expect(valueOf(fa, 'pipeio_hub_clients', { transport: 'federation' })).to.be.at.least(1);
    expect(valueOf(fa, 'pipeio_hub_calls_total', { channel: 'm', event: 'e', outcome: 'ok' })).to.equal(5);
    expect(valueOf(fa, 'pipeio_hub_federation_reconnects_total')).to.equal(0);
    expect(valueOf(figures(b), 'pipeio_hub_calls_total', { channel: 'm', event: 'e', outcome: 'ok' })).to.equal(5); // counted on both hubs
    await nats.restart();
    await waitFor(() => valueOf(figures(a), 'pipeio_hub_federation_reconnects_total') === 1, 'the reconnect counted', 30000);
    await waitFor(() => a.health().ready, 'A ready again', 30000);
  });
});
