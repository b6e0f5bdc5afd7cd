import { expect } from 'chai';
import { HubClient } from '../../lib/hub/client/hub-client';
import type { HubMessage } from '../../lib/hub/protocol/messages';
import { ClientFixture, collect, deferred, expectCode, nextEvent, waitFor } from './client-fixture';

describe('HubClient', () => {
  let fx: ClientFixture;

  beforeEach(async () => {
    fx = await ClientFixture.start();
  });

  afterEach(async () => {
    await fx.stop();
  });

  describe('#connect', () => {
    it('identifies and adopts client_id and server_id', async () => {
      const c = fx.newClient({ clientId: 'alice' });
      const connected = nextEvent(c, 'connect');
      await c.connect();
      await connected;
      expect(c.clientId).to.equal('alice');
      expect(c.serverId).to.equal('hub-1');
      expect(c.state).to.equal('connected');
    });

    it('generates a cli- id when none is given', async () => {
      const c = await fx.client();
      expect(c.clientId).to.match(/^cli-[0-9a-f]{8}$/);
    });

    it('refuses a duplicate id with PIPEIO_ERR_ID_IN_USE', async () => {
      await fx.client({ clientId: 'dup' });
      const err = await expectCode(fx.newClient({ clientId: 'dup' }).connect(), 'PIPEIO_ERR_ID_IN_USE');
      expect(err.remoteMessage).to.equal('Client ID dup already in use');
    });

    it("emits 'connect' on the first success after a failed connect()", async () => {
      const holder = await fx.client({ clientId: 'retry' });
      const c = fx.newClient({ clientId: 'retry' });
      await expectCode(c.connect(), 'PIPEIO_ERR_ID_IN_USE');
      expect(c.state).to.equal('idle');
      await holder.close();
      await waitFor(() => fx.hub.stats().clients === 0, 'the hub to forget the first client');
      const connected = nextEvent(c, 'connect');
      await c.connect();
      await connected;
    });

    it('fails with PIPEIO_ERR_CONNECTION when nobody listens', async () => {
      const c = fx.newClient({}, { path: `${fx.dir}/nobody.sock` });
      await expectCode(c.connect(), 'PIPEIO_ERR_CONNECTION');
    });

    it('validates its arguments', () => {
      expect(() => new HubClient({ path: '' })).to.throw(TypeError);
      expect(() => new HubClient({ path: 'x' }, { heartbeatInterval: -1 })).to.throw(RangeError);
      expect(() => new HubClient({ host: 'h', port: 0 })).to.throw(RangeError);
    });

    it('works with await using', async () => {
      let c: HubClient;
      {
        await using client = new HubClient(fx.address);
        await client.connect();
        c = client;
      }
      expect(c.state).to.equal('closed');
    });
  });

  describe('#open', () => {
    it('rejects non-string and reserved names', async () => {
      const c = await fx.client();
      let thrown: unknown;
      try {
        await c.open(42 as unknown as string);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.be.instanceOf(TypeError);
      await expectCode(c.open('subscription'), 'PIPEIO_ERR_RESERVED');
      const ch = await c.open('ok');
      await expectCode(ch.addEvent('subscription.x', async () => 1), 'PIPEIO_ERR_RESERVED');
    });

    it('returns the same channel when opened twice', async () => {
      const c = await fx.client();
      const [a, b] = await Promise.all([c.open('twice'), c.open('twice')]);
      expect(a).to.equal(b);
      expect(await c.open('twice')).to.equal(a);
    });
  });

  describe('RPC', () => {
    it('calls a provider and gets the whole envelope back', async () => {
      const p = await fx.client({ clientId: 'prov' });
      const ch = await p.open('math');
      await ch.addEvent('add', async (msg) => (msg.data as { a: number; b: number }).a + (msg.data as { a: number; b: number }).b);
      const c = await fx.client({ clientId: 'caller' });
      const cch = await c.open('math');
      const res = await cch.call('add', { a: 1, b: 2 });
      expect(res.data).to.equal(3);
      expect(res.type).to.equal('response');
      expect(res.sender_id).to.equal('prov');
      expect(res.path).to.deep.equal(['hub-1']);
    });

    it('keeps Buffers, floats, big ints and nested values', async () => {
      const p = await fx.client();
      await (await p.open('echo')).addEvent('echo', async (msg) => msg.data);
      const cch = await (await fx.client()).open('echo');
      const value = {
        bin: Buffer.from([0, 1, 2, 255]),
        text: 'héllo ✓',
        float: 1.5,
        neg: -7,
        big: 2n ** 60n,
        nested: { list: [1, 'two', null, true, { deep: [Buffer.from('x')] }] },
      };
      const res = await cch.call('echo', value);
      const data = res.data as typeof value;
      expect(Buffer.isBuffer(data.bin)).to.equal(true);
      expect(data.bin.equals(value.bin)).to.equal(true);
      expect(data.text).to.equal(value.text);
      expect(data.float).to.equal(1.5);
      expect(data.neg).to.equal(-7);
      expect(data.big).to.equal(2n ** 60n);
      const deep = (data.nested.list[4] as { deep: Buffer[] }).deep[0]!;
      expect(Buffer.isBuffer(deep) && deep.toString()).to.equal('x');
      expect(data.nested.list.slice(0, 4)).to.deep.equal([1, 'two', null, true]);
    });

    it('turns a handler throw into PIPEIO_ERR_REMOTE with the remote text', async () => {
      const p = await fx.client();
      await (await p.open('err')).addEvent('boom', async () => {
        throw new Error('intentional fail');
      });
      const cch = await (await fx.client()).open('err');
      const err = await expectCode(cch.call('boom', {}), 'PIPEIO_ERR_REMOTE');
      expect(err.remoteMessage).to.equal('intentional fail');
    });

    it('reports a missing provider as PIPEIO_ERR_NO_PROVIDER', async () => {
      const cch = await (await fx.client()).open('empty');
      const err = await expectCode(cch.call('nothing', {}), 'PIPEIO_ERR_NO_PROVIDER');
      expect(err.remoteMessage).to.equal('No provider for empty:nothing');
    });

    it('fails the caller with PIPEIO_ERR_PROVIDER_GONE when the provider dies mid-call', async () => {
      const entered = deferred();
      const p = await fx.client({ autoReconnect: false });
      await (await p.open('gone')).addEvent('hang', async () => {
        entered.resolve();
        return new Promise(() => undefined);
      });
      const cch = await (await fx.client()).open('gone');
      const failed = expectCode(cch.call('hang', {}), 'PIPEIO_ERR_PROVIDER_GONE');
      await entered.promise;
      await p.close();
      const err = await failed;
      expect(err.remoteMessage).to.equal('Provider of gone:hang disconnected before answering');
    });

    it('times out with PIPEIO_ERR_TIMEOUT (per call and callTimeout)', async () => {
      const p = await fx.client();
      await (await p.open('slow')).addEvent('never', () => new Promise(() => undefined));
      const cch = await (await fx.client()).open('slow');
      await expectCode(cch.call('never', {}, { timeout: 50 }), 'PIPEIO_ERR_TIMEOUT');
      const c2 = await fx.client({ callTimeout: 50 });
      await expectCode((await c2.open('slow')).call('never', {}), 'PIPEIO_ERR_TIMEOUT');
    });

    it('aborts with PIPEIO_ERR_ABORTED', async () => {
      const p = await fx.client();
      await (await p.open('slow')).addEvent('never', () => new Promise(() => undefined));
      const cch = await (await fx.client()).open('slow');
      const ac = new AbortController();
      const call = cch.call('never', {}, { signal: ac.signal });
      ac.abort();
      await expectCode(call, 'PIPEIO_ERR_ABORTED');
      await expectCode(cch.call('never', {}, { signal: AbortSignal.abort() }), 'PIPEIO_ERR_ABORTED');
    });

    it('resolves a provider registration on the first of the two responses', async () => {
      const p = await fx.client();
      const ch = await p.open('reg');
      await ch.addEvent('a', async () => 1);
      await ch.addEvent('b', async () => 2);
      expect((await ch.call('b')).data).to.equal(2);
    });

    it('refuses a second non-group provider with PIPEIO_ERR_CONFLICT', async () => {
      await (await (await fx.client()).open('c')).addEvent('x', async () => 1);
      const err = await expectCode((await (await fx.client()).open('c')).addEvent('x', async () => 2), 'PIPEIO_ERR_CONFLICT');
      expect(err.remoteMessage).to.equal('Provider already exists for c:x and group mode is incompatible');
    });
  });

  describe('streams', () => {
    it('yields chunks in order and ends on is_final', async () => {
      const p = await fx.client();
      await (await p.open('s')).addEvent('count', async function* (msg) {
        for (let i = 0; i < (msg.data as { n: number }).n; i++) yield i;
      });
      const cch = await (await fx.client()).open('s');
      expect(await collect(cch.stream('count', { n: 5 }))).to.deep.equal([0, 1, 2, 3, 4]);
      const chunks: HubMessage[] = [];
      for await (const chunk of cch.stream('count', { n: 2 })) chunks.push(chunk);
      expect(chunks.map((c) => [c.is_stream, c.is_final])).to.deep.equal([
        [true, false],
        [true, false],
      ]);
    });

    it('supports options.stream with a function returning an async iterable', async () => {
      const p = await fx.client();
      const gen = async function* (): AsyncGenerator<string> {
        yield 'a';
        yield 'b';
      };
      await (await p.open('s2')).addEvent('letters', () => gen(), { stream: true });
      const cch = await (await fx.client()).open('s2');
      expect(await collect(cch.stream('letters'))).to.deep.equal(['a', 'b']);
    });

    it('raises an error sent mid-stream after the earlier chunks', async () => {
      const p = await fx.client();
      await (await p.open('s3')).addEvent('bad', async function* () {
        yield 'first';
        throw new Error('oops');
      });
      const cch = await (await fx.client()).open('s3');
      const got: unknown[] = [];
      const err = await expectCode(
        (async () => {
          for await (const chunk of cch.stream('bad')) got.push(chunk.data);
        })(),
        'PIPEIO_ERR_REMOTE',
      );
      expect(got).to.deep.equal(['first']);
      expect(err.remoteMessage).to.equal('oops');
    });

    it('ends a stream() of a plain handler after its single response', async () => {
      const p = await fx.client();
      await (await p.open('s4')).addEvent('one', async () => 'only');
      const cch = await (await fx.client()).open('s4');
      expect(await collect(cch.stream('one'))).to.deep.equal(['only']);
    });

    it('fails a stream without provider with PIPEIO_ERR_NO_PROVIDER', async () => {
      const cch = await (await fx.client()).open('s5');
      await expectCode(collect(cch.stream('none')), 'PIPEIO_ERR_NO_PROVIDER');
    });

    it('times out between chunks and can be aborted', async () => {
      const p = await fx.client();
      await (await p.open('s6')).addEvent('stall', async function* () {
        yield 1;
        await new Promise(() => undefined);
      });
      const cch = await (await fx.client()).open('s6');
      await expectCode(collect(cch.stream('stall', {}, { timeout: 100 })), 'PIPEIO_ERR_TIMEOUT');
      const ac = new AbortController();
      const s = cch.stream('stall', {}, { signal: ac.signal });
      expect((await s.next()).value?.data).to.equal(1);
      ac.abort();
      await expectCode(s.next(), 'PIPEIO_ERR_ABORTED');
    });

    it('pauses reading past the high-water mark and delivers everything in order', async () => {
      const p = await fx.client();
      await (await p.open('s7')).addEvent('many', async function* () {
        for (let i = 0; i < 200; i++) yield i;
      });
      const cch = await (await fx.client({ streamHighWaterMark: 4 })).open('s7');
      const got: number[] = [];
      for await (const chunk of cch.stream('many')) {
        got.push(chunk.data as number);
        if (got.length % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      expect(got).to.deep.equal(Array.from({ length: 200 }, (_, i) => i));
    });

    it('fails a stream nobody reads with PIPEIO_ERR_LIMIT instead of stalling the link', async () => {
      const p = await fx.client();
      const pch = await p.open('s9');
      let yielded = 0;
      await pch.addEvent('many', async function* () {
        for (let i = 0; i < 100; i++) {
          yielded++;
          yield i;
        }
      });
      await pch.addEvent('ping', async () => 'pong');
      const cch = await (await fx.client({ streamHighWaterMark: 2, idleTimeout: 300 })).open('s9');
      const s = cch.stream('many');
      await waitFor(() => yielded === 100, 'the provider to finish');
      // Reading is paused for the unread stream until it is failed; then this answer gets through.
      expect((await cch.call('ping', null, { timeout: 5000 })).data).to.equal('pong');
      await expectCode(s.next(), 'PIPEIO_ERR_LIMIT');
    });

    it('stops listening when the consumer breaks early', async () => {
      const p = await fx.client();
      await (await p.open('s8')).addEvent('inf', async function* () {
        for (let i = 0; i < 50; i++) yield i;
      });
      const c = await fx.client();
      const cch = await c.open('s8');
      for await (const chunk of cch.stream('inf')) if (chunk.data === 2) break;
      expect((await cch.call('inf')).data).to.equal(0); // the client still works
    });
  });
});
