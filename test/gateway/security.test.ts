import { expect } from 'chai';
import * as net from 'node:net';
import WebSocket from 'ws';
import { HubGateway } from '../../lib/gateway/gateway';
import { GatewayFixture, postJson } from './gateway-fixture';

/** Sends raw request bytes and returns the raw answer. */
function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(text));
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('HubGateway security', () => {
  const f = new GatewayFixture();
  let secured: HubGateway;
  let securedBase = '';
  before(async () => {
    await f.start();
    await f.math.addEvent('file-evil', async function* () {
      yield { size: 1, type: 'text/plain\r\nset-cookie: a=b', name: 'x"\r\ny.txt', etag: '"e"\r\nx-injected: 1' };
      yield Buffer.from('z');
    });
    secured = f.track(
      new HubGateway(
        { address: { path: f.socketPath } },
        { authorize: (req) => req.headers.authorization === 'Bearer s3cret', cors: { origins: ['https://app.example'] } },
      ),
    );
    securedBase = `http://127.0.0.1:${(await secured.listen()).port}`;
    secured.mount('/healthz', (_req, res) => void res.end('ok'), { public: true });
  });
  after(() => f.stop());

  it('listens on loopback by default', async () => {
    const g = f.track(new HubGateway({ address: { path: f.socketPath } }));
    const { host } = await g.listen();
    expect(host).to.equal('127.0.0.1');
  });

  it('refuses requests the authorize hook refuses with 401 (bearer token), WebSocket upgrades too; public mounts pass', async () => {
    let res = await postJson(`${securedBase}/channels/math/add`, '{"a":1,"b":1}');
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.equal('Bearer');
    expect(((await res.json()) as { code: string }).code).to.equal('PIPEIO_ERR_AUTH');
    res = await postJson(`${securedBase}/channels/math/add`, '{"a":1,"b":1}', { authorization: 'Bearer s3cret' });
    expect(await res.json()).to.equal(2);
    res = await fetch(`${securedBase}/openapi.json`);
    expect(res.status).to.equal(401);
    await res.arrayBuffer();
    res = await fetch(`${securedBase}/healthz`);
    expect(await res.text()).to.equal('ok');
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${securedBase.replace('http', 'ws')}/channels/math/ws`);
      ws.on('unexpected-response', (_q, r) => resolve(r.statusCode!));
      ws.on('error', () => undefined);
    });
    expect(status).to.equal(401);
  });

  it('writes no CORS header unless configured; configured, it answers preflights for allowed origins only', async () => {
    let res = await postJson(`${f.base}/channels/math/add`, '{"a":1,"b":1}', { origin: 'https://app.example' });
    expect(res.headers.get('access-control-allow-origin')).to.equal(null);
    await res.arrayBuffer();
    res = await fetch(`${securedBase}/channels/math/add`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(res.status).to.equal(204);
    expect(res.headers.get('access-control-allow-origin')).to.equal('https://app.example');
    expect(res.headers.get('access-control-allow-headers')).to.include('authorization');
    res = await fetch(`${securedBase}/channels/math/add`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(res.headers.get('access-control-allow-origin')).to.equal(null);
    await res.arrayBuffer();
  });

  it('refuses path segments that decode to dot segments, control characters or bad escapes (400), never reaching the hub', async () => {
    const port = Number(new URL(f.base).port);
    for (const path of ['/channels/%2e%2e/add', '/channels/math/%2E', '/channels/math%00/add', '/channels/math/a%0d%0aset-cookie:%20x', '/channels/math/%zz']) {
      const answer = await rawHttp(port, `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
      expect(answer, path).to.match(/^HTTP\/1\.1 400 /);
      expect(answer.toLowerCase(), path).not.to.include('set-cookie');
    }
    const split = await rawHttp(port, `GET /openapi.json HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-a: b\r\n\r\n`);
    expect(split).to.match(/^HTTP\/1\.1 200 /);
  });

  it('keeps header text from providers from injecting headers (CR/LF in type, name, etag)', async () => {
    const res = await fetch(`${f.base}/channels/math/files/file-evil`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/octet-stream');
    expect(res.headers.get('set-cookie')).to.equal(null);
    expect(res.headers.get('x-injected')).to.equal(null);
    expect(res.headers.get('etag')).to.equal(null);
    expect(res.headers.get('content-disposition')).to.equal(`attachment; filename="x___y.txt"; filename*=UTF-8''x%22%0D%0Ay.txt`);
    expect(await res.text()).to.equal('z');
  });

  it('never shows an internal error: a throwing authorize hook is a 403 with its message, a bug is a bare 500', async () => {
    const g = f.track(
      new HubGateway({ address: { path: f.socketPath } }, {
        authorize: () => {
          throw new Error('token expired');
        },
      }),
    );
    const { port } = await g.listen();
    g.mount('/bug', () => {
      throw new TypeError('secret detail');
    }, { public: true });
    let res = await fetch(`http://127.0.0.1:${port}/openapi.json`);
    expect(res.status).to.equal(403);
    expect(((await res.json()) as { message: string }).message).to.equal('token expired');
    res = await fetch(`http://127.0.0.1:${port}/bug`);
    expect(res.status).to.equal(500);
    expect(await res.text()).not.to.include('secret detail');
  });
});
