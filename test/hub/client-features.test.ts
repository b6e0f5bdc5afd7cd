import { expect } from 'chai';
import * as net from 'node:net';
import { PipeIOError } from '../../lib/errors';
import type { HubMessage } from '../../lib/hub/protocol/messages';
import { decodeClientFrame, encodeFrame } from '../../lib/hub/protocol/codec';
import { FrameReader } from '../../lib/hub/protocol/frame-reader';
import { channelProof, deriveMessageKey, signFrame } from '../../lib/hub/security/signing';
import { ClientFixture, expectCode, nextEvent, waitFor } from './client-fixture';

describe('HubClient features', () => {
  let fx: ClientFixture;

  afterEach(async () => {
    await fx.stop();
  });

  describe('broadcast, send, onReceive', () => {
    beforeEach(async () => {
      fx = await ClientFixture.start();
    });

    it('delivers broadcasts to every other opener, event and generic listeners', async () => {
      const a = await (await fx.client({ clientId: 'a' })).open('news');
      const b = await (await fx.client({ clientId: 'b' })).open('news');
      const c = await (await fx.client({ clientId: 'c' })).open('news');
      const seen: string[] = [];
      b.onReceive('alert', (msg) => void seen.push(`b:alert:${String(msg.data)}`));
      b.onReceive((msg) => void seen.push(`b:any:${String(msg.event)}`));
      const off = c.onReceive('alert', (msg) => void seen.push(`c:alert:${String(msg.data)}:${String(msg.sender_id)}`));
      a.onReceive(() => void seen.push('a:self'));
      await a.broadcast('alert', 'fire');
      await waitFor(() => seen.length === 3, 'three deliveries');
      expect(seen.sort()).to.deep.equal(['b:alert:fire', 'b:any:alert', 'c:alert:fire:a']);
      off();
      await a.broadcast('alert', 'again');
      await waitFor(() => seen.length === 5, 'b again');
      expect(seen.filter((s) => s.startsWith('c:'))).to.have.length(1);
    });

    it('sends to one provider: its handler and listeners hear it, nothing is answered', async () => {
      const p = await (await fx.client()).open('logs');
      const got: unknown[] = [];
      await p.addEvent('log', async (msg) => void got.push(['handler', msg.data]));
      p.onReceive('log', (msg) => void got.push(['listener', msg.data, msg.type]));
      const s = await (await fx.client()).open('logs');
      await s.send('log', { line: 1 });
      await waitFor(() => got.length === 2, 'handler and listener');
      expect(got).to.deep.equal([
        ['handler', { line: 1 }],
        ['listener', { line: 1 }, 'send'],
      ]);
    });

    it('reports a throwing listener as an error event (PIPEIO_ERR_HANDLER)', async () => {
      const client = await fx.client();
      const ch = await client.open('bad');
      ch.onReceive('x', () => {
        throw new Error('listener broke');
      });
      const errored = nextEvent<[PipeIOError]>(client, 'error');
      await (await (await fx.client()).open('bad')).broadcast('x', 1);
      const [err] = await errored;
      expect(err.code).to.equal('PIPEIO_ERR_HANDLER');
    });
  });

  describe('pub/sub', () => {
    beforeEach(async () => {
      fx = await ClientFixture.start();
    });

    it('publishes to subscribers with first/last notices to the owner', async () => {
      const owner = await (await fx.client({ clientId: 'owner' })).open('topics');
      const notices: string[] = [];
      owner.onReceive('subscription.news.first', () => void notices.push('first'));
      owner.onReceive('subscription.news.last', () => void notices.push('last'));
      await owner.addSubscription('news', { type: 'object' });
      const s1 = await (await fx.client()).open('topics');
      const s2 = await (await fx.client()).open('topics');
      const got1: unknown[] = [];
      const got2: unknown[] = [];
      await s1.subscribe('news', (msg) => void got1.push(msg.data));
      await waitFor(() => notices.length === 1, 'first notice');
      await s2.subscribe('news', (msg) => void got2.push(msg.data));
      await owner.publish('news', { headline: 'hi' });
      await waitFor(() => got1.length === 1 && got2.length === 1, 'both subscribers');
      expect(got1).to.deep.equal([{ headline: 'hi' }]);
      await s1.unsubscribe('news');
      await owner.publish('news', { headline: 'again' });
      await waitFor(() => got2.length === 2, 'second publication');
      expect(got1).to.have.length(1);
      expect(notices).to.deep.equal(['first']);
      await s2.unsubscribe('news');
      await waitFor(() => notices.length === 2, 'last notice');
      expect(notices).to.deep.equal(['first', 'last']);
      await owner.removeSubscription('news');
      await expectCode(owner.publish('news', 3), 'PIPEIO_ERR_FORBIDDEN');
    });

    it('refuses reserved and owned topics with codes', async () => {
      const a = await (await fx.client()).open('t2');
      await a.addSubscription('mine');
      const b = await (await fx.client()).open('t2');
      await expectCode(b.addSubscription('mine'), 'PIPEIO_ERR_CONFLICT');
      await expectCode(b.addSubscription('subscription.x'), 'PIPEIO_ERR_RESERVED');
      await expectCode(b.removeSubscription('mine'), 'PIPEIO_ERR_FORBIDDEN');
    });

    it('explore() lists own and remote events and subscriptions', async () => {
      const p = await (await fx.client({ clientId: 'p' })).open('ex');
      await p.addEvent('add', async () => 1, { parameters: { title: 'In' }, returns: { title: 'Out' } });
      await p.addEvent('tick', async function* () {
        yield 1;
      });
      await p.addSubscription('feed', { title: 'Feed' });
      const c = await (await fx.client({ clientId: 'c' })).open('ex'); // sees them in channel_sync
      const view = await c.explore();
      expect(view.events['add']).to.deep.equal({ owner: 'p', is_stream: false, parameters: { title: 'In' }, returns: { title: 'Out' } });
      expect(view.events['tick']).to.include({ owner: 'p', is_stream: true });
      expect(view.subscriptions['feed']).to.deep.equal({ owner: 'p', returns: { title: 'Feed' } });
      expect(view.events).not.to.have.property('feed');
      const cClient = fx.clients[1]!;
      const meta = nextEvent<[HubMessage]>(cClient, 'metadata');
      await p.addSubscription('feed2', { title: 'Feed2' }); // a metadata_update
      const [update] = await meta;
      expect(update['stype']).to.equal('subscription');
      const after = await c.explore();
      expect(after.subscriptions['feed2']).to.deep.equal({ owner: 'p', returns: { title: 'Feed2' } });
      const own = await p.explore();
      expect(own.events['add']!.owner).to.equal('p');
      expect(own.subscriptions['feed']).to.deep.equal({ owner: 'p', returns: { title: 'Feed' } });
    });

    it('listMembers() lists the members, owner first', async () => {
      const a = await (await fx.client({ clientId: 'm1' })).open('mem');
      await (await fx.client({ clientId: 'm2' })).open('mem');
      const members = await a.listMembers();
      expect(members.map((m) => [m.id, m.mode, m.is_local])).to.deep.equal([
        ['m1', 'client', true],
        ['m2', 'client', true],
      ]);
    });
  });

  describe('groups', () => {
    for (const lbPolicy of ['round-robin', 'least-active'] as const) {
      it(`splits 4 concurrent calls 2/2 over 2 providers (${lbPolicy})`, async () => {
        fx = await ClientFixture.start({ lbPolicy });
        const hits: string[] = [];
        const release: Array<() => void> = [];
        for (const id of ['w1', 'w2']) {
          const ch = await (await fx.client({ clientId: id })).open('jobs');
          await ch.group('workers').addEvent('task', (msg) =>
            new Promise((resolve) => {
              hits.push(id);
              release.push(() => resolve(`${id}:${String(msg.data)}`));
            }),
          );
        }
        const caller = await (await fx.client()).open('jobs');
        const calls = [1, 2, 3, 4].map((n) => caller.group('workers').call('task', n));
        await waitFor(() => hits.length === 4, 'four calls routed');
        for (const r of release) r();
        const results = (await Promise.all(calls)).map((r) => r.data);
        expect(hits.filter((h) => h === 'w1')).to.have.length(2);
        expect(hits.filter((h) => h === 'w2')).to.have.length(2);
        expect(results).to.have.length(4);
        expect(caller.group('workers').eventName('task')).to.equal('workers.task');
      });
    }

    it('round-robins sequential calls p1, p2, p1, p2 with an unnamed group', async () => {
      fx = await ClientFixture.start({ lbPolicy: 'round-robin' });
      for (const id of ['p1', 'p2']) {
        await (await (await fx.client({ clientId: id })).open('rr')).group().addEvent('who', async () => id);
      }
      const caller = await (await fx.client()).open('rr');
      const seq: unknown[] = [];
      for (let i = 0; i < 4; i++) seq.push((await caller.call('who')).data);
      expect(seq).to.deep.equal(['p1', 'p2', 'p1', 'p2']);
    });
  });

  describe('passwords and signatures', () => {
    beforeEach(async () => {
      fx = await ClientFixture.start();
    });

    async function protectedChannel(): Promise<void> {
      const owner = await fx.client({ clientId: 'owner' });
      await owner.open('vault');
      await owner.setPassword('vault', 'pw');
    }

    it('refuses an open without password (PIPEIO_ERR_AUTH) and accepts the right one', async () => {
      await protectedChannel();
      const c = await fx.client();
      const err = await expectCode(c.open('vault'), 'PIPEIO_ERR_AUTH');
      expect(err.message).to.equal('Channel vault requires authentication, but no password was provided.');
      await expectCode(c.open('vault', { password: 'nope' }), 'PIPEIO_ERR_AUTH');
      const ch = await c.open('vault', { password: 'pw' });
      expect(ch.password).to.equal('pw');
    });

    it('refuses a password on an unprotected channel, as comm-ipc does', async () => {
      await expectCode((await fx.client()).open('open', { password: 'x' }), 'PIPEIO_ERR_AUTH');
    });

    it('refuses setPassword from a non-owner with PIPEIO_ERR_FORBIDDEN', async () => {
      await protectedChannel();
      await expectCode((await fx.client()).setPassword('vault', 'mine'), 'PIPEIO_ERR_FORBIDDEN');
    });

    it('signs calls and broadcasts between two clients, and verifies them', async () => {
      await protectedChannel();
      const p = await (await fx.client({ clientId: 'prov' })).open('vault', { password: 'pw' });
      const seen: HubMessage[] = [];
      await p.addEvent('add', async (msg) => {
        seen.push(msg);
        return (msg.data as number[]).reduce((x, y) => x + y, 0);
      });
      p.onReceive('note', (msg) => void seen.push(msg));
      const c = await (await fx.client({ clientId: 'cal' })).open('vault', { password: 'pw' });
      expect((await c.call('add', [1, 2.5, 3])).data).to.equal(6.5);
      await c.broadcast('note', { s: 'ünïcode' });
      await waitFor(() => seen.length === 2, 'broadcast');
      for (const m of seen) expect(m.signature).to.match(/^[0-9a-f]{64}$/);
      expect(seen[1]!.data).to.deep.equal({ s: 'ünïcode' });
    });

    it('rejects Buffers on a password channel with PIPEIO_ERR_INVALID_SIGNATURE before sending', async () => {
      await protectedChannel();
      const c = await (await fx.client()).open('vault', { password: 'pw' });
      await expectCode(c.call('x', Buffer.from('raw')), 'PIPEIO_ERR_INVALID_SIGNATURE');
      await expectCode(c.broadcast('x', { b: Buffer.from('raw') }), 'PIPEIO_ERR_INVALID_SIGNATURE');
    });

    it('drops a broadcast with a wrong signature and answers a badly signed call with an error', async () => {
      await protectedChannel();
      const client = await fx.client({ clientId: 'victim' });
      const p = await client.open('vault', { password: 'pw' });
      const got: unknown[] = [];
      p.onReceive('note', (msg) => void got.push(msg.data));
      await p.addEvent('add', async () => 'ran');
      const dropped = nextEvent<[HubMessage, PipeIOError]>(client, 'dropped');
      const raw = await RawPeer.join(fx.socketPath, 'forger', 'vault', 'pw');
      const wrongKey = await deriveMessageKey('not-pw', 'vault');
      const base = {
        channel: 'vault',
        sender_id: 'forger',
        timestamp: Math.floor(Date.now() / 1000),
        target_id: null,
        is_stream: false,
        is_final: true,
        origin_server_id: 'hub-1',
        sub_name: null,
      };
      const note = { type: 'broadcast', ...base, event: 'note', data: 'forged', request_id: null };
      raw.send({ ...note, signature: signFrame(wrongKey, note) });
      const [msg, reason] = await dropped;
      expect(msg.data).to.equal('forged');
      expect(reason.code).to.equal('PIPEIO_ERR_INVALID_SIGNATURE');
      const call = { type: 'call', ...base, event: 'add', data: 1, request_id: 'r1' };
      raw.send({ ...call, signature: signFrame(wrongKey, call) });
      const res = await raw.next((f) => f['type'] === 'response');
      expect(res['error']).to.equal('Invalid signature for channel vault');
      const goodKey = await deriveMessageKey('pw', 'vault');
      const good = { ...note, data: 'genuine' };
      raw.send({ ...good, signature: signFrame(goodKey, good) });
      await waitFor(() => got.length === 1, 'the genuine broadcast');
      expect(got).to.deep.equal(['genuine']);
      raw.close();
    });

    it('emits "error" when the owner changes the password', async () => {
      const owner = await fx.client({ clientId: 'owner' });
      await owner.open('room');
      const member = await fx.client();
      await member.open('room');
      const errored = nextEvent<[PipeIOError]>(member, 'error');
      await owner.setPassword('room', 'new');
      const [err] = await errored;
      expect(err.code).to.equal('PIPEIO_ERR_CHANNEL_TERMINATED');
      expect(err.remoteMessage).to.equal('Channel password changed, please reconnect');
    });
  });

  describe('connection secret', () => {
    beforeEach(async () => {
      fx = await ClientFixture.start({ secret: 'top-secret' });
    });

    it('answers conn_challenge with the right secret', async () => {
      const c = await fx.client({ secret: 'top-secret', clientId: 'sec' });
      expect(c.clientId).to.equal('sec');
      await (await c.open('x')).addEvent('e', async () => 1);
    });

    it('fails with PIPEIO_ERR_AUTH for a wrong or missing secret', async () => {
      const err = await expectCode(fx.newClient({ secret: 'wrong' }).connect(), 'PIPEIO_ERR_AUTH');
      expect(err.remoteMessage).to.equal('Authentication failed');
      await expectCode(fx.newClient().connect(), 'PIPEIO_ERR_AUTH');
    });
  });
});

/** A bare wire peer that can forge frames (joins a password channel by proof). */
class RawPeer {
  private readonly reader = new FrameReader(1 << 24);
  private readonly frames: Record<string, unknown>[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const p of this.reader.push(chunk)) this.frames.push(decodeClientFrame(p));
    });
    socket.on('error', () => undefined);
  }

  static async join(socketPath: string, id: string, channel: string, password: string): Promise<RawPeer> {
    const socket = net.connect({ path: socketPath });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const peer = new RawPeer(socket);
    peer.send({ type: 'identify', client_id: id });
    await peer.next((f) => f['type'] === 'identified');
    peer.send({ type: 'register', request_id: 'open', client_id: id, channel, is_provider: false });
    const ch = await peer.next((f) => f['type'] === 'auth_challenge');
    peer.send({ type: 'register', request_id: 'open', channel, proof: channelProof(password, String(ch['challenge'])), challenge_id: ch['challenge_id'] });
    await peer.next((f) => f['type'] === 'response' && f['request_id'] === 'open');
    return peer;
  }

  send(frame: object): void {
    this.socket.write(encodeFrame(frame));
  }

  async next(match: (f: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await waitFor(() => {
      const i = this.frames.findIndex(match);
      if (i >= 0) found = this.frames.splice(i, 1)[0];
      return found !== undefined;
    }, 'a matching frame');
    return found!;
  }

  close(): void {
    this.socket.destroy();
  }
}
