import { expect } from 'chai';
import WebSocket from 'ws';
import { GatewayFixture, SOURCES } from './gateway-fixture';
import { waitFor } from '../fixtures/helpers';

/** A WebSocket client that queues what it receives (parsed JSON). */
async function connect(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; next(): Promise<any> }> {
  const ws = new WebSocket(url, { headers });
  const queue: unknown[] = [];
  const waiters: Array<(v: unknown) => void> = [];
  ws.on('message', (raw) => {
    const v = JSON.parse(raw.toString());
    const w = waiters.shift();
    if (w) w(v);
    else queue.push(v);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, next: () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r))) };
}

/** The status a refused upgrade answers with. */
function refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode!);
      res.resume();
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => undefined);
  });
}

for (const source of SOURCES) {
  describe(`HubGateway WebSocket (${source} link)`, () => {
    const f = new GatewayFixture(source);
    before(async () => {
      await f.start({ topics: { math: ['chat'] } });
      await f.math.addSubscription('live');
      f.gateway.addWebSocket('/ws/proxy', 'math', 'live');
      f.gateway.addRpcWebSocket('/ws/rpc', 'math', 'count');
    });
    after(() => f.stop());

    it('calls, streams, subscribes and publishes over one multiplexed socket', async () => {
      const { ws, next } = await connect(`${f.base.replace('http', 'ws')}/channels/math/ws`);
      ws.send(JSON.stringify({ id: 1, op: 'call', event: 'add', data: { a: 1, b: 2 } }));
      expect(await next()).to.deep.equal({ id: 1, result: 3 });
      ws.send(JSON.stringify({ id: 2, op: 'stream', event: 'count', data: { n: 2 } }));
      expect([await next(), await next(), await next()]).to.deep.equal([{ id: 2, chunk: 0 }, { id: 2, chunk: 1 }, { id: 2, end: { chunks: 2 } }]);
      ws.send(JSON.stringify({ id: 3, op: 'call', event: 'fail' }));
      expect(await next()).to.deep.equal({ id: 3, error: { code: 'PIPEIO_ERR_REMOTE', message: 'intentional fail', status: 502 } });
      ws.send(JSON.stringify({ id: 4, op: 'subscribe', topic: 'chat' }));
      expect(await next()).to.deep.equal({ id: 4, subscribed: 'chat' });
      ws.send(JSON.stringify({ id: 5, op: 'publish', topic: 'chat', data: 'hi' }));
      const two = [await next(), await next()];
      expect(two).to.deep.include.members([{ id: 5, published: 'chat' }, { topic: 'chat', data: 'hi' }]);
      ws.send('not json');
      expect((await next()).error.code).to.equal('PIPEIO_ERR_INVALID_JSON');
      ws.close();
    });

    it('cancels a running stream on the hub when asked, and when the socket closes', async () => {
      const before = f.log.streamsEnded;
      const { ws, next } = await connect(`${f.base.replace('http', 'ws')}/channels/math/ws`);
      ws.send(JSON.stringify({ id: 'a', op: 'stream', event: 'forever' }));
      expect(await next()).to.deep.equal({ id: 'a', chunk: 0 });
      ws.send(JSON.stringify({ id: 'a', op: 'cancel' }));
      await waitFor(() => f.log.streamsEnded === before + 1, 'the provider to see the stream end');
      ws.send(JSON.stringify({ id: 'b', op: 'stream', event: 'forever' }));
      for (;;) if ((await next()).id === 'b') break;
      ws.close();
      await waitFor(() => f.log.streamsEnded === before + 2, 'the provider to see the second stream end');
    });

    it("comm-ipc's add_websocket: messages in call the event, the topic's publications go out as JSON", async () => {
      const got: unknown[] = [];
      await f.math.addEvent('live', (msg) => {
        got.push(msg.data);
        return null;
      }).catch(() => undefined);
      const { ws, next } = await connect(`${f.base.replace('http', 'ws')}/ws/proxy`);
      await waitFor(() => f.gateway.stats().topicReaders >= 1, 'the socket to follow the topic');
      ws.send(JSON.stringify({ hello: 1 }));
      await waitFor(() => got.length === 1, 'the call');
      expect(got[0]).to.deep.equal({ hello: 1 });
      await f.math.publish('live', { out: 2 });
      expect(await next()).to.deep.equal({ out: 2 });
      ws.close();
    });

    it("comm-ipc's add_rpc_websocket: each message streams the event's chunks back", async () => {
      const { ws, next } = await connect(`${f.base.replace('http', 'ws')}/ws/rpc`);
      ws.send(JSON.stringify({ n: 3 }));
      expect([await next(), await next(), await next()]).to.deep.equal([0, 1, 2]);
      ws.close();
    });

    it('refuses a browser origin that is not allowed (403), and a path it does not serve (404)', async () => {
      const url = `${f.base.replace('http', 'ws')}/channels/math/ws`;
      expect(await refusedStatus(url, { origin: 'http://evil.example' })).to.equal(403);
      expect(await refusedStatus(`${f.base.replace('http', 'ws')}/nope`)).to.equal(404);
      const same = await connect(url, { origin: f.base }); // same origin is fine
      same.ws.close();
    });

    it('cuts off a socket that does not read once its buffer passes maxBufferedBytes', async function () {
      this.timeout(30000);
      const g = f.track(new (await import('../../lib/gateway/gateway')).HubGateway(f.gatewaySource(), { maxBufferedBytes: 64 * 1024 }));
      const { port } = await g.listen();
      const { ws } = await connect(`ws://127.0.0.1:${port}/channels/math/ws`);
      ws.send(JSON.stringify({ id: 1, op: 'subscribe', topic: 'live' }));
      await waitFor(() => g.stats().topicReaders === 1, 'the subscription');
      (ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const big = 'y'.repeat(16 * 1024);
      for (let k = 0; k < 4000 && g.stats().slowReadersCut === 0; k++) {
        await f.math.publish('live', big);
        if (k % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      await waitFor(() => g.stats().slowReadersCut === 1, 'the socket to be cut off');
      await waitFor(() => g.stats().topicReaders === 0, 'its subscription to be dropped');
      ws.terminate();
    });
  });
}
