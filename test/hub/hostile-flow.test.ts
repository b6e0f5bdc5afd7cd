/**
 * Issue 21 items 4 and 6, "Prove it": a hostile raw client beside a
 * well-behaved pair (a HubClient provider and a caller calling every 10 ms,
 * in their own process), the hub in its own process. The pair's calls must
 * all succeed within 100 ms while the hostile client does its worst, and the
 * hostile client must be cut off with PIPEIO_ERR_SLOW_CONSUMER.
 */
import { expect } from 'chai';
import { encodeFrame } from '../../lib/hub/protocol/codec';
import { FlowFixture, type FlowProc } from './flow-fixture';
import { RawClient } from './raw-client';

const MiB = 1024 * 1024;

describe('Hub under a hostile client that does not read (issue 21 items 4, 6)', function () {
  this.timeout(60000); // slow: three processes, tens of MB through the hub
  const fx = new FlowFixture();
  const raws: RawClient[] = [];
  afterEach(async () => {
    for (const r of raws.splice(0)) r.close();
    await fx.stop();
  });

  async function raw(id: string): Promise<RawClient> {
    const c = await RawClient.identified({ path: fx.socket }, id);
    raws.push(c);
    return c;
  }

  /** The pair's figures since the last report: every call answered, none slower than 100 ms. */
  async function expectPairUndisturbed(pair: FlowProc, hub: FlowProc): Promise<void> {
    pair.lines.length = 0;
    pair.send({ cmd: 'report' });
    const r = await pair.waitEvent('report');
    hub.send({ cmd: 'stats' });
    const stats = await hub.waitEvent('stats');
    expect(r['failures'], 'failed calls of the well-behaved pair').to.deep.equal([]);
    expect(r['calls'] as number).to.be.greaterThan(50);
    const why = `slowest call of the well-behaved pair, ms (the hub's longest event-loop delay: ${String(stats['loopDelayMaxMs'])} ms)`;
    expect(r['maxMs'] as number, why).to.be.lessThan(100);
  }

  it('a subscriber that stops reading a busy topic is cut off after idleTimeout; the pair is not disturbed', async () => {
    const hub = await fx.start('hub', { hub: { idleTimeout: 2000, maxQueueBytes: 8 * MiB } });
    const pair = await fx.start('pair', { client: { heartbeatInterval: 500 } });
    // 4 MB in 64 KiB messages (light on the machine's CPU, so that the pair's figures are the hub's):
    // more than the old hub's pause mark (a quarter of maxQueueBytes), less than maxQueueBytes.
    const pub = await fx.start('publisher', { clientId: 'pub', channel: 'news', topic: 'tick', n: 64, size: 64 * 1024, client: { heartbeatInterval: 500 } });
    const silent = await raw('silent');
    await silent.request({ type: 'subscribe', channel: 'news', sub_name: 'tick', request_id: 's' });
    silent.socket.pause();
    pair.send({ cmd: 'report' }); // start a fresh window
    await pair.waitEvent('report');
    pub.send({ cmd: 'go' });
    const cut = await hub.waitLine((l) => l.ev === 'clientError' && l['id'] === 'silent', 10000);
    expect(cut['code']).to.equal('PIPEIO_ERR_SLOW_CONSUMER');
    await pub.waitEvent('published', 20000);
    await expectPairUndisturbed(pair, hub);
  });

  it('a caller that never reads the replies to its calls is held alone, then cut off; the pair is not disturbed', async () => {
    const hub = await fx.start('hub', { hub: { idleTimeout: 2000, maxQueueBytes: 8 * MiB } });
    const pair = await fx.start('pair', { client: { heartbeatInterval: 500 } });
    // Its own provider (a caller flooding a provider others use delays them whether it reads or not:
    // a provider answers in arrival order, see docs/hub.md "Flow control").
    const prov = await fx.start('provider', { clientId: 'prov', channel: 'other', event: 'count', size: 16 * 1024, client: { heartbeatInterval: 500 } });
    const flood = await raw('flood');
    await flood.open('other');
    flood.socket.pause(); // reads nothing from now on
    pair.send({ cmd: 'report' });
    await pair.waitEvent('report');
    // 4 calls for streams of 64 x 16 KiB: 4 MB of replies, more than it may leave unread (and than the
    // old hub's pause mark), less than maxQueueBytes.
    const calls = Buffer.concat(
      Array.from({ length: 4 }, (_, i) => encodeFrame({ type: 'call', channel: 'other', event: 'count', request_id: `f${i}`, data: { n: 64 }, is_stream: true })),
    );
    flood.writeRaw(calls);
    const cut = await hub.waitLine((l) => l.ev === 'clientError' && l['id'] === 'flood', 10000);
    expect(cut['code']).to.equal('PIPEIO_ERR_SLOW_CONSUMER');
    expect(prov.lines.filter((l) => l.ev === 'disconnect')).to.deep.equal([]); // its provider was not cut off
    await expectPairUndisturbed(pair, hub);
  });
});
