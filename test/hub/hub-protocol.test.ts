import { expect } from 'chai';
import { connectionProof } from '../../lib/hub/security/signing';
import { waitFor } from '../fixtures/helpers';
import { HubFixture } from './hub-fixture';
import type { RawClient } from './raw-client';

describe('Hub protocol', () => {
  const fx = new HubFixture();
  afterEach(() => fx.stop());

  describe('handshake', () => {
    it('identifies, answers ping, refuses a duplicate id with the exact text', async () => {
      await fx.start();
      const a = await fx.client('A');
      a.send({ type: 'ping' });
      expect((await a.nextOf('pong'))['type']).to.equal('pong');
      const dup = await fx.raw();
      dup.send({ type: 'identify', client_id: 'A' });
      const err = await dup.nextOf('error');
      expect(err['message']).to.equal('Client ID A already in use');
      expect(err['code']).to.equal('PIPEIO_ERR_ID_IN_USE');
      await dup.closedPromise;
    });

    it('adopts a generated id when none is given', async () => {
      await fx.start();
      const c = await fx.raw();
      c.send({ type: 'identify' });
      const f = await c.nextOf('identified');
      expect(f['client_id']).to.match(/^cli-[0-9a-f]{8}$/);
      expect(f['server_id']).to.equal('S1');
    });

    it('runs the connection-secret challenge and refuses a wrong proof', async () => {
      await fx.start({ secret: 'top-secret' });
      const good = await fx.raw();
      good.send({ type: 'identify', client_id: 'G' });
      const ch = await good.nextOf('conn_challenge');
      expect(ch['challenge']).to.match(/^[0-9a-f]{64}$/);
      expect(ch['server_id']).to.equal('S1');
      good.send({ type: 'conn_proof', proof: connectionProof('top-secret', ch['challenge'] as string) });
      expect((await good.nextOf('identified'))['client_id']).to.equal('G');

      const bad = await fx.raw();
      bad.send({ type: 'identify', client_id: 'B' });
      await bad.nextOf('conn_challenge');
      bad.send({ type: 'conn_proof', proof: '00'.repeat(32) });
      const err = await bad.nextOf('error');
      expect(err['message']).to.equal('Authentication failed');
      expect(err['code']).to.equal('PIPEIO_ERR_AUTH');
      await bad.closedPromise;

      const skip = await fx.raw();
      skip.send({ type: 'identify', client_id: 'C' });
      await skip.nextOf('conn_challenge');
      skip.send({ type: 'register', channel: 'x' });
      expect((await skip.nextOf('error'))['message']).to.equal('Not authenticated');
    });
  });

  describe('channels and RPC', () => {
    it('opens with channel_sync before the response, and tells other openers who joined', async () => {
      await fx.start();
      const p = await fx.client('P');
      await p.open('math');
      expect((await p.provide('math', 'add'))['success']).to.equal(true);
      const c = await fx.client('C');
      const [sync, res] = await c.open('math');
      expect((sync['events'] as Record<string, unknown>)['add']).to.deep.include({ owner: 'P', stype: 'event', is_group: false });
      expect(res['data']).to.deep.equal({ channel: 'math', event: null, authenticated: false });
      const join = await p.next((f) => f['type'] === 'metadata_update' && f['action'] === 'join' && f['owner'] === 'C');
      expect(join).to.deep.include({ stype: 'membership', name: 'C', mode: 'client', channel: 'math' });
    });

    it('routes a call to the provider with stamps, and the response back', async () => {
      await fx.start();
      const p = await fx.client('P');
      await p.provide('math', 'add');
      const c = await fx.client('C');
      c.send({ type: 'call', channel: 'math', event: 'add', data: { a: 1, b: 2.5 }, request_id: 'r1', sender_id: 'spoofed', server_id: 'S1', is_final: true });
      const call = await p.nextOf('call');
      expect(call).to.deep.include({ sender_id: 'C', origin_server_id: 'S1', server_id: 'S1', request_id: 'r1' });
      expect(call['path']).to.deep.equal(['S1']);
      expect(call['timestamp']).to.be.a('number');
      expect(call['data']).to.deep.equal({ a: 1, b: 2.5 });
      p.send({ type: 'response', request_id: 'r1', target_id: 'C', data: 3.5 });
      const res = await c.nextOf('response', 'r1');
      expect(res['data']).to.equal(3.5);
      expect(res['sender_id']).to.equal('P');
      expect('error' in res).to.equal(false);
    });

    it('answers a call without provider with the exact comm-ipc error', async () => {
      await fx.start();
      const c = await fx.client('C');
      const res = await c.request({ type: 'call', channel: 'm', event: 'nope', data: null, request_id: 'r' });
      expect(res).to.deep.include({ error: 'No provider for m:nope', channel: 'm', event: 'nope', sender_id: 'server', is_final: false, code: 'PIPEIO_ERR_NO_PROVIDER' });
    });

    it('drops responses injected by anyone but the chosen provider', async () => {
      await fx.start();
      const p = await fx.client('P');
      await p.provide('m', 'e');
      const c = await fx.client('C');
      const evil = await fx.client('E');
      c.send({ type: 'call', channel: 'm', event: 'e', request_id: 'r' });
      await p.nextOf('call');
      evil.send({ type: 'response', request_id: 'r', target_id: 'C', data: 'forged' });
      p.send({ type: 'response', request_id: 'r', target_id: 'C', data: 'real' });
      expect((await c.nextOf('response', 'r'))['data']).to.equal('real');
      expect(fx.hub.stats().orphanResponses).to.equal(1);
    });

    it('answers the callers of a provider that disconnects mid-call', async () => {
      await fx.start();
      const p = await fx.client('P');
      await p.provide('m', 'slow');
      const c = await fx.client('C');
      c.send({ type: 'call', channel: 'm', event: 'slow', request_id: 'r1' });
      c.send({ type: 'call', channel: 'm', event: 'slow', request_id: 'r2' });
      await p.nextOf('call');
      p.close();
      for (const rid of ['r1', 'r2']) {
        const res = await c.nextOf('response', rid);
        expect(res['error']).to.equal('Provider of m:slow disconnected before answering');
        expect(res['code']).to.equal('PIPEIO_ERR_PROVIDER_GONE');
      }
      expect(fx.hub.stats().pendingCalls).to.equal(0);
    });

    it('keeps a stream open until is_final and counts it once', async () => {
      await fx.start();
      const p = await fx.client('P');
      await p.provide('m', 's');
      const c = await fx.client('C');
      c.send({ type: 'call', channel: 'm', event: 's', request_id: 'r', is_stream: true, is_final: false });
      await p.nextOf('call');
      for (let i = 0; i < 3; i++) p.send({ type: 'response', request_id: 'r', target_id: 'C', data: i, is_stream: true, is_final: false });
      p.send({ type: 'response', request_id: 'r', target_id: 'C', data: null, is_stream: true, is_final: true });
      const got = [];
      for (let i = 0; i < 4; i++) got.push((await c.nextOf('response', 'r'))['data']);
      expect(got).to.deep.equal([0, 1, 2, null]);
      expect(fx.hub.stats().pendingCalls).to.equal(0);
    });

    it('balances a group: least-active splits 4 concurrent calls 2/2, round-robin alternates', async () => {
      for (const policy of ['least-active', 'round-robin'] as const) {
        await fx.start({ lbPolicy: policy });
        const p1 = await fx.client('P1');
        const p2 = await fx.client('P2');
        await p1.provide('g', 'task', true);
        await p2.provide('g', 'task', true);
        const c = await fx.client('C');
        for (let i = 0; i < 4; i++) c.send({ type: 'call', channel: 'g', event: 'task', request_id: `r${i}` });
        const calls = (r: RawClient): string[] => r.frames.filter((f) => f['type'] === 'call').map((f) => f['request_id'] as string);
        await waitFor(() => calls(p1).length + calls(p2).length === 4, 'four routed calls');
        const order = [calls(p1), calls(p2)];
        await fx.stop();
        expect(order[0], policy).to.deep.equal(['r0', 'r2']);
        expect(order[1], policy).to.deep.equal(['r1', 'r3']);
      }
    });

    it('refuses a second non-group provider with the exact text', async () => {
      await fx.start();
      const p1 = await fx.client('P1');
      await p1.provide('m', 'e');
      const p2 = await fx.client('P2');
      const res = await p2.provide('m', 'e');
      expect(res['error']).to.equal('Provider already exists for m:e and group mode is incompatible');
      expect(res['code']).to.equal('PIPEIO_ERR_CONFLICT');
    });

    it('broadcasts to every opener but the sender, and sends to one provider', async () => {
      await fx.start();
      const a = await fx.client('A');
      const b = await fx.client('B');
      const p = await fx.client('P');
      await a.open('room');
      await b.open('room');
      await p.provide('room', 'log');
      a.send({ type: 'broadcast', channel: 'room', event: 'hi', data: 'x', request_id: null });
      const got = await b.nextOf('broadcast');
      expect(got).to.deep.include({ sender_id: 'A', data: 'x', path: ['S1'] });
      b.send({ type: 'send', channel: 'room', event: 'log', data: 1 });
      expect((await p.nextOf('send'))['data']).to.equal(1);
      const rest = await a.drainUntilPong();
      expect(rest.filter((f) => f['type'] === 'broadcast')).to.have.length(0);
    });

    it('drops a bridged frame whose path already holds this hub; a client\'s path starts here', async () => {
      await fx.start({ allowBridges: true });
      const a = await fx.client('A');
      const br = await fx.client('br', 'bridge');
      const b = await fx.client('B');
      await b.open('room');
      br.send({ type: 'broadcast', channel: 'room', event: 'loop', data: 1, path: ['S0', 'S1'] });
      br.send({ type: 'broadcast', channel: 'room', event: 'ok', data: 2, path: ['S0'] });
      const got = await b.nextOf('broadcast');
      expect(got['event']).to.equal('ok');
      expect(got['path']).to.deep.equal(['S0', 'S1']);
      // A client's claimed path is not read: the frame is neither dropped nor made to look relayed.
      a.send({ type: 'broadcast', channel: 'room', event: 'own', data: 3, path: ['S0', 'S1'] });
      const own = await b.nextOf('broadcast');
      expect(own).to.deep.include({ event: 'own', path: ['S1'] });
    });
  });
});
