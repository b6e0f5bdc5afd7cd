import { expect } from 'chai';
import { GatewayFixture, postJson, readSse, SOURCES } from './gateway-fixture';
import { waitFor } from '../fixtures/helpers';

describe('HubGateway', () => {
  for (const source of SOURCES) {
    describe(`calls over HTTP (Node provider, ${source} link)`, () => {
      const f = new GatewayFixture(source);
      before(async () => {
        await f.start();
      });
      after(() => f.stop());

      it('POST /channels/{c}/{e}: the JSON body is the data, the JSON answer the result', async () => {
        const res = await fetch(`${f.base}/channels/math/add`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":2,"b":40}' });
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.match(/^application\/json/);
        expect(await res.json()).to.equal(42);
      });

      it('answers 400 with the issues when the data fails the announced schema, before calling', async () => {
        const res = await postJson(`${f.base}/channels/math/add`, '{"a":"x"}');
        expect(res.status).to.equal(400);
        const body = (await res.json()) as { code: string; issues: Array<{ path: unknown[]; message: string }> };
        expect(body.code).to.equal('PIPEIO_ERR_VALIDATION');
        // lib/schema stops at the first issue (bounded work on big bad bodies): 'b' is missing, or 'a' is no number
        expect(body.issues).to.have.length.greaterThan(0);
        for (const i of body.issues) expect(['a', 'b']).to.include(i.path.join('/'));
      });

      it('answers 400 for a body that is not JSON, 415 for another media type, 413 past bodyLimit', async () => {
        let res = await postJson(`${f.base}/channels/math/echo`, '{nope');
        expect(res.status).to.equal(400);
        expect(((await res.json()) as { code: string }).code).to.equal('PIPEIO_ERR_INVALID_JSON');
        res = await fetch(`${f.base}/channels/math/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
        expect(res.status).to.equal(415);
        await res.arrayBuffer();
        res = await postJson(`${f.base}/channels/math/echo`, JSON.stringify('x'.repeat(1024 * 1024 + 10)));
        expect(res.status).to.equal(413);
        await res.arrayBuffer();
      });

      it("answers 400 for JSON a hub frame cannot carry (nested past 32 levels, a lone surrogate), and the hub link every client shares stays up", async () => {
        let drops = 0;
        const onDrop = (): void => void drops++;
        f.gateway.client.on('disconnect', onDrop);
        try {
          const inFlight = postJson(`${f.base}/channels/math/slow`, '{"ms":300}');
          for (const body of [`{"k":${'['.repeat(70)}${']'.repeat(70)}}`, '{"k":"\\ud800"}', '{"\\udfff":1}']) {
            const res = await postJson(`${f.base}/channels/math/echo`, body);
            expect(res.status, body).to.equal(400);
            expect(((await res.json()) as { code: string }).code).to.equal('PIPEIO_ERR_INVALID_JSON');
          }
          const paired = await postJson(`${f.base}/channels/math/echo`, '{"k":"\\ud83d\\ude00"}');
          expect(await paired.json()).to.deep.equal({ k: '\u{1F600}' });
          const deepEnough = await postJson(`${f.base}/channels/math/echo`, `${'['.repeat(32)}${']'.repeat(32)}`);
          expect(deepEnough.status).to.equal(200);
          await deepEnough.arrayBuffer();
          const slow = await inFlight;
          expect(slow.status).to.equal(200);
          expect(await slow.json()).to.equal('late');
          expect(drops).to.equal(0);
          expect(f.gateway.client.state).to.equal('connected');
        } finally {
          f.gateway.client.removeListener('disconnect', onDrop);
        }
      });

      it('maps a handler error to 502 with the remote text and code PIPEIO_ERR_REMOTE', async () => {
        const res = await postJson(`${f.base}/channels/math/fail`);
        expect(res.status).to.equal(502);
        expect(await res.json()).to.deep.include({ code: 'PIPEIO_ERR_REMOTE', message: 'intentional fail', detail: 'intentional fail' });
      });

      it('maps no provider to 503 with Retry-After and code PIPEIO_ERR_NO_PROVIDER', async () => {
        const res = await postJson(`${f.base}/channels/math/nobody`);
        expect(res.status).to.equal(503);
        expect(res.headers.get('retry-after')).to.equal('1');
        expect(((await res.json()) as { code: string }).code).to.equal('PIPEIO_ERR_NO_PROVIDER');
      });

      it('maps a call past requestTimeout to 504 (and the provider is told to stop)', async () => {
        const g = f.track(new (await import('../../lib/gateway/gateway')).HubGateway(f.gatewaySource(), { requestTimeout: 100 }));
        const { port } = await g.listen();
        const res = await postJson(`http://127.0.0.1:${port}/channels/math/slow`, '{"ms":3000}');
        expect(res.status).to.equal(504);
        expect(((await res.json()) as { code: string }).code).to.equal('PIPEIO_ERR_TIMEOUT');
      });

      it('answers 404 for a channel it does not serve and for unknown paths, 405 with Allow', async () => {
        let res = await postJson(`${f.base}/channels/other/add`);
        expect(res.status).to.equal(404);
        await res.arrayBuffer();
        res = await fetch(`${f.base}/nothing/here`);
        expect(res.status).to.equal(404);
        await res.arrayBuffer();
        res = await fetch(`${f.base}/channels/math/add`, { method: 'DELETE' });
        expect(res.status).to.equal(405);
        expect(res.headers.get('allow')).to.equal('POST');
        await res.arrayBuffer();
      });

      it('answers a stream event with Accept: text/event-stream as SSE, ending with an end event', async () => {
        const res = await postJson(`${f.base}/channels/math/count`, '{"n":4}', { accept: 'text/event-stream' });
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
        const events = await readSse(res);
        expect(events.map((e) => e.data)).to.deep.equal([0, 1, 2, 3, { chunks: 4 }]);
        expect(events.at(-1)!.event).to.equal('end');
        expect(events.slice(0, 4).map((e) => e.id)).to.deep.equal(['1', '2', '3', '4']);
      });

      it('collects a stream event called without SSE into one JSON array', async () => {
        const res = await postJson(`${f.base}/channels/math/count`, '{"n":3}');
        expect(await res.json()).to.deep.equal([0, 1, 2]);
      });

      it('turns an error mid-stream into an error event with the code', async () => {
        const res = await postJson(`${f.base}/channels/math/boom`, undefined, { accept: 'text/event-stream' });
        const events = await readSse(res);
        expect(events[0]).to.deep.include({ event: 'message', data: 'first' });
        expect(events[1]).to.deep.include({ event: 'error' });
        expect(events[1]!.data).to.deep.include({ error: 'oops', code: 'PIPEIO_ERR_REMOTE', status: 502 });
      });

      it('answers an SSE request whose stream fails before its first chunk with a plain HTTP status', async () => {
        const res = await postJson(`${f.base}/channels/math/nobody`, undefined, { accept: 'text/event-stream' });
        expect(res.status).to.equal(503);
        await res.arrayBuffer();
      });

      it('cancels on the hub when the web client goes away mid-stream: the provider sees its stream end', async () => {
        const before = { ...f.log };
        const controller = new AbortController();
        const res = await postJson(`${f.base}/channels/math/forever`, undefined, { accept: 'text/event-stream' }, controller.signal);
        const events = await readSse(res, 3);
        expect(events.map((e) => e.data)).to.deep.equal([0, 1, 2]);
        controller.abort();
        await waitFor(() => f.log.streamsEnded > before.streamsEnded, 'the provider generator to end');
        expect(f.log.cancelled).to.equal(before.cancelled + 1);
        await waitFor(() => f.hub.stats().pendingCalls === 0, 'the hub to forget the call');
      });
    });
  }
});
