import { expect } from 'chai';
import { channelProof } from '../../lib/hub/security/signing';
import { HubFixture } from './hub-fixture';
import type { RawClient } from './raw-client';

async function openWithPassword(c: RawClient, channel: string, password: string, rid = `o-${channel}`): Promise<Record<string, unknown>> {
  c.send({ type: 'register', request_id: rid, channel, is_provider: false });
  const ch = await c.nextOf('auth_challenge', rid);
  c.send({ type: 'register', request_id: rid, channel, proof: channelProof(password, ch['challenge'] as string), challenge_id: ch['challenge_id'] });
  return c.nextOf('response', rid);
}

describe('Hub channels', () => {
  const fx = new HubFixture();
  afterEach(() => fx.stop());

  describe('pub/sub', () => {
    it('sends first/last to the owner, data to subscribers, and refuses non-owners', async () => {
      await fx.start();
      const owner = await fx.client('O');
      await owner.open('news');
      expect((await owner.request({ type: 'add_subscription', channel: 'news', sub_name: 'daily', return_schema: null, request_id: 'a' }))['data']).to.deep.equal({ success: true });
      const s1 = await fx.client('S1c');
      const s2 = await fx.client('S2c');
      await s1.request({ type: 'subscribe', channel: 'news', sub_name: 'daily', request_id: 's' });
      expect((await owner.nextOf('receive'))).to.deep.include({ event: 'subscription.daily.first', data: { sub_name: 'daily' } });
      await s2.request({ type: 'subscribe', channel: 'news', sub_name: 'daily', request_id: 's' });
      owner.send({ type: 'publish', channel: 'news', sub_name: 'daily', data: { n: 1.5 } });
      for (const s of [s1, s2]) {
        expect(await s.nextOf('receive')).to.deep.include({ event: 'subscription.daily.data', data: { n: 1.5 }, sender_id: 'O', server_id: 'S1' });
      }
      s1.send({ type: 'publish', channel: 'news', sub_name: 'daily', data: 'forged' });
      expect((await s1.nextOf('error'))['code']).to.equal('PIPEIO_ERR_FORBIDDEN');
      await s1.request({ type: 'unsubscribe', channel: 'news', sub_name: 'daily', request_id: 'u' });
      expect((await owner.drainUntilPong()).filter((f) => f['type'] === 'receive')).to.have.length(0);
      s2.close();
      expect((await owner.nextOf('receive'))['event']).to.equal('subscription.daily.last');
    });

    it('uses the exact add_subscription error texts', async () => {
      await fx.start();
      const a = await fx.client('A');
      const b = await fx.client('B');
      const err = async (c: RawClient, m: object): Promise<unknown> => (await c.request({ type: 'add_subscription', request_id: 'x', ...m }))['error'];
      expect(await err(a, { channel: 'c' })).to.equal('channel and sub_name required');
      expect(await err(a, { channel: 'subscription', sub_name: 's' })).to.equal('Channel name subscription is reserved');
      expect(await err(a, { channel: 'c', sub_name: 'subscription.x' })).to.equal('Subscription name subscription.x is reserved');
      await a.request({ type: 'add_subscription', channel: 'c', sub_name: 's', request_id: 'ok' });
      expect(await err(b, { channel: 'c', sub_name: 's' })).to.equal('Subscription s already owned by another client');
      expect((await b.request({ type: 'remove_subscription', channel: 'c', sub_name: 's', request_id: 'r' }))['error']).to.equal('Not the owner or subscription does not exist');
    });

    it('lists subscriptions in channel_sync under param_schema', async () => {
      await fx.start();
      const o = await fx.client('O');
      await o.request({ type: 'add_subscription', channel: 'c', sub_name: 's', return_schema: { title: 'T' }, request_id: 'a' });
      const [sync] = await (await fx.client('X')).open('c');
      expect((sync['subscriptions'] as Record<string, unknown>)['s']).to.deep.equal({ owner: 'O', param_schema: { title: 'T' }, stype: 'subscription' });
    });
  });

  describe('passwords', () => {
    it('challenges registrations, admits the right proof, refuses a wrong one with the exact text', async () => {
      await fx.start({ channelPasswords: { vault: '1234' } });
      const a = await fx.client('A');
      const res = await openWithPassword(a, 'vault', '1234');
      expect(res['data']).to.deep.equal({ channel: 'vault', event: null, authenticated: true });
      const b = await fx.client('B');
      b.send({ type: 'register', request_id: 'r', channel: 'vault', is_provider: false });
      const ch = await b.nextOf('auth_challenge', 'r');
      b.send({ type: 'register', request_id: 'r', channel: 'vault', proof: channelProof('wrong', ch['challenge'] as string), challenge_id: ch['challenge_id'] });
      expect((await b.nextOf('response', 'r'))['error']).to.equal('Invalid channel password');
      b.send({ type: 'register', request_id: 'r2', channel: 'vault', proof: 'aa', challenge_id: 'unknown' });
      expect((await b.nextOf('response', 'r2'))['error']).to.equal('Invalid or expired challenge');
      // Beyond comm-ipc: an unproven client cannot broadcast or call into the channel.
      const call = await b.request({ type: 'call', channel: 'vault', event: 'e', request_id: 'c' });
      expect(call['code']).to.equal('PIPEIO_ERR_AUTH');
    });

    it('lets only the owner set the password, and kicks the others on a change', async () => {
      await fx.start();
      const owner = await fx.client('O');
      const other = await fx.client('X');
      await owner.open('c');
      await other.open('c');
      expect((await other.request({ type: 'set_password', channel: 'c', password: 'p', request_id: 'x' }))['error']).to.equal(
        'Only the channel owner can set or change the password',
      );
      expect((await owner.request({ type: 'set_password', channel: 'c', password: 'p', request_id: 'o' }))['data']).to.deep.equal({ success: true });
      expect((await other.nextOf('error'))['message']).to.equal('Channel password changed, please reconnect');
      // the kicked member no longer gets broadcasts
      owner.send({ type: 'broadcast', channel: 'c', event: 'e', data: 1 });
      expect((await other.drainUntilPong()).filter((f) => f['type'] === 'broadcast')).to.have.length(0);
    });

    it('never lets a client take over an empty channel that has a system password', async () => {
      await fx.start({ channelPasswords: { __comm_ipc_system: 'root', guarded: 'g' } });
      const c = await fx.client('C');
      for (const channel of ['__comm_ipc_system', 'guarded']) {
        const res = await c.request({ type: 'set_password', channel, password: 'mine', request_id: channel });
        expect(res['code'], channel).to.equal('PIPEIO_ERR_FORBIDDEN');
      }
    });
  });

  describe('owner loss', () => {
    it("terminate: the others get the exact error and lose the channel; promote: the next member owns it", async () => {
      await fx.start({ channelPolicy: 'terminate' });
      let o = await fx.client('O');
      let m = await fx.client('M');
      await o.open('c');
      await m.open('c');
      o.close();
      expect((await m.nextOf('error'))['message']).to.equal('Channel c owner disconnected, channel terminated');
      await fx.stop();

      await fx.start({ channelPolicy: 'promote' });
      o = await fx.client('O');
      m = await fx.client('M');
      await o.open('c');
      await m.open('c');
      o.close();
      await m.next((f) => f['action'] === 'leave' && f['owner'] === 'O');
      expect((await m.request({ type: 'set_password', channel: 'c', password: 'p', request_id: 's' }))['data']).to.deep.equal({ success: true });
    });
  });

  describe('members and bridges', () => {
    it('lists local members in join order and bridge-announced ones, and forgets a bridge\'s members with it', async () => {
      await fx.start({ allowBridges: true });
      const a = await fx.client('A');
      await a.open('c');
      const bridge = await fx.client('br-c1', 'bridge');
      await bridge.open('c');
      bridge.send({ type: 'announce_remote', channel: 'c', clients: [{ id: 'R', mode: 'client', path: ['S2'] }, { id: 'L', path: ['S1'] }] });
      const join = await a.next((f) => f['owner'] === 'R');
      expect(join).to.deep.include({ stype: 'membership', action: 'join', is_local: false, path: ['S2'] });
      const list = await a.request({ type: 'list_members', channel: 'c', request_id: 'l' });
      expect(list['data']).to.deep.equal({
        members: [
          { id: 'A', mode: 'client', is_local: true, path: [] },
          { id: 'br-c1', mode: 'bridge', is_local: true, path: [] },
          { id: 'R', mode: 'client', is_local: false, bridge_id: 'br-c1', path: ['S2'] },
        ],
      });
      // a non-bridge cannot announce
      a.send({ type: 'announce_remote', channel: 'c', clients: ['Z'] });
      bridge.close();
      await a.next((f) => f['action'] === 'leave' && f['owner'] === 'R');
      const after = await a.request({ type: 'list_members', channel: 'c', request_id: 'l2' });
      expect((after['data'] as { members: unknown[] }).members).to.deep.equal([{ id: 'A', mode: 'client', is_local: true, path: [] }]);
      // comm-ipc's bridge never re-announces after a reconnect: the same bridge id gets its members back
      await fx.client('br-c1', 'bridge');
      expect(await a.next((f) => f['action'] === 'join' && f['owner'] === 'R')).to.deep.include({ is_local: false, path: ['S2'] });
      const back = await a.request({ type: 'list_members', channel: 'c', request_id: 'l3' });
      expect((back['data'] as { members: Array<{ id: string }> }).members.map((m) => m.id)).to.include('R');
    });
  });

  describe('system channels and error policy', () => {
    it("'broadcast' reports to __comm_ipc_errors, the logs and the client (text cut at ':')", async () => {
      await fx.start({ errorPolicy: 'broadcast' });
      const watcher = await fx.client('W');
      await watcher.open('__comm_ipc_errors');
      await watcher.open('__comm_ipc_system');
      const c = await fx.client('C');
      await c.open('x');
      expect(await watcher.nextOf('receive')).to.deep.include({ channel: '__comm_ipc_system', event: 'new_registration', sender_id: 'system' });
      c.send({ type: 'call', channel: 'x', event: 'e', request_id: 'r' });
      expect((await c.nextOf('response', 'r'))['error']).to.equal('No provider for x:e');
      expect((await c.nextOf('error'))['message']).to.equal('No provider for x');
      const pushed = await watcher.next((f) => f['event'] === 'server_error');
      expect(pushed['data']).to.deep.equal({ error: 'No provider for x', client_id: 'C', server_id: 'S1' });
      // system channels are read-only for clients
      c.send({ type: 'broadcast', channel: '__comm_ipc_errors', event: 'fake', data: 1 });
      expect((await c.nextOf('error'))['code']).to.equal('PIPEIO_ERR_RESERVED');
    });

    it("'raise' closes the offending client's connection after its error response", async () => {
      await fx.start({ errorPolicy: 'raise' });
      const c = await fx.client('C');
      c.send({ type: 'call', channel: 'x', event: 'e', request_id: 'r' });
      await c.closedPromise;
      const other = await fx.client('D');
      other.send({ type: 'ping' });
      await other.nextOf('pong');
    });
  });
});
