import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PipeIOError } from '../../lib/errors';
import { HubClient } from '../../lib/hub/client/hub-client';
import { decodeClientFrame, encodeFrame } from '../../lib/hub/protocol/codec';
import { FrameReader } from '../../lib/hub/protocol/frame-reader';
import { Hub } from '../../lib/hub/server/hub';
import { reconnectDelay } from '../../lib/hub/client/reconnect';
import { ClientFixture, collect, deferred, expectCode, nextEvent, waitFor } from './client-fixture';
import { needsTools } from '../fixtures/tools';

describe('reconnectDelay', () => {
  it('doubles from 100 ms, caps at 30 s, and jitters within [50%, 100%)', () => {
    expect([1, 2, 3, 4].map((n) => reconnectDelay(n, () => 0.999999))).to.deep.equal([100, 200, 400, 800]);
    expect([1, 2, 3].map((n) => reconnectDelay(n, () => 0))).to.deep.equal([50, 100, 200]);
    expect(reconnectDelay(20, () => 0.999999)).to.equal(30000);
    expect(reconnectDelay(1000, () => 0)).to.equal(15000);
  });
});

describe('HubClient link loss, reconnect, close', () => {
  let fx: ClientFixture;

  beforeEach(async () => {
    fx = await ClientFixture.start();
  });

  afterEach(async () => {
    await fx.stop();
  });

  it('fails pending calls and streams with PIPEIO_ERR_CONNECTION when the link drops', async () => {
    const entered = deferred();
    const p = await (await fx.client({ autoReconnect: false })).open('drop');
    await p.addEvent('hang', () => {
      entered.resolve();
      return new Promise(() => undefined);
    });
    await p.addEvent('trickle', async function* () {
      yield 'one';
      await new Promise(() => undefined);
    });
    const caller = await fx.client({ autoReconnect: false });
    const ch = await caller.open('drop');
    const call = expectCode(ch.call('hang'), 'PIPEIO_ERR_CONNECTION');
    const stream = ch.stream('trickle');
    expect((await stream.next()).value?.data).to.equal('one');
    const streamFailed = expectCode(stream.next(), 'PIPEIO_ERR_CONNECTION');
    await entered.promise;
    const disconnected = nextEvent<[PipeIOError?]>(caller, 'disconnect');
    const errors: PipeIOError[] = [];
    caller.on('error', (e) => errors.push(e));
    await fx.hub.stop();
    await call;
    await streamFailed;
    const [why] = await disconnected;
    expect(why?.code).to.equal('PIPEIO_ERR_CONNECTION');
    expect(errors).to.deep.equal([]); // a hub stopping is no 'error'
    expect(caller.state).to.equal('idle');
    await expectCode(ch.call('hang'), 'PIPEIO_ERR_CONNECTION');
  });

  it('reconnects after a hub restart and replays channels, events, groups, subscriptions and subscribes', async function () {
    this.timeout(15000);
    const provider = await fx.client({ clientId: 'prov' });
    const math = await provider.open('math');
    await math.addEvent('add', async (msg) => (msg.data as number[])[0]! + (msg.data as number[])[1]!, {
      parameters: { title: 'Pair' },
    });
    await math.group('workers').addEvent('task', async (msg) => `done ${String(msg.data)}`);
    await math.addEvent('count', async function* () {
      yield 1;
      yield 2;
    });
    await math.addSubscription('news', { title: 'News' });
    const vault = await provider.open('vault');
    await provider.setPassword('vault', 'pw');
    await vault.addEvent('secret', async () => 'classified');

    const worker2 = await fx.client({ clientId: 'worker2' });
    await (await worker2.open('math')).group('workers').addEvent('task', async (msg) => `w2 ${String(msg.data)}`);

    const sub = await fx.client({ clientId: 'sub' });
    const subMath = await sub.open('math');
    const news: unknown[] = [];
    await subMath.subscribe('news', (msg) => void news.push(msg.data));
    const subVault = await sub.open('vault', { password: 'pw' });

    const reconnected = [provider, worker2, sub].map((c) => nextEvent(c, 'reconnect', 10000));
    const disconnected = nextEvent(provider, 'disconnect');
    await fx.restartHub();
    await disconnected;
    await Promise.all(reconnected);
    expect(provider.serverId).to.equal('hub-2');

    // Nothing below was redone by the user.
    expect((await subMath.call('add', [2, 3])).data).to.equal(5);
    const groupAnswers = [await subMath.group('workers').call('task', 1), await subMath.group('workers').call('task', 2)];
    expect(groupAnswers.map((r) => r.data).sort()).to.have.length(2);
    expect(await collect(subMath.stream('count'))).to.deep.equal([1, 2]);
    await math.publish('news', 'after restart');
    await waitFor(() => news.length === 1, 'a publication after the restart');
    expect(news).to.deep.equal(['after restart']);
    expect((await subVault.call('secret')).data).to.equal('classified');
    const view = await subMath.explore();
    expect(view.events['add']).to.include({ owner: 'prov' });
    expect(view.events['add']!.parameters).to.deep.equal({ title: 'Pair' });
    const members = await (await (await fx.client()).open('vault', { password: 'pw' })).listMembers();
    expect(members.map((m) => m.id)).to.include.members(['prov', 'sub']);
  });

  it('gives up after reconnectMaxTries failed attempts and closes', async () => {
    const c = await fx.client({ reconnectMaxTries: 2 });
    const closed = nextEvent(c, 'close');
    const errors: PipeIOError[] = [];
    c.on('error', (err) => errors.push(err));
    await fx.hub.stop();
    await closed;
    expect(c.state).to.equal('closed');
    expect(errors.some((e) => e.code === 'PIPEIO_ERR_CONNECTION' && /gave up/.test(e.message))).to.equal(true);
  });

  it('stops reconnecting when the restarted hub refuses the credentials (PIPEIO_ERR_AUTH)', async () => {
    const c = await fx.client({ clientId: 'nosecret' });
    const closed = nextEvent(c, 'close', 10000);
    const errors: PipeIOError[] = [];
    c.on('error', (err) => errors.push(err));
    await fx.restartHub({ secret: 'now-required' });
    await closed;
    expect(errors.map((e) => e.code)).to.include('PIPEIO_ERR_AUTH');
  });

  it("stops reconnecting on 'Invalid channel password' during the replay", async () => {
    const owner = await fx.client({ clientId: 'owner' });
    await owner.open('vault');
    await owner.setPassword('vault', 'pw');
    const closed = nextEvent(owner, 'close', 10000);
    const errors: PipeIOError[] = [];
    owner.on('error', (err) => errors.push(err));
    await fx.restartHub({ channelPasswords: { vault: 'changed' } });
    await closed;
    const auth = errors.find((e) => e.code === 'PIPEIO_ERR_AUTH');
    expect(auth?.remoteMessage).to.equal('Invalid channel password');
  });

  it('connect() after a drop without autoReconnect replays the channels', async () => {
    const p = await fx.client({ clientId: 'manual', autoReconnect: false });
    await (await p.open('m')).addEvent('ping', async () => 'pong');
    const dropped = nextEvent(p, 'disconnect');
    await fx.restartHub();
    await dropped;
    const again = nextEvent(p, 'reconnect');
    await p.connect();
    await again;
    const caller = await (await fx.client()).open('m');
    expect((await caller.call('ping')).data).to.equal('pong');
  });

  describe('#close', () => {
    it('rejects pending calls and streams with PIPEIO_ERR_CLOSED, then every operation', async () => {
      const p = await (await fx.client()).open('c');
      await p.addEvent('hang', () => new Promise(() => undefined));
      await p.addEvent('trickle', async function* () {
        yield 1;
        await new Promise(() => undefined);
      });
      const c = await fx.client();
      const ch = await c.open('c');
      const call = expectCode(ch.call('hang'), 'PIPEIO_ERR_CLOSED');
      const stream = ch.stream('trickle');
      await stream.next();
      const streamFailed = expectCode(stream.next(), 'PIPEIO_ERR_CLOSED');
      const closed = nextEvent(c, 'close');
      await Promise.all([c.close(), c.close()]);
      await call;
      await streamFailed;
      await closed;
      expect(c.state).to.equal('closed');
      await c.close(); // idempotent
      await expectCode(ch.call('hang'), 'PIPEIO_ERR_CLOSED');
      await expectCode(ch.broadcast('x'), 'PIPEIO_ERR_CLOSED');
      await expectCode(c.connect(), 'PIPEIO_ERR_CLOSED');
      await expectCode(c.open('other'), 'PIPEIO_ERR_CLOSED');
    });
  });

  describe('heartbeat', () => {
    let server: net.Server;
    let pings = 0;
    let dir: string;
    const sockets = new Set<net.Socket>();

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-'));
      pings = 0;
      // A hub that identifies, counts pings and never answers them.
      server = net.createServer((s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        const reader = new FrameReader(1 << 20);
        s.on('error', () => undefined);
        s.on('data', (chunk: Buffer) => {
          for (const p of reader.push(chunk)) {
            const f = decodeClientFrame(p);
            if (f['type'] === 'identify') s.write(encodeFrame({ type: 'identified', client_id: f['client_id'], server_id: 'mute' }));
            if (f['type'] === 'ping') pings++;
          }
        });
      });
      await new Promise<void>((r) => server.listen(path.join(dir, 'm.sock'), r));
    });

    afterEach(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('pings every heartbeatInterval and drops a silent hub after idleTimeout', async () => {
      const c = fx.newClient({ heartbeatInterval: 20, idleTimeout: 300, autoReconnect: false }, { path: path.join(dir, 'm.sock') });
      await c.connect();
      const [err] = await nextEvent<[PipeIOError]>(c, 'disconnect');
      expect(err.code).to.equal('PIPEIO_ERR_TIMEOUT');
      expect(pings).to.be.greaterThan(3);
    });
  });

  describe('TLS', () => {
    let dir: string;
    let key: Buffer;
    let cert: Buffer;

    before(function () {
      needsTools('openssl').call(this);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-'));
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
      key = fs.readFileSync(path.join(dir, 'key.pem'));
      cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    });

    after(() => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('talks to a TLS hub with a self-signed certificate', async () => {
      const hub = new Hub({ serverId: 'tls-hub' });
      fx.hubs.push(hub);
      const addr = (await hub.listen({ host: '127.0.0.1', port: 0, tls: { key, cert } })) as { port: number };
      const where = { host: '127.0.0.1', port: addr.port, tls: { ca: cert, servername: 'localhost' } };
      const p = await fx.client({}, where);
      await (await p.open('t')).addEvent('hi', async (msg) => `hi ${String(msg.data)}`);
      const c = await fx.client({}, where);
      expect((await (await c.open('t')).call('hi', 'tls')).data).to.equal('hi tls');
      expect(c.serverId).to.equal('tls-hub');
      const untrusted = new HubClient({ host: '127.0.0.1', port: addr.port, tls: {} }, { autoReconnect: false });
      await expectCode(untrusted.connect(), 'PIPEIO_ERR_CONNECTION');
      await untrusted.close();
    });
  });
});
