/** The monitoring routes over real HTTP: /metrics, /healthz, /readyz, /api/stats, authorize, methods, mounting. */
import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chainHandlers, hubHttpHandler, serveHttp } from '../../lib/dashboard/hub-http';
import type { HttpHandler } from '../../lib/metrics/http';
import { PROMETHEUS_CONTENT_TYPE } from '../../lib/metrics/prometheus';
import { ClientFixture } from '../hub/client-fixture';
import { parseText, valueOf } from './prom-parse';

describe('hub metrics over HTTP', function () {
  this.timeout(20000);
  let fx: ClientFixture;
  let base = '';
  let close: () => Promise<void>;

  async function serve(handler: HttpHandler): Promise<void> {
    const s = await serveHttp(handler, { port: 0 });
    base = `http://127.0.0.1:${s.port}`;
    close = s.close;
  }

  afterEach(async () => {
    await close?.();
    await fx?.stop();
  });

  it('serves Prometheus text, health, readiness and the JSON snapshot', async () => {
    fx = await ClientFixture.start();
    await serve(hubHttpHandler({ hub: fx.hub }));
    const p = await fx.client({ clientId: 'p' });
    await (await p.open('m')).addEvent('e', () => 1);
    await (await p.open('m')).call('e', null).catch(() => undefined); // a provider may call itself
    const m = await fetch(`${base}/metrics`);
    expect(m.status).to.equal(200);
    expect(m.headers.get('content-type')).to.equal(PROMETHEUS_CONTENT_TYPE);
    const parsed = parseText(await m.text());
    expect(valueOf(parsed, 'pipeio_hub_connections', { transport: 'unix' })).to.equal(1);
    const h = await fetch(`${base}/healthz`);
    expect(h.status).to.equal(200);
    expect(await h.json()).to.include({ status: 'ok', live: true, ready: true });
    expect((await fetch(`${base}/readyz`)).status).to.equal(200);
    const stats = (await (await fetch(`${base}/api/stats`)).json()) as { serverId: string; topology: { events: Array<{ event: string }> } };
    expect(stats.serverId).to.equal('hub-1');
    expect(stats.topology.events.map((e) => e.event)).to.deep.equal(['e']);
    const bare = (await (await fetch(`${base}/api/stats?topology=0`)).json()) as { topology?: unknown };
    expect(bare.topology).to.equal(undefined);
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(await head.text()).to.equal('');
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).to.equal(405);
    expect(post.headers.get('allow')).to.equal('GET, HEAD');
  });

  it('answers 503 on /readyz at the connection limit and while stopping, and /healthz 503 once stopped', async () => {
    fx = await ClientFixture.start({ maxConnections: 1 });
    await serve(hubHttpHandler({ hub: fx.hub, dashboard: false }));
    await fx.client({ clientId: 'only' });
    const r = await fetch(`${base}/readyz`);
    expect(r.status).to.equal(503);
    const body = (await r.json()) as { status: string; live: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
    expect(body).to.include({ status: 'fail', live: true });
    expect(body.checks.find((c) => c.name === 'connections')).to.deep.equal({ name: 'connections', ok: false, detail: '1 of 1' });
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);
    await fx.hub.stop();
    const h = await fetch(`${base}/healthz`);
    expect(h.status).to.equal(503);
    expect(((await h.json()) as { checks: Array<{ name: string; ok: boolean }> }).checks[0]).to.include({ name: 'running', ok: false });
  });

  it('asks authorize() for everything but the probes: 401 with code PIPEIO_ERR_AUTH', async () => {
    fx = await ClientFixture.start();
    const seen: string[] = [];
    await serve(
      hubHttpHandler({
        hub: fx.hub,
        authorize: (req) => {
          seen.push(req.url ?? '');
          return req.headers.authorization === 'Bearer t0ken';
        },
      }),
    );
    for (const path of ['/metrics', '/api/stats', '/', '/api/live']) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).to.equal(401);
      expect(await r.json()).to.deep.equal({ error: 'not authorized', code: 'PIPEIO_ERR_AUTH' });
    }
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);
    expect((await fetch(`${base}/readyz`)).status).to.equal(200);
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer t0ken' } });
    expect(ok.status).to.equal(200);
    expect(seen).to.not.include('/healthz');
  });

  it('mounts beside other handlers: paths it does not own go to next()', async () => {
    fx = await ClientFixture.start();
    const mine: HttpHandler = (req, res, next) => {
      if (req.url === '/app') res.end('app');
      else next?.();
    };
    await serve(chainHandlers(hubHttpHandler({ hub: fx.hub }), mine));
    expect(await (await fetch(`${base}/app`)).text()).to.equal('app');
    expect((await fetch(`${base}/metrics`)).status).to.equal(200);
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).to.equal(404);
    // and on a plain node:http server, as Express would call it
    const handler = hubHttpHandler({ hub: fx.hub });
    const server = http.createServer((req, res) => handler(req, res, () => res.writeHead(418).end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      expect((await fetch(`http://127.0.0.1:${port}/teapot`)).status).to.equal(418);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).to.equal(200);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
