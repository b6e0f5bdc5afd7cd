import { expect } from 'chai';
import { waitFor } from '../fixtures/helpers';
import { HubFixture } from './hub-fixture';

describe('Hub state tables', () => {
  const fx = new HubFixture();
  afterEach(() => fx.stop());

  it('return to empty when every client that filled them has gone', async function () {
    this.timeout(20000);
    await fx.start({ channelPolicy: 'promote' });
    const clients = [];
    for (let i = 0; i < 50; i++) {
      const c = await fx.client(`c${i}`);
      clients.push(c);
      await c.open(`room${i % 7}`);
      await c.provide(`room${i % 7}`, `ev${i}`);
      await c.request({ type: 'add_subscription', channel: `room${i % 7}`, sub_name: `t${i}`, request_id: 'a' });
      await c.request({ type: 'subscribe', channel: `room${(i + 1) % 7}`, sub_name: `t${i + 1}`, request_id: 's' });
      await c.request({ type: 'subscribe', channel: 'nowhere', sub_name: `never-declared-${i}`, request_id: 's2' });
      c.send({ type: 'call', channel: `room${i % 7}`, event: `ev${i}`, request_id: 'pending' }); // its own event, never answered
    }
    await waitFor(() => fx.hub.stats().pendingCalls === 50, 'all calls in flight');
    const full = fx.hub.stats();
    expect(full.channels).to.be.greaterThan(0);
    expect(full.topics).to.be.greaterThan(50);
    expect(full.events).to.equal(50);
    for (const c of clients) c.close();
    await waitFor(() => fx.hub.stats().clients === 0, 'every client gone');
    expect(fx.hub.stats()).to.deep.include({ channels: 0, events: 0, topics: 0, pendingCalls: 0, clients: 0 });
  });
});
