/**
 * Schemas on HubChannel's plain API (issue 17): the provider validates call
 * data, results and each chunk; publish() checks its topic's schema; a
 * validating caller (validateReceived) checks what a lying member sends.
 * Hostile raw clients beside well-behaved pairs.
 */
import { expect } from 'chai';
import { z } from 'zod';
import type { HubMessage } from '../../lib/hub/protocol/messages';
import { ClientFixture, collect, expectCode, waitFor } from './client-fixture';
import { RawClient } from './raw-client';

const A_INT = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };

describe('HubChannel with schemas', function () {
  this.timeout(20000);
  let fx: ClientFixture;
  const raws: RawClient[] = [];
  beforeEach(async () => {
    fx = await ClientFixture.start();
  });
  afterEach(async () => {
    for (const r of raws.splice(0)) r.socket.destroy();
    await fx.stop();
  });

  it('refuses call data that breaks `parameters` (the handler never runs), with the issues on the wire', async () => {
    const p = await (await fx.client({ clientId: 'prov' })).open('m');
    let runs = 0;
    await p.addEvent('take', (msg) => {
      runs++;
      return (msg.data as { a: number }).a * 2;
    }, { parameters: A_INT });
    const c = await (await fx.client()).open('m');
    expect((await c.call('take', { a: 21 })).data).to.equal(42);
    const err = await expectCode(c.call('take', { a: 'x' }), 'PIPEIO_ERR_VALIDATION');
    expect(err.message).to.equal('invalid parameters of m:take: a: must be integer');
    expect(err.issues).to.deep.equal([{ path: ['a'], message: 'must be integer' }]);
    await expectCode(c.call('take'), 'PIPEIO_ERR_VALIDATION'); // no data is null: not an object
    expect(runs).to.equal(1);

    // What a comm-ipc caller sees: the error text, plus code and issues it ignores.
    const raw = await RawClient.identified(fx.address as { path: string }, 'raw');
    raws.push(raw);
    raw.send({ type: 'call', channel: 'm', event: 'take', data: { b: 1 }, request_id: 'r1', sender_id: 'raw', is_final: true });
    const res = await raw.next((f) => f['request_id'] === 'r1');
    expect(res).to.deep.include({
      error: 'invalid parameters of m:take: a: is required',
      code: 'PIPEIO_ERR_VALIDATION',
      issues: [{ path: ['a'], message: 'is required' }],
    });
    expect(runs).to.equal(1);
  });

  it('a result or a chunk that breaks `returns` reaches the caller as an error, not as a value', async () => {
    const p = await (await fx.client()).open('m');
    await p.addEvent('half', (msg) => (msg.data as number) / 2, { parameters: { type: 'integer' }, returns: { type: 'integer' } });
    await p.addEvent('count', async function* (msg) {
      for (let i = 0; i < (msg.data as number); i++) yield i === 2 ? 'two' : i;
    }, { returns: { type: 'integer' } });
    const c = await (await fx.client()).open('m');
    expect((await c.call('half', 4)).data).to.equal(2);
    const err = await expectCode(c.call('half', 3), 'PIPEIO_ERR_VALIDATION');
    expect(err.message).to.equal('invalid result of m:half: (root): must be integer');
    const got: unknown[] = [];
    const failed = await expectCode(
      (async () => {
        for await (const chunk of c.stream('count', 5)) got.push(chunk.data);
      })(),
      'PIPEIO_ERR_VALIDATION',
    );
    expect(got).to.deep.equal([0, 1]);
    expect(failed.message).to.equal('invalid chunk 2 of m:count: (root): must be integer');
    expect(await collect(c.stream('count', 2))).to.deep.equal([0, 1]);
  });

  it('a zod schema: the handler gets zod’s output (defaults applied), the JSON Schema is announced', async () => {
    const p = await (await fx.client({ clientId: 'prov' })).open('m');
    const Params = z.object({ name: z.string(), greeting: z.string().default('hello') });
    await p.addEvent('greet', (msg) => {
      const d = msg.data as z.output<typeof Params>;
      return `${d.greeting} ${d.name}`;
    }, { parameters: Params, returns: z.string() });
    const c = await (await fx.client()).open('m');
    expect((await c.call('greet', { name: 'Ada' })).data).to.equal('hello Ada');
    const err = await expectCode(c.call('greet', { name: 3 }), 'PIPEIO_ERR_VALIDATION');
    expect(err.issues?.[0]?.path).to.deep.equal(['name']);
    const explored = (await c.explore()).events['greet']!;
    expect(explored.owner).to.equal('prov');
    expect(explored.parameters).to.deep.include({ type: 'object', required: ['name'] });
    expect(explored.returns).to.deep.include({ type: 'string' });
  });

  it('a schema that cannot be used is refused at registration, and nothing is registered', async () => {
    const p = await (await fx.client()).open('m');
    await expectCode(p.addEvent('x', () => 1, { parameters: { $ref: 'https://example.com/s.json' } }), 'PIPEIO_ERR_SCHEMA');
    await expectCode(p.addEvent('x', () => 1, { returns: { type: 'nope' } }), 'PIPEIO_ERR_SCHEMA');
    await expectCode(p.addSubscription('t', { $schema: 'http://json-schema.org/draft-04/schema#' }), 'PIPEIO_ERR_SCHEMA');
    const c = await (await fx.client()).open('m');
    await expectCode(c.call('x', 1), 'PIPEIO_ERR_NO_PROVIDER');
  });

  it('publish() checks the topic’s schema before sending', async () => {
    const owner = await (await fx.client()).open('news');
    await owner.addSubscription('daily', z.object({ title: z.string() }));
    const sub = await (await fx.client()).open('news');
    const got: unknown[] = [];
    await sub.subscribe('daily', (msg) => void got.push(msg.data));
    const err = await expectCode(owner.publish('daily', { title: 7 }), 'PIPEIO_ERR_VALIDATION');
    expect(err.message).to.equal('invalid publication on news:daily: title: Invalid input: expected string, received number');
    await owner.publish('daily', { title: 'ok' });
    await waitFor(() => got.length === 1, 'the valid publication');
    expect(got).to.deep.equal([{ title: 'ok' }]); // the invalid one never left
  });

  it('validateReceived: results, chunks and publications of a lying member are checked against what it announced', async () => {
    const liar = await RawClient.identified(fx.address as { path: string }, 'liar');
    raws.push(liar);
    liar.send({ type: 'register', channel: 'm', client_id: 'liar', is_provider: false, request_id: 'o' });
    liar.send({
      type: 'register', channel: 'm', client_id: 'liar', is_provider: true, event: 'get', is_stream: false, is_group: false,
      param_schema: null, return_schema: A_INT, request_id: 'e1',
    });
    liar.send({
      type: 'register', channel: 'm', client_id: 'liar', is_provider: true, event: 'many', is_stream: true, is_group: false,
      param_schema: null, return_schema: { type: 'integer' }, request_id: 'e2',
    });
    liar.send({ type: 'add_subscription', channel: 'm', sub_name: 'ticks', return_schema: { type: 'integer' }, request_id: 's1' });
    for (const id of ['o', 'e1', 'e2', 's1']) await liar.next((f) => f['request_id'] === id);
    const client = await fx.client({ validateReceived: true });
    const dropped: Array<[HubMessage, Error]> = [];
    client.on('dropped', (msg, reason) => dropped.push([msg, reason]));
    const c = await client.open('m');
    const trusting = await (await fx.client()).open('m');
    const answer = async (data: unknown, stream = false): Promise<void> => {
      const call = await liar.next((f) => f['type'] === 'call');
      const base = { type: 'response', request_id: call['request_id'], target_id: call['sender_id'] };
      if (!stream) return liar.send({ ...base, data });
      for (const d of data as unknown[]) liar.send({ ...base, data: d, is_stream: true, is_final: false });
      liar.send({ ...base, data: null, is_stream: true, is_final: true });
    };
    let p = c.call('get');
    await answer({ a: 'no' });
    const err = await expectCode(p, 'PIPEIO_ERR_VALIDATION');
    expect(err.message).to.equal('invalid result of m:get from liar: a: must be integer');
    p = c.call('get');
    await answer({ a: 1 });
    expect((await p).data).to.deep.equal({ a: 1 });
    p = trusting.call('get'); // without the option, the lie passes (comm-ipc's "dict" mode)
    await answer({ a: 'no' });
    expect((await p).data).to.deep.equal({ a: 'no' });

    const got: unknown[] = [];
    const streamed = (async () => {
      for await (const chunk of c.stream('many')) got.push(chunk.data);
    })();
    await answer([1, 2, 'three', 4], true);
    const chunkErr = await expectCode(streamed, 'PIPEIO_ERR_VALIDATION');
    expect(chunkErr.message).to.equal('invalid chunk 2 of m:many from liar: (root): must be integer');
    expect(got).to.deep.equal([1, 2]);

    const pubs: unknown[] = [];
    await c.subscribe('ticks', (msg) => void pubs.push(msg.data));
    liar.send({ type: 'publish', channel: 'm', sub_name: 'ticks', data: 'x' });
    liar.send({ type: 'publish', channel: 'm', sub_name: 'ticks', data: 2 });
    await waitFor(() => pubs.length === 1, 'the valid publication');
    expect(pubs).to.deep.equal([2]);
    expect(dropped).to.have.length(1);
    expect(dropped[0]![0].data).to.equal('x');
    expect((dropped[0]![1] as { code?: string }).code).to.equal('PIPEIO_ERR_VALIDATION');
    expect(dropped[0]![1].message).to.equal('invalid publication on m:ticks from liar: (root): must be integer');
  });

  it('an announced schema that cannot be used fails a validating call with PIPEIO_ERR_SCHEMA; the client keeps serving', async () => {
    const liar = await RawClient.identified(fx.address as { path: string }, 'liar');
    raws.push(liar);
    liar.send({
      type: 'register', channel: 'm', client_id: 'liar', is_provider: true, event: 'get', is_stream: false, is_group: false,
      param_schema: null, return_schema: { $ref: 'http://169.254.169.254/latest' }, request_id: 'e1',
    });
    await liar.next((f) => f['request_id'] === 'e1');
    const client = await fx.client({ validateReceived: true });
    const c = await client.open('m');
    const p = c.call('get');
    const call = await liar.next((f) => f['type'] === 'call');
    liar.send({ type: 'response', request_id: call['request_id'], target_id: call['sender_id'], data: 1 });
    const err = await expectCode(p, 'PIPEIO_ERR_SCHEMA');
    expect(err.message).to.match(/^the schema liar announced for m:get cannot be used: .*never fetched/);
    expect(client.state).to.equal('connected');
    const p2 = c.call('get');
    const call2 = await liar.next((f) => f['type'] === 'call');
    liar.send({ type: 'response', request_id: call2['request_id'], target_id: call2['sender_id'], error: 'still here' });
    await expectCode(p2, 'PIPEIO_ERR_REMOTE');
  });
});
