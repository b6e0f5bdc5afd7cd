/**
 * Flow control (issue 21 items 4 and 6): the hub slows producers down to
 * what their receivers take instead of cutting the receivers off, and still
 * cuts off, with a coded `error` frame first, a receiver that takes nothing.
 * The hub and the HubClients run in their own processes (test/hub/flow-fixture.ts);
 * sizes are scaled down from the issue (a 4 MiB queue instead of 64) so that the
 * same property shows in seconds.
 */
import { expect } from 'chai';
import { waitFor } from '../fixtures/helpers';
import { FlowFixture, type FlowProc } from './flow-fixture';
import { RawClient, type Frame } from './raw-client';

const MiB = 1024 * 1024;

describe('Hub flow control', function () {
  this.timeout(90000); // slow: several processes, tens of MB through the hub
  const fx = new FlowFixture();
  const raws: RawClient[] = [];
  afterEach(async () => {
    for (const r of raws.splice(0)) r.close();
    await fx.stop();
  });

  /** The hub's clientError lines so far. */
  const clientErrors = (hub: FlowProc): Array<Record<string, unknown>> => hub.lines.filter((l) => l.ev === 'clientError');

  async function raw(id: string): Promise<RawClient> {
    const c = await RawClient.identified({ path: fx.socket }, id);
    raws.push(c);
    return c;
  }

  it('slows a fast HubClient publisher to its subscriber: all 50,000 x 1 KiB arrive, in order', async () => {
    const n = 50_000;
    const hub = await fx.start('hub', { hub: { maxQueueBytes: 4 * MiB } });
    // The subscriber opens the channel first: it owns it (cutting it off would end the channel for everyone).
    const sub = await fx.start('subscriber', { clientId: 'sub', channel: 'news', topic: 'tick', n });
    const pub = await fx.start('publisher', { clientId: 'pub', channel: 'news', topic: 'tick', n, size: 1000 });
    pub.send({ cmd: 'go' });
    const done = await sub.waitLine((l) => l.ev === 'done' || l.ev === 'disconnect', 80000);
    expect(done).to.deep.include({ ev: 'done', received: n, outOfOrder: 0 });
    await pub.waitEvent('published', 10000);
    expect(sub.lines.filter((l) => l.ev === 'disconnect' || l.ev === 'error')).to.deep.equal([]);
    expect(clientErrors(hub)).to.deep.equal([]);
  });

  it('slows a HubClient stream provider to a consumer that waits 1 ms every 50 chunks: no chunk lost or reordered', async () => {
    const n = 40_000;
    const hub = await fx.start('hub', { hub: { maxQueueBytes: 4 * MiB } });
    await fx.start('provider', { clientId: 'prov', channel: 'data', event: 'count', size: 1000 });
    const cons = await fx.start('consumer', { clientId: 'cons', channel: 'data', event: 'count', n, pauseEvery: 50 });
    cons.send({ cmd: 'go' });
    const end = await cons.waitLine((l) => l.ev === 'done' || l.ev === 'failed', 80000);
    expect(end).to.deep.include({ ev: 'done', received: n, outOfOrder: 0 });
    expect(clientErrors(hub)).to.deep.equal([]);
  });

  it('cuts off a subscriber silent in both directions past idleTimeout, after a SLOW_CONSUMER error frame (item 4)', async () => {
    const hub = await fx.start('hub', { hub: { idleTimeout: 2000, maxQueueBytes: 8 * MiB } });
    const pub = await fx.start('publisher', { clientId: 'pub', channel: 'news', topic: 'tick', n: 4000, size: 1000, client: { heartbeatInterval: 500 } });
    const silent = await raw('silent');
    await silent.request({ type: 'register', client_id: 'silent', channel: 'news', request_id: 'o' });
    await silent.request({ type: 'subscribe', channel: 'news', sub_name: 'tick', request_id: 's' });
    silent.socket.pause(); // reads nothing from now on, and sends nothing
    const t0 = Date.now();
    pub.send({ cmd: 'go' }); // 4 MB: more than a quarter of maxQueueBytes, less than all of it
    const cut = await hub.waitLine((l) => l.ev === 'clientError' && l['id'] === 'silent', 12000);
    expect(cut['code']).to.equal('PIPEIO_ERR_SLOW_CONSUMER');
    expect(Date.now() - t0).to.be.lessThan(8000);
    // It reads again: what was queued for it, then the reason, then the end.
    silent.socket.resume();
    const last = await lastFrameBeforeClose(silent);
    expect(last).to.deep.include({ type: 'error', code: 'PIPEIO_ERR_SLOW_CONSUMER' });
    // The publisher was only slowed: with the silent one gone it finishes.
    await pub.waitEvent('published', 20000);
  });

  it('tells a HubClient that stopped reading why it was cut off: an error event, and the code on its pending call and stream', async () => {
    const hub = await fx.start('hub', { hub: { idleTimeout: 2000, maxQueueBytes: 4 * MiB } });
    const prov = await fx.start('provider', { clientId: 'prov', channel: 'news', event: 'count', client: { heartbeatInterval: 500 } });
    const sub = await fx.start('subscriber', { clientId: 'sub', channel: 'news', topic: 'tick', n: 1e9, client: { heartbeatInterval: 500 } });
    const pub = await fx.start('publisher', { clientId: 'pub', channel: 'news', topic: 'tick', n: 20_000, size: 1000, client: { heartbeatInterval: 500 } });
    sub.send({ cmd: 'pending' });
    await prov.waitLine((l) => l.ev === 'called' && l['event'] === 'hang');
    await prov.waitLine((l) => l.ev === 'called' && l['event'] === 'hang-stream');
    sub.freeze(true); // a process that stops: it reads nothing more
    pub.send({ cmd: 'go' });
    const cut = await hub.waitLine((l) => l.ev === 'clientError' && l['id'] === 'sub', 15000);
    expect(cut['code']).to.equal('PIPEIO_ERR_SLOW_CONSUMER');
    sub.freeze(false);
    expect(await sub.waitEvent('error')).to.deep.include({ code: 'PIPEIO_ERR_SLOW_CONSUMER' });
    expect(await sub.waitEvent('callResult')).to.deep.include({ ok: false, code: 'PIPEIO_ERR_SLOW_CONSUMER' });
    expect(await sub.waitEvent('streamResult')).to.deep.include({ ok: false, code: 'PIPEIO_ERR_SLOW_CONSUMER' });
    expect(await sub.waitEvent('disconnect')).to.deep.include({ code: 'PIPEIO_ERR_SLOW_CONSUMER' });
    await pub.waitEvent('published', 30000); // held while the frozen one lived, then free
  });

  it('cuts off a receiver past maxQueueBytes (broadcasts of several senders) after a SLOW_CONSUMER error frame; the senders go on', async () => {
    const hub = await fx.start('hub', { hub: { maxQueueBytes: 1 * MiB } });
    const r = await raw('r');
    await r.open('room');
    const senders = [];
    for (let i = 0; i < 5; i++) {
      const b = await raw(`b${i}`);
      await b.open('room');
      senders.push(b);
    }
    r.socket.pause();
    const big = 'y'.repeat(400 * 1024);
    for (const b of senders) b.send({ type: 'broadcast', channel: 'room', event: 'big', data: big });
    const cut = await hub.waitLine((l) => l.ev === 'clientError' && l['id'] === 'r', 15000);
    expect(cut['code']).to.equal('PIPEIO_ERR_SLOW_CONSUMER');
    r.socket.resume();
    expect(await lastFrameBeforeClose(r)).to.deep.include({ type: 'error', code: 'PIPEIO_ERR_SLOW_CONSUMER' });
    for (const b of senders) await b.drainUntilPong(); // held while r lived, read again since
  });

  it('keeps a held stream provider connected (the hub pings it) while its consumer takes nothing for longer than its idleTimeout', async () => {
    const n = 20_000;
    const hub = await fx.start('hub', { hub: { maxQueueBytes: 4 * MiB } });
    const prov = await fx.start('provider', { clientId: 'prov', channel: 'data', event: 'count', size: 1000, client: { idleTimeout: 1500 } });
    const cons = await fx.start('consumer', { clientId: 'cons', channel: 'data', event: 'count', n, stallMs: 4000 });
    cons.send({ cmd: 'go' });
    const end = await cons.waitLine((l) => l.ev === 'done' || l.ev === 'failed', 60000);
    expect(end, JSON.stringify(end)).to.deep.include({ ev: 'done', received: n, outOfOrder: 0 });
    expect(prov.lines.filter((l) => l.ev === 'disconnect')).to.deep.equal([]);
    expect(clientErrors(hub)).to.deep.equal([]);
  });
});

/** Waits for the connection to close; returns the last frame it received. */
async function lastFrameBeforeClose(c: RawClient, timeout = 10000): Promise<Frame | undefined> {
  await waitFor(() => c.closed, 'the hub to close the connection', timeout);
  return c.frames[c.frames.length - 1];
}
