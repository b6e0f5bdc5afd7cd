import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import WebSocket from 'ws';
import { HubGateway } from '../../lib/gateway/gateway';
import { GatewayFixture, postJson } from './gateway-fixture';

function listenOn(server: http.Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}
function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

describe('HubGateway mounting', () => {
  const f = new GatewayFixture();
  before(() => f.start());
  after(() => f.stop());

  it('works as the handler of http.createServer (404 JSON for other paths) with attach() for WebSockets', async () => {
    const g = f.track(new HubGateway({ address: { path: f.socketPath } }));
    await g.start();
    const server = http.createServer(g.handler);
    g.attach(server);
    const base = await listenOn(server);
    try {
      expect(await (await postJson(`${base}/channels/math/add`, '{"a":1,"b":2}')).json()).to.equal(3);
      const other = await fetch(`${base}/elsewhere`);
      expect(other.status).to.equal(404);
      expect(((await other.json()) as { code: string }).code).to.be.a('string');
      const ws = new WebSocket(`${base.replace('http', 'ws')}/channels/math/ws`);
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ id: 1, op: 'call', event: 'add', data: { a: 2, b: 2 } }));
      expect(JSON.parse((await new Promise((r) => ws.once('message', r))) as string)).to.deep.equal({ id: 1, result: 4 });
      ws.close();
    } finally {
      await closeServer(server);
    }
  });

  it('works as Express middleware under a prefix: next() for paths it does not own', async () => {
    const g = f.track(new HubGateway({ address: { path: f.socketPath } }, { prefix: '/api' }));
    await g.start();
    const app = express();
    app.use(g.middleware());
    app.use(express.json());
    app.get('/api/mine', (_req, res) => void res.json({ mine: true }));
    app.post('/other', (req, res) => void res.json({ echo: req.body }));
    const server = http.createServer(app);
    const base = await listenOn(server);
    try {
      expect(await (await postJson(`${base}/api/channels/math/add`, '{"a":5,"b":5}')).json()).to.equal(10);
      expect(await (await fetch(`${base}/api/mine`)).json()).to.deep.equal({ mine: true });
      expect(await (await postJson(`${base}/other`, '{"x":1}')).json()).to.deep.equal({ echo: { x: 1 } });
      const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, unknown> };
      expect(doc.paths).to.have.property('/api/channels/math/add');
    } finally {
      await closeServer(server);
    }
  });

  it('works in Fastify as a plugin (raw handling before body parsing, WebSocket upgrades included)', async () => {
    const g = f.track(new HubGateway({ address: { path: f.socketPath } }));
    await g.start();
    const app = Fastify();
    await app.register(g.fastify());
    app.get('/fastify-own', async () => ({ own: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      expect(await (await postJson(`${base}/channels/math/add`, '{"a":20,"b":22}')).json()).to.equal(42);
      expect(await (await fetch(`${base}/fastify-own`)).json()).to.deep.equal({ own: true });
      const ws = new WebSocket(`${base.replace('http', 'ws')}/channels/math/ws`);
      await new Promise((r) => ws.once('open', r));
      ws.close();
    } finally {
      await app.close();
    }
  });

  it('lets other modules mount a subtree, with its own OpenAPI operations, and remove it', async () => {
    const remove = f.gateway.mount(
      '/metrics',
      (req, res, next) => {
        if (req.url === '/metrics') res.end('up 1\n');
        else next();
      },
      { public: true, openapi: (b) => b.add('/metrics', { get: { operationId: 'metrics', responses: { '200': { description: 'Prometheus text' } } } }) },
    );
    expect(await (await fetch(`${f.base}/metrics`)).text()).to.equal('up 1\n');
    const missing = await fetch(`${f.base}/metrics/other`);
    expect(missing.status).to.equal(404);
    await missing.arrayBuffer();
    const doc = (await (await fetch(`${f.base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(doc.paths).to.have.property('/metrics');
    remove();
    const gone = await fetch(`${f.base}/metrics`);
    expect(gone.status).to.equal(404);
    await gone.arrayBuffer();
  });

  it("maps comm-ipc's add_event (GET with query coercion) and add_resource (live path template)", async () => {
    f.gateway.addEvent('math', 'add', '/sum', { method: 'GET' });
    f.gateway.addResource('math', '/v1/{event}');
    expect(await (await fetch(`${f.base}/sum?a=2&b=3`)).json()).to.equal(5);
    const bad = await fetch(`${f.base}/sum?a=x&b=3`);
    expect(bad.status).to.equal(400);
    await bad.arrayBuffer();
    expect(await (await postJson(`${f.base}/v1/echo`, '{"k":"v"}')).json()).to.deep.equal({ k: 'v' });
  });

  it('uses an in-process Hub it is given', async () => {
    const g = f.track(new HubGateway({ hub: f.hub }));
    const { port } = await g.listen();
    expect(await (await postJson(`http://127.0.0.1:${port}/channels/math/add`, '{"a":1,"b":1}')).json()).to.equal(2);
  });
});
