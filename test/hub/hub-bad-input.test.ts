import { expect } from 'chai';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { encodeFrame } from '../../lib/hub/protocol/codec';
import { Hub } from '../../lib/hub/server/hub';
import { makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';
import { HubFixture } from './hub-fixture';
import { RawClient } from './raw-client';

function frameOf(payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(payload.length, 0);
  return Buffer.concat([h, payload]);
}

describe('Hub bad input', () => {
  const fx = new HubFixture();
  afterEach(() => fx.stop());

  /** Sends `bytes` from a fresh identified client; expects a coded error and a close, while a bystander keeps working. */
  async function expectRejected(bytes: Buffer, code: string): Promise<void> {
    const bystander = fx.clients.find((c) => !c.closed) ?? (await fx.client(`by-${Math.random()}`));
    const bad = await fx.client(`bad-${Math.random()}`);
    bad.writeRaw(bytes);
    const err = await bad.nextOf('error');
    expect(err['code']).to.equal(code);
    await bad.closedPromise;
    bystander.send({ type: 'ping' });
    await bystander.nextOf('pong');
  }

  it('answers garbage, non-maps, invalid UTF-8, unknown types and oversized headers with a code and a close', async () => {
    await fx.start({ maxFrameSize: 1024 * 1024 });
    const seen: string[] = [];
    fx.hub.on('clientError', (err) => seen.push(err.code));
    await expectRejected(frameOf(Buffer.from('c1c1c1', 'hex')), 'PIPEIO_ERR_PROTOCOL');
    await expectRejected(frameOf(Buffer.from('93010203', 'hex')), 'PIPEIO_ERR_PROTOCOL');
    await expectRejected(frameOf(Buffer.from('82a474797065a470696e67a173a2c328', 'hex')), 'PIPEIO_ERR_PROTOCOL');
    await expectRejected(encodeFrame({ type: 'launch_missiles' }), 'PIPEIO_ERR_PROTOCOL');
    await expectRejected(encodeFrame({ type: 'constructor' }), 'PIPEIO_ERR_PROTOCOL'); // never a prototype member
    await expectRejected(encodeFrame({ type: 'toString' }), 'PIPEIO_ERR_PROTOCOL');
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(0xfffffff0, 0);
    await expectRejected(huge, 'PIPEIO_ERR_FRAME_TOO_LARGE');
    expect(seen).to.include.members(['PIPEIO_ERR_PROTOCOL', 'PIPEIO_ERR_FRAME_TOO_LARGE']);
    expect(fx.hub.stats().clients).to.equal(1);
  });

  it('answers a bad field with a coded error response and keeps the connection', async () => {
    await fx.start();
    const c = await fx.client('C');
    const res = await c.request({ type: 'call', channel: 7, event: 'e', request_id: 'r' });
    expect(res['code']).to.equal('PIPEIO_ERR_PROTOCOL');
    const res2 = await c.request({ type: 'set_password', channel: 'c', password: null, request_id: 'p' });
    expect(res2['code']).to.equal('PIPEIO_ERR_PROTOCOL');
    c.send({ type: 'ping' });
    await c.nextOf('pong');
  });

  it('closes a client that never identifies, and one that sends anything else first', async () => {
    await fx.start({ handshakeTimeout: 200 });
    const silent = await fx.raw();
    await silent.closedPromise;
    expect((silent.frames[0] ?? {})['code']).to.equal('PIPEIO_ERR_TIMEOUT');
    const rude = await fx.raw();
    rude.send({ type: 'broadcast', channel: 'c', event: 'e' });
    expect((await rude.nextOf('error'))['code']).to.equal('PIPEIO_ERR_PROTOCOL');
    await rude.closedPromise;
  });

  it('closes an idle connection after idleTimeout and a half-sent frame after dataTimeout', async () => {
    await fx.start({ idleTimeout: 300, dataTimeout: 300 });
    const idle = await fx.client('I');
    await idle.closedPromise;
    const half = await fx.client('H');
    half.writeRaw(Buffer.from([0, 0, 0, 10, 0x81]));
    await half.closedPromise;
    expect(fx.hub.stats().clients).to.equal(0);
  });

  it('closes a client that never reads as a slow consumer, and bounds its queue', async function () {
    this.timeout(30000);
    await fx.start({ maxQueueBytes: 4 * 1024 * 1024 });
    const reader = await fx.client('R');
    await reader.open('flood');
    reader.socket.pause(); // never reads again
    const sender = await fx.client('S');
    const blob = Buffer.alloc(64 * 1024, 1);
    let closedSeen = false;
    fx.hub.on('disconnect', (id) => {
      if (id === 'R') closedSeen = true;
    });
    // 16 MiB of broadcasts at a reader that takes nothing
    for (let i = 0; i < 256 && !closedSeen; i++) {
      sender.send({ type: 'broadcast', channel: 'flood', event: 'e', data: blob });
      if (i % 16 === 15) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => closedSeen, 'the slow consumer to be closed', 10000);
    sender.send({ type: 'ping' });
    await sender.nextOf('pong');
  });

  it('keeps serving others while one client floods calls at a missing provider', async () => {
    await fx.start();
    const flooder = await fx.client('F');
    const calm = await fx.client('C');
    const p = await fx.client('P');
    await p.provide('m', 'e');
    const burst = Buffer.concat(Array.from({ length: 20000 }, (_, i) => encodeFrame({ type: 'call', channel: 'm', event: 'none', request_id: `f${i}` })));
    flooder.writeRaw(burst);
    calm.send({ type: 'call', channel: 'm', event: 'e', request_id: 'mine' });
    const call = await p.nextOf('call');
    p.send({ type: 'response', request_id: call['request_id'], target_id: 'C', data: 'ok' });
    expect((await calm.nextOf('response', 'mine'))['data']).to.equal('ok');
    await waitFor(() => flooder.frames.length >= 20000, 'all flood replies');
    expect(fx.hub.stats().pendingCalls).to.equal(0);
  });
});

describe('Hub listeners', () => {
  let dir: string | undefined;
  afterEach(() => removeTempDir(dir));

  it('creates the socket 0600 whatever the umask, replaces a stale one, refuses a live hub and a non-socket', async () => {
    dir = makeTempDir('hubl');
    const sock = path.join(dir, 'h.sock');
    // A socket file nobody listens on, as a crashed hub leaves it: a process killed while it listens.
    spawnSync(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))", sock]);
    expect(fs.lstatSync(sock).isSocket()).to.equal(true);
    const old = process.umask(0);
    const hub = new Hub({ serverId: 'L' });
    try {
      await hub.listen({ path: sock });
      process.umask(old);
      expect(fs.statSync(sock).mode & 0o777).to.equal(0o600);
      const second = new Hub({ serverId: 'L2' });
      const err = await second.listen({ path: sock }).catch((e) => e);
      expect(err.code).to.equal('PIPEIO_ERR_ADDRESS_IN_USE');
      await second.stop();
      const tcp = await hub.listen({ host: '127.0.0.1', port: 0 });
      const c = await RawClient.identified(tcp as { host: string; port: number }, 'T');
      c.close();
    } finally {
      process.umask(old);
      await hub.stop();
    }
    expect(fs.existsSync(sock)).to.equal(false);
    fs.writeFileSync(sock, 'precious');
    const h3 = new Hub();
    const err = await h3.listen({ path: sock }).catch((e) => e);
    expect(err.code).to.equal('PIPEIO_ERR_NOT_A_SOCKET');
    expect(fs.readFileSync(sock, 'utf8')).to.equal('precious');
    await h3.stop();
  });

  it('stop() is idempotent and closes clients', async () => {
    dir = makeTempDir('hubl');
    const hub = new Hub();
    const addr = await hub.listen({ path: path.join(dir, 'h.sock') });
    const c = await RawClient.identified(addr as { path: string }, 'A');
    await Promise.all([hub.stop(), hub.stop()]);
    await c.closedPromise;
    await hub.stop();
    expect(hub.state).to.equal('closed');
  });
});
