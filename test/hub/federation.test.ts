/**
 * Federated hubs through a real nats-server (each hub in its own process):
 * cross-hub calls and streams, groups across hubs, broadcasts, pub/sub,
 * membership notices, passwords. Slow-ish (a process per hub): ~1-2 s each.
 */
import { expect } from 'chai';
import { channelProof } from '../../lib/hub/security/signing';
import * as path from 'node:path';
import { Hub } from '../../lib/hub/server/hub';
import { makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';
import { call, ClusterFixture, membersOf, rid, serve, waitMember } from './cluster-fixture';
import { RawClient, type Frame } from './raw-client';
import { needsTools } from '../fixtures/tools';

async function provide(c: RawClient, channel: string, event: string, opts: { group?: boolean; stream?: boolean } = {}): Promise<void> {
  const id = rid('reg');
  c.send({ type: 'register', request_id: id, channel, is_provider: true, event, is_stream: !!opts.stream, is_group: !!opts.group });
  const res = await c.nextOf('response', id);
  if ('error' in res) throw new Error(String(res['error']));
}

describe('Hub federation (NATS)', function () {
  this.timeout(60_000);
  before(needsTools('nats-server'));
  const fx = new ClusterFixture();
  afterEach(() => fx.stop());

  async function twoHubs(opts: Parameters<ClusterFixture['startHub']>[1] = {}): Promise<void> {
    await fx.nats.start();
    await Promise.all([fx.startHub('A', opts), fx.startHub('B', opts)]);
    await fx.waitMesh(['A', 'B']);
  }

  it('calls a provider on another hub and streams from it in order, final chunk included', async () => {
    await twoHubs();
    const p = await fx.client('B', 'P');
    await provide(p, 'work', 'echo');
    await provide(p, 'work', 'count', { stream: true });
    serve(p, (c) => {
      if (c['event'] === 'echo') return [{ data: { got: c['data'], path: c['path'] } }];
      const n = (c['data'] as Frame)['n'] as number;
      const chunks: Array<Record<string, unknown>> = [];
      for (let i = 0; i < n; i++) chunks.push({ data: i, is_stream: true, is_final: false });
      chunks.push({ data: null, is_stream: true, is_final: true });
      return chunks;
    });
    const c = await fx.client('A', 'C');
    await waitMember(c, 'work', 'P');
    const res = await call(c, 'work', 'echo', { x: 1.5 });
    expect(res).to.not.have.property('error');
    expect((res['data'] as Frame)['got']).to.deep.equal({ x: 1.5 });
    expect((res['data'] as Frame)['path']).to.deep.equal(['A', 'B']);
    expect(res['path']).to.deep.equal(['B', 'A']);
    const id = rid('stream');
    c.send({ type: 'call', channel: 'work', event: 'count', data: { n: 200 }, request_id: id, is_stream: true, is_final: false });
    const got: unknown[] = [];
    for (;;) {
      const f = await c.nextOf('response', id);
      expect(f).to.not.have.property('error');
      if (f['is_final']) break;
      got.push(f['data']);
    }
    expect(got).to.deep.equal([...Array(200).keys()]);
  });

  it('answers a call to an event nobody provides anywhere with the exact text', async () => {
    await twoHubs();
    const c = await fx.client('A', 'C');
    const res = await call(c, 'none', 'x', null);
    expect(res['error']).to.equal('No provider for none:x');
  });

  it('refuses a client id already connected to another hub', async () => {
    await twoHubs();
    const a = await fx.client('A', 'same');
    await a.open('ch');
    const b = await fx.client('B', 'other');
    await waitMember(b, 'ch', 'same');
    await fx.client('B', 'same').then(
      () => expect.fail('the id was accepted twice'),
      (err: Error) => expect(err.message).to.match(/already in use/),
    );
  });

  describe('groups', () => {
    it('round-robin: 1,000 sequential calls over providers on 2 hubs split within 40/60', async () => {
      await twoHubs({ lbPolicy: 'round-robin' });
      const counts: Record<string, number> = { P1: 0, P2: 0 };
      for (const [hub, id] of [['A', 'P1'], ['B', 'P2']] as const) {
        const p = await fx.client(hub, id);
        await provide(p, 'g', 'task', { group: true });
        serve(p, () => {
          counts[id]!++;
          return [{ data: id }];
        });
      }
      for (const hub of ['A', 'B']) {
        const c = await fx.client(hub, `C${hub}`);
        await waitMember(c, 'g', hub === 'A' ? 'P2' : 'P1');
        counts['P1'] = 0;
        counts['P2'] = 0;
        for (let i = 0; i < 1000; i++) {
          const res = await call(c, 'g', 'task', i);
          expect(res).to.not.have.property('error');
        }
        expect(counts['P1']! + counts['P2']!).to.equal(1000);
        expect(counts['P1']).to.be.within(400, 600);
        expect(counts['P2']).to.be.within(400, 600);
      }
    });

    it('least-active: concurrent calls spread by load across hubs', async () => {
      await twoHubs({ lbPolicy: 'least-active' });
      const held: Frame[] = [];
      const counts: Record<string, number> = { P1: 0, P2: 0 };
      const p1 = await fx.client('A', 'P1');
      await provide(p1, 'g', 'task', { group: true });
      serve(p1, (c) => {
        counts['P1']!++;
        held.push(c); // P1 is busy: it holds every call
        return [];
      });
      const p2 = await fx.client('B', 'P2');
      await provide(p2, 'g', 'task', { group: true });
      serve(p2, () => {
        counts['P2']!++;
        return [{ data: 'P2' }];
      });
      const c = await fx.client('A', 'C');
      await waitMember(c, 'g', 'P2');
      // 4 at once: 2 each (0/0, 1/0, 1/1, 2/1).
      const ids = [1, 2, 3, 4].map(() => rid('la'));
      for (const id of ids) c.send({ type: 'call', channel: 'g', event: 'task', data: null, request_id: id });
        await waitFor(() => counts['P1'] === 2 && counts['P2'] === 2, 'a 2/2 split of 4 concurrent calls');
      // P2's two answers back on hub A: A now counts P1 busy (2), P2 idle (0).
      const answered = [await c.nextOf('response'), await c.nextOf('response')];
      expect(answered.map((f) => f['data'])).to.deep.equal(['P2', 'P2']);
      // So the next 10 (sequential) all go to the idle P2 on the other hub.
      for (let i = 0; i < 10; i++) expect((await call(c, 'g', 'task', i))['data']).to.equal('P2');
      expect(counts).to.deep.equal({ P1: 2, P2: 12 });
      for (const h of held) p1.send({ type: 'response', request_id: h['request_id'], target_id: h['sender_id'], data: 'P1' });
      for (const id of ids.filter((x) => !answered.some((f) => f['request_id'] === x))) {
        expect((await c.nextOf('response', id))['data']).to.equal('P1');
      }
    });
  });

  it('broadcasts reach every opener on every hub exactly once', async () => {
    await twoHubs();
    const openers: RawClient[] = [];
    for (const [hub, id] of [['A', 'a1'], ['A', 'a2'], ['B', 'b1'], ['B', 'b2'], ['B', 'b3']] as const) {
      const c = await fx.client(hub, id);
      await c.open('room');
      openers.push(c);
    }
    for (const c of openers) for (const id of ['a1', 'a2', 'b1', 'b2', 'b3']) await waitMember(c, 'room', id);
    for (const from of [openers[0]!, openers[3]!]) {
      from.send({ type: 'broadcast', channel: 'room', event: 'hi', data: 'x' });
    }
    for (const c of openers) {
      const got = [await c.nextOf('broadcast'), ...(c === openers[0] || c === openers[3] ? [] : [await c.nextOf('broadcast')])];
      const rest = (await c.drainUntilPong()).filter((f) => f['type'] === 'broadcast');
      expect(rest, 'duplicates').to.have.length(0);
      expect(got.map((f) => f['sender_id']).sort()).to.deep.equal(c === openers[0] ? ['b2'] : c === openers[3] ? ['a1'] : ['a1', 'b2']);
    }
  });

  it('publishes reach every subscriber on every hub once; first/last go to the owner once', async () => {
    await twoHubs();
    const owner = await fx.client('A', 'O');
    await owner.open('news');
    await owner.request({ type: 'add_subscription', channel: 'news', sub_name: 'daily', return_schema: null, request_id: rid() });
    const s1 = await fx.client('B', 'S1');
    const s2 = await fx.client('A', 'S2');
    const s3 = await fx.client('B', 'S3');
    const [sync] = await s1.open('news');
    expect((sync['subscriptions'] as Frame)['daily']).to.deep.include({ owner: 'O' });
    await s1.request({ type: 'subscribe', channel: 'news', sub_name: 'daily', request_id: rid() });
    expect((await owner.nextOf('receive'))['event']).to.equal('subscription.daily.first');
    await s2.request({ type: 'subscribe', channel: 'news', sub_name: 'daily', request_id: rid() });
    await s3.request({ type: 'subscribe', channel: 'news', sub_name: 'daily', request_id: rid() });
    await waitMember(owner, 'news', 'S1');
    // The owner's hub must know both remote subscribers before it publishes.
    let n = 0;
    await waitFor(async () => {
      owner.send({ type: 'publish', channel: 'news', sub_name: 'daily', data: { n: ++n } });
      const got = await s3.next((f) => f['event'] === 'subscription.daily.data', 200).catch(() => undefined);
      return got;
    }, 'S3 to receive a publication');
    owner.send({ type: 'publish', channel: 'news', sub_name: 'daily', data: { n: 'final' } });
    for (const s of [s1, s2, s3]) {
      await s.next((f) => (f['data'] as Frame)?.['n'] === 'final');
      const again = (await s.drainUntilPong()).filter((f) => (f['data'] as Frame)?.['n'] === 'final');
      expect(again, 'duplicate publication').to.have.length(0);
    }
    expect((await owner.drainUntilPong()).filter((f) => f['type'] === 'receive'), 'a second first').to.have.length(0);
    await s1.request({ type: 'unsubscribe', channel: 'news', sub_name: 'daily', request_id: rid() });
    await s2.request({ type: 'unsubscribe', channel: 'news', sub_name: 'daily', request_id: rid() });
    s3.close(); // the last one leaves by disconnecting, on the other hub
    const last = await owner.nextOf('receive');
    expect(last['event']).to.equal('subscription.daily.last');
    await waitMember(owner, 'news', 'S1');
    expect((await owner.drainUntilPong()).filter((f) => f['type'] === 'receive'), 'a second last').to.have.length(0);
  });

  it('tells openers on every hub once about joins, providers and leaves elsewhere', async () => {
    await twoHubs();
    const x = await fx.client('A', 'X');
    await x.open('ch');
    const y = await fx.client('B', 'Y');
    await y.open('ch');
    const join = await x.next((f) => f['type'] === 'metadata_update' && f['stype'] === 'membership');
    expect(join).to.deep.include({ action: 'join', owner: 'Y', channel: 'ch', is_local: false, path: ['B'] });
    await provide(y, 'ch', 'ev');
    const ev = await x.next((f) => f['type'] === 'metadata_update' && f['stype'] === 'event');
    expect(ev).to.deep.include({ name: 'ev', owner: 'Y' });
    y.close();
    const leave = await x.next((f) => f['type'] === 'metadata_update' && f['action'] === 'leave');
    expect(leave).to.deep.include({ owner: 'Y', channel: 'ch' });
    expect(await membersOf(x, 'ch')).to.deep.equal(['X']);
    const extra = (await x.drainUntilPong()).filter((f) => f['type'] === 'metadata_update' && f['stype'] === 'membership');
    expect(extra, 'duplicate membership notices').to.have.length(0);
  });

  it('a password set through hub A protects the channel on hub B; ownership is cluster-wide', async () => {
    await twoHubs();
    const owner = await fx.client('A', 'O');
    await owner.open('vault');
    const other = await fx.client('B', 'M');
    await waitMember(other, 'vault', 'O');
    // M is not the owner anywhere: O joined first.
    await other.open('vault');
    await waitMember(owner, 'vault', 'M');
    const refused = await other.request({ type: 'set_password', channel: 'vault', password: 'x', request_id: rid() });
    expect(refused['error']).to.equal('Only the channel owner can set or change the password');
    const ok = await owner.request({ type: 'set_password', channel: 'vault', password: 'pw', request_id: rid() });
    expect(ok['data']).to.deep.equal({ success: true });
    // M (on B) is kicked like a local member would be, once.
    const kick = await other.nextOf('error');
    expect(kick['message']).to.equal('Channel password changed, please reconnect');
    const b2 = await fx.client('B', 'N');
    const challenge = (await waitFor(async () => {
      const id = rid('open');
      b2.send({ type: 'register', request_id: id, channel: 'vault', is_provider: false });
      const f = await b2.next((x) => x['request_id'] === id && (x['type'] === 'auth_challenge' || x['type'] === 'response'));
      if (f['type'] === 'response') return undefined;
      return f;
    }, 'hub B to challenge registrations on vault'))!;
    b2.send({ type: 'register', request_id: challenge['request_id'], channel: 'vault', proof: channelProof('wrong', challenge['challenge'] as string), challenge_id: challenge['challenge_id'] });
    expect((await b2.nextOf('response', challenge['request_id'] as string))['error']).to.equal('Invalid channel password');
    const id = rid('open');
    b2.send({ type: 'register', request_id: id, channel: 'vault', is_provider: false });
    const ch2 = await b2.nextOf('auth_challenge', id);
    b2.send({ type: 'register', request_id: id, channel: 'vault', proof: channelProof('pw', ch2['challenge'] as string), challenge_id: ch2['challenge_id'] });
    expect((await b2.nextOf('response', id))['data']).to.deep.include({ authenticated: true });
    expect((await other.drainUntilPong()).filter((f) => f['type'] === 'error'), 'a second kick').to.have.length(0);
  });

  it('an owner leaving under terminate ends the channel for members on every hub, once; the first to come back owns it', async () => {
    await twoHubs({ channelPolicy: 'terminate' });
    const owner = await fx.client('A', 'O');
    await owner.open('t');
    const m = await fx.client('B', 'M');
    await waitMember(m, 't', 'O');
    await m.open('t');
    await provide(m, 't', 'ev');
    const n = await fx.client('A', 'N');
    await waitMember(n, 't', 'M');
    await n.open('t');
    await waitMember(m, 't', 'N');
    owner.close();
    for (const c of [m, n]) {
      const err = await c.nextOf('error');
      expect(err['message']).to.equal('Channel t owner disconnected, channel terminated');
    }
    // M's provider went with the channel, on both hubs.
    await waitFor(async () => (await call(n, 't', 'ev', null))['code'] === 'PIPEIO_ERR_NO_PROVIDER', 'the terminated provider to be gone on A');
    for (const c of [m, n]) expect((await c.drainUntilPong()).filter((f) => f['type'] === 'error'), 'a second terminate').to.have.length(0);
    // M registers again first: it owns the channel now, cluster-wide.
    await m.open('t');
    await waitMember(n, 't', 'M');
    expect((await m.request({ type: 'set_password', channel: 't', password: 'p', request_id: rid() }))['data']).to.deep.equal({ success: true });
  });

  it('keeps no trace of another hub\'s members once they leave (in-process hub A, hub B in a process)', async () => {
    await fx.nats.start();
    const dir = makeTempDir('fed-a');
    const a = new Hub({ serverId: 'A', nats: { servers: [fx.nats.url] } });
    a.on('clientError', () => undefined);
    try {
      await a.listen({ path: path.join(dir, 'a.sock') });
      await fx.startHub('B');
      await waitFor(() => a.routingCore.peerHubs.has('B'), 'A to see B');
      const local = await RawClient.identified({ path: path.join(dir, 'a.sock') }, 'L');
      await local.open('c');
      const bs: RawClient[] = [];
      for (let i = 0; i < 5; i++) {
        const b = await fx.client('B', `b${i}`);
        await b.open('c');
        await provide(b, 'c', `e${i}`, { group: true });
        await b.request({ type: 'subscribe', channel: 'c', sub_name: `t${i}`, request_id: rid() });
        await b.request({ type: 'add_subscription', channel: 'c', sub_name: `own${i}`, request_id: rid() });
        bs.push(b);
      }
      await waitFor(() => a.stats().clients === 6 && a.stats().events === 5 && a.stats().topics === 10, 'A to know B\'s members');
      for (const b of bs) b.close();
      await waitFor(() => {
        const s = a.stats();
        return s.clients === 1 && s.events === 0 && s.topics === 0 && s.channels === 1 && s.pendingCalls === 0;
      }, 'A\'s tables back to its own client');
      local.close();
      await waitFor(() => a.stats().channels === 0, 'the channel to go with the last member');
    } finally {
      await a.stop();
      removeTempDir(dir);
    }
    expect(a.routingCore.clients.size).to.equal(0);
  });
});
