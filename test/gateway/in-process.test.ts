/**
 * The gateway's in-process link to a Hub in the same process (no socket):
 * the suites of calls, files, topics and WebSocket run over it too (their
 * "hub link" variants); these are the link's own rules.
 */
import { expect } from 'chai';
import { Hub } from '../../lib/hub/server/hub';
import { HubClient } from '../../lib/hub/client/hub-client';
import type { PipeIOError } from '../../lib/errors';
import { HubGateway } from '../../lib/gateway/gateway';
import { inProcessOpener } from '../../lib/gateway/in-process-link';
import { postJson } from './gateway-fixture';
import { waitFor } from '../fixtures/helpers';

describe('HubGateway in-process link', () => {
  let hub: Hub;
  const closing: Array<{ close(): Promise<void> }> = [];
  const track = <T extends { close(): Promise<void> }>(x: T): T => (closing.push(x), x);

  beforeEach(() => {
    hub = new Hub({ serverId: 'inproc' });
    hub.on('clientError', () => undefined);
  });
  afterEach(async () => {
    for (const c of closing.splice(0)) await c.close().catch(() => undefined);
    await hub.stop();
  });

  /** A provider of math:add and math:flood, itself on the in-process link. */
  async function provider(): Promise<HubClient> {
    const p = track(new HubClient(inProcessOpener(hub), { clientId: 'p' }));
    const ch = await p.open('math');
    await ch.addEvent('add', (m) => (m.data as { a: number; b: number }).a + (m.data as { a: number; b: number }).b);
    await ch.addEvent('flood', async function* () {
      for (let i = 0; i < 10_000; i++) yield Buffer.alloc(16 * 1024, i % 256);
    });
    return p;
  }

  it('serves a hub that listens on no socket at all: gateway and provider are both linked in-process', async () => {
    await provider();
    const g = track(new HubGateway({ hub }, { channels: ['math'] }));
    const { port } = await g.listen();
    expect(hub.addresses).to.deep.equal([]);
    const res = await postJson(`http://127.0.0.1:${port}/channels/math/add`, '{"a":20,"b":22}');
    expect(res.status).to.equal(200);
    expect(await res.json()).to.equal(42);
    expect(hub.stats().clients).to.equal(2);
  });

  it('answers the handshake as the hub does: a client id already in use is refused', async () => {
    await provider();
    const twin = new HubClient(inProcessOpener(hub), { clientId: 'p', autoReconnect: false });
    const err = (await twin.connect().then(() => undefined, (e: unknown) => e)) as PipeIOError;
    expect(err?.code).to.equal('PIPEIO_ERR_ID_IN_USE');
    await twin.close();
  });

  it('closes a link whose frame the hub refuses, and only that link', async () => {
    await provider();
    const bad = track(new HubClient(inProcessOpener(hub), { clientId: 'bad', autoReconnect: false }));
    await bad.connect();
    const lost = new Promise<PipeIOError | undefined>((resolve) => bad.once('disconnect', resolve));
    await bad.sendFrame({ type: 'no-such-type' });
    expect((await lost)?.message).to.match(/unknown message type/);
    const g = track(new HubGateway({ hub }, { channels: ['math'] }));
    const { port } = await g.listen();
    expect(await (await postJson(`http://127.0.0.1:${port}/channels/math/add`, '{"a":1,"b":1}')).json()).to.equal(2);
  });

  it('holds what arrives for a paused reader up to its bound, then closes it as a slow consumer', async () => {
    await provider();
    const slow = track(new HubClient(inProcessOpener(hub, 1024 * 1024), { clientId: 'slow', autoReconnect: false, streamHighWaterMark: 2 }));
    const ch = await slow.open('math');
    const lost = new Promise<PipeIOError | undefined>((resolve) => slow.once('disconnect', resolve));
    const stream = ch.stream('flood');
    await stream.next(); // then never read again: the link pauses at 2 chunks and holds the rest
    expect((await lost)?.code).to.equal('PIPEIO_ERR_SLOW_CONSUMER');
    await waitFor(() => hub.stats().clients === 1, 'the hub to drop the slow member');
  });

  it('ends with the hub: requests then get 503, and the link is refused once the hub stopped', async () => {
    await provider();
    const g = track(new HubGateway({ hub }, { channels: ['math'] }));
    const { port } = await g.listen();
    const gone = new Promise((resolve) => g.client.once('disconnect', resolve));
    await hub.stop();
    await gone;
    const res = await postJson(`http://127.0.0.1:${port}/channels/math/add`, '{"a":1,"b":1}');
    expect(res.status).to.equal(503);
    expect(((await res.json()) as { code: string }).code).to.equal('PIPEIO_ERR_CONNECTION');
    const late = new HubClient(inProcessOpener(hub), { autoReconnect: false });
    const err = (await late.connect().then(() => undefined, (e: unknown) => e)) as PipeIOError;
    expect(err?.code).to.equal('PIPEIO_ERR_CONNECTION');
    await late.close();
  });
});
