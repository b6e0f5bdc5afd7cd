import { expect } from 'chai';
import * as http from 'node:http';
import { GatewayFixture, postJson, readSse, SOURCES } from './gateway-fixture';
import { waitFor } from '../fixtures/helpers';

/** Opens an SSE request with node:http (one agent-less socket each, as 200 browsers would). */
function openSse(url: string): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => resolve({ res, req }));
    req.on('error', reject);
  });
}

for (const source of SOURCES) {
  describe(`HubGateway topics (${source} link)`, () => {
    const f = new GatewayFixture(source);
    before(async () => {
      await f.start({ topics: { math: ['owned'] } });
      await f.math.addSubscription('ticks', { type: 'integer' });
    });
    after(() => f.stop());

    it('delivers every publication once and in order to 200 concurrent SSE subscribers, through one hub subscription', async function () {
      this.timeout(60000);
      const N = 200;
      const M = 100;
      const readers = await Promise.all(Array.from({ length: N }, () => openSse(`${f.base}/channels/math/topics/ticks`)));
      for (const r of readers) expect(r.res.statusCode).to.equal(200);
      await waitFor(() => f.gateway.stats().topicReaders === N, 'every reader registered');
      expect(f.gateway.stats().topics).to.equal(1);
      const received = readers.map(() => [] as number[]);
      const done = readers.map(
        (r, i) =>
          new Promise<void>((resolve) => {
            let buf = '';
            r.res.setEncoding('utf8');
            r.res.on('data', (chunk: string) => {
              buf += chunk;
              let cut: number;
              while ((cut = buf.indexOf('\n\n')) >= 0) {
                const block = buf.slice(0, cut);
                buf = buf.slice(cut + 2);
                const data = block.split('\n').find((l) => l.startsWith('data: '));
                if (data) received[i]!.push(JSON.parse(data.slice(6)) as number);
                if (received[i]!.length === M) resolve();
              }
            });
          }),
      );
      for (let k = 0; k < M; k++) await f.math.publish('ticks', k);
      await Promise.all(done);
      const expected = Array.from({ length: M }, (_, k) => k);
      for (const got of received) expect(got).to.deep.equal(expected);
      for (const r of readers) r.req.destroy();
      await waitFor(() => f.gateway.stats().topics === 0, 'the hub subscription to be dropped with the last reader');
    });

    it('ends after ?limit=N publications with an end event', async () => {
      const res = await fetch(`${f.base}/channels/math/topics/ticks?limit=2`, { headers: { accept: 'text/event-stream' } });
      expect(res.status).to.equal(200);
      const reading = readSse(res);
      for (let k = 0; k < 3; k++) await f.math.publish('ticks', k);
      const events = await reading;
      expect(events.map((e) => e.data)).to.deep.equal([0, 1, { messages: 2 }]);
    });

    it('publishes over HTTP to a topic the gateway owns, and refuses others with 403', async () => {
      const res = await fetch(`${f.base}/channels/math/topics/owned?limit=1`);
      const reading = readSse(res);
      await waitFor(() => f.gateway.stats().topicReaders === 1, 'the reader');
      const pub = await postJson(`${f.base}/channels/math/topics/owned`, '{"hello":"web"}');
      expect(pub.status).to.equal(204);
      expect((await reading)[0]!.data).to.deep.equal({ hello: 'web' });
      const refused = await postJson(`${f.base}/channels/math/topics/ticks`, '1');
      expect(refused.status).to.equal(403);
      expect(((await refused.json()) as { code: string }).code).to.equal('PIPEIO_ERR_FORBIDDEN');
    });

    it('cuts off a subscriber that stops reading once its buffer passes maxBufferedBytes; the others keep going', async function () {
      this.timeout(30000);
      const g = f.track(new (await import('../../lib/gateway/gateway')).HubGateway(f.gatewaySource(), { maxBufferedBytes: 64 * 1024, keepAlive: 0 }));
      const { port } = await g.listen();
      await f.math.addSubscription('blobs'); // no schema: 16 KiB strings
      const slow = await openSse(`http://127.0.0.1:${port}/channels/math/topics/blobs`);
      slow.res.pause(); // reads nothing
      const big = 'x'.repeat(16 * 1024);
      let published = 0;
      const fast = await fetch(`http://127.0.0.1:${port}/channels/math/topics/blobs`);
      await waitFor(() => g.stats().topicReaders === 2, 'both readers');
      let got = 0;
      const reader = fast.body!.getReader();
      const reading = (async () => {
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += dec.decode(value, { stream: true });
          let cut: number;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            buf = buf.slice(cut + 2);
            got++;
          }
        }
      })();
      // Kernel socket buffers hold a few MiB before the gateway's own buffer fills: publish until the cut (bounded).
      while (g.stats().slowReadersCut === 0 && published < 4000) {
        await f.math.publish('blobs', big);
        published++;
        if (published % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      await waitFor(() => g.stats().slowReadersCut === 1, 'the slow reader to be cut off', 10000);
      for (let k = 0; k < 20; k++, published++) await f.math.publish('blobs', big);
      await waitFor(() => got === published, `the fast reader to get all ${published} publications`, 10000);
      await reader.cancel();
      await reading.catch(() => undefined);
      slow.req.destroy();
    });
  });
}
