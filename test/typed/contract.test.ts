/**
 * Typed contracts at run time: implement() + register() on a real hub, a
 * typed caller in another client, validation on both sides, replay after a
 * hub restart, typed schema()/explore(), and bad input.
 */
import { expect } from 'chai';
import { z } from 'zod';
import { PipeIOError } from '../../lib/errors';
import { defineContract, implement, typedChannel, type HubMessage } from '../../lib';
import { ClientFixture, expectCode, nextEvent, waitFor } from '../hub/client-fixture';
import { mathContract } from './fixtures/math-contract';

function mathApp(calls: string[] = []) {
  return implement(mathContract, {
    add: ({ a, b }) => {
      calls.push('add');
      return a + b;
    },
    async *count({ n }) {
      for (let i = 0; i < n; i++) yield i;
    },
    norm: ({ x, y }) => Math.hypot(x, y),
    task: (job, msg) => ({ id: `${job.id}/${job.weight}`, by: String(msg.channel) }),
    ping: () => 'pong',
    when: () => '2020-01-02T03:04:05.000Z',
  });
}

describe('typed contracts', function () {
  this.timeout(20000);
  let fx: ClientFixture;
  beforeEach(async () => {
    fx = await ClientFixture.start();
  });
  afterEach(() => fx.stop());

  it('implement + register in one call; a typed caller gets parsed, typed results', async () => {
    const provider = await fx.client({ clientId: 'prov' });
    const served = await mathApp().register(await provider.open('math'));
    const math = typedChannel(await (await fx.client()).open('math'), mathContract);
    expect(await math.call('add', { a: 1, b: 2 })).to.equal(3);
    const got: number[] = [];
    for await (const i of math.stream('count', { n: 4 })) got.push(i);
    expect(got).to.deep.equal([0, 1, 2, 3]);
    expect(await math.call('norm', { x: 3, y: 4 })).to.equal(5);
    expect(await math.call('task', { id: 'j' })).to.deep.equal({ id: 'j/1', by: 'math' }); // the provider got zod's default
    expect(await math.call('ping')).to.equal('pong');
    const when = await math.call('when');
    expect(when).to.be.instanceOf(Date); // the caller gets the output side (a zod transform)
    expect(when.toISOString()).to.equal('2020-01-02T03:04:05.000Z');

    const news: Array<[unknown, HubMessage]> = [];
    await math.subscribe('news', (payload, msg) => void news.push([payload, msg]));
    await served.publish('news', { title: 'hello', tags: ['a'] });
    await expectCode(served.publish('news', { title: 3 } as never), 'PIPEIO_ERR_VALIDATION');
    await served.publish('raw', { anything: true });
    await waitFor(() => news.length === 1, 'a publication');
    expect(news[0]![0]).to.deep.equal({ title: 'hello', tags: ['a'] });
    expect(news[0]![1].sender_id).to.equal('prov');
  });

  it('the caller checks data before sending (nothing leaves), the provider checks what arrives', async () => {
    const calls: string[] = [];
    await mathApp(calls).register(await (await fx.client()).open('math'));
    const caller = await (await fx.client()).open('math');
    const math = typedChannel(caller, mathContract);
    const local = await expectCode(math.call('add', { a: 1, b: 'x' } as never), 'PIPEIO_ERR_VALIDATION');
    expect(local.message).to.equal('invalid parameters of math:add: b: Invalid input: expected number, received string');
    expect(local.remoteMessage).to.equal(undefined); // refused here
    const viaPlain = await expectCode(caller.call('add', { a: 1, b: 'x' }), 'PIPEIO_ERR_VALIDATION');
    expect(viaPlain.remoteMessage).to.equal(local.message); // the same words, from the provider
    expect(viaPlain.issues).to.deep.equal([{ path: ['b'], message: 'Invalid input: expected number, received string' }]);
    const streamErr = await expectCode((async () => {
      for await (const i of math.stream('count', { n: 1.5 })) void i;
    })(), 'PIPEIO_ERR_VALIDATION');
    expect(streamErr.issues?.[0]?.path).to.deep.equal(['n']);
    expect(calls).to.deep.equal([]); // no handler ran
  });

  it('a provider that breaks the contract: its results reach a typed caller as PIPEIO_ERR_VALIDATION', async () => {
    const rogue = await (await fx.client({ clientId: 'rogue' })).open('math');
    await rogue.addEvent('add', () => 'three');
    await rogue.addEvent('count', async function* () {
      yield 1;
      yield 'two';
    });
    const math = typedChannel(await (await fx.client()).open('math'), mathContract);
    const err = await expectCode(math.call('add', { a: 1, b: 2 }), 'PIPEIO_ERR_VALIDATION');
    expect(err.message).to.equal('invalid result of math:add from rogue: (root): Invalid input: expected number, received string');
    const got: number[] = [];
    const chunkErr = await expectCode((async () => {
      for await (const i of math.stream('count', { n: 2 })) got.push(i);
    })(), 'PIPEIO_ERR_VALIDATION');
    expect(got).to.deep.equal([1]);
    expect(chunkErr.message).to.match(/^invalid chunk 1 of math:count from rogue: /);

    const view = math.schema('add');
    expect(view.announced?.owner).to.equal('rogue');
    expect(view.matches).to.equal(false); // it announced no schema: drift shows
  });

  it('schema() and explore(): the contract’s JSON Schemas, what was announced, whether they agree', async () => {
    await mathApp().register(await (await fx.client({ clientId: 'prov' })).open('math'));
    const math = typedChannel(await (await fx.client()).open('math'), mathContract);
    const add = math.schema('add');
    expect(add).to.deep.include({ type: 'event', name: 'add', wireName: 'add', stream: false, matches: true });
    expect(add.parameters).to.deep.include({ type: 'object', required: ['a', 'b'] });
    expect(add.announced).to.deep.include({ type: 'event', owner: 'prov', is_stream: false, is_group: false });
    const task = math.schema('task');
    expect(task.wireName).to.equal('workers.task');
    expect(task.announced?.is_group).to.equal(true);
    expect(math.schema('count').announced?.is_stream).to.equal(true);
    expect(math.schema('news')).to.deep.include({ type: 'subscription', name: 'news', matches: true });
    const all = math.explore();
    expect(Object.keys(all.events)).to.deep.equal(['add', 'count', 'norm', 'task', 'ping', 'when']);
    expect(Object.values(all.events).every((e) => e.matches === true)).to.equal(true);
    expect(math.channel.schema('norm')).to.deep.equal({
      type: 'event', owner: 'prov', is_stream: false, is_group: false,
      parameters: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'], additionalProperties: false },
      returns: { type: 'number', minimum: 0 },
    });
  });

  it('everything register() bound is replayed after a hub restart', async () => {
    const provider = await fx.client({ clientId: 'prov' });
    const heard: unknown[] = [];
    const other = defineContract({ topics: { alerts: { payload: z.object({ level: z.number() }) } } });
    const app = mathApp().subscribe(other, 'alerts', (a) => void heard.push(a.level));
    const served = await app.register(await provider.open('math'));
    const callerClient = await fx.client();
    const math = typedChannel(await callerClient.open('math'), mathContract);
    const news: unknown[] = [];
    await math.subscribe('news', (n) => void news.push(n.title));
    const back = Promise.all([nextEvent(provider, 'reconnect', 15000), nextEvent(callerClient, 'reconnect', 15000)]);
    await fx.restartHub();
    await back;
    expect(await math.call('add', { a: 2, b: 2 })).to.equal(4);
    expect(await math.call('task', { id: 't' })).to.deep.equal({ id: 't/1', by: 'math' });
    await served.publish('news', { title: 'after' });
    await waitFor(() => news.length === 1, 'news after the restart');
    const alerter = await (await fx.client()).open('math');
    await alerter.addSubscription('alerts', other.topics.alerts.payload);
    await alerter.publish('alerts', { level: 3 });
    await waitFor(() => heard.length === 1, 'an alert');
    expect(heard).to.deep.equal([3]);
  });

  it('implement() refuses at run time what tsc refuses at compile time', () => {
    const h = { add: () => 0, count: async function* () {}, norm: () => 0, task: () => ({ id: '', by: '' }), ping: () => 0, when: () => '' };
    expect(() => implement(mathContract, { ...h, add: undefined } as never)).to.throw(TypeError, /no handler for event "add"/);
    expect(() => implement(mathContract, { ...h, extra: () => 0 } as never)).to.throw(TypeError, /no event "extra"/);
    expect(() => implement(mathContract, { ...h, add: async function* () {} } as never)).to.throw(TypeError, /async generator/);
    expect(() => defineContract({ events: { 'subscription.x': {} } })).to.throw(PipeIOError);
    expect(() => defineContract({ events: { a: { parameters: { type: 'nope' } } } })).to.throw(PipeIOError, /invalid JSON Schema/);
  });

  it('bad input: data that is not JSON-representable, 1 MiB of nested arrays; the client and hub keep serving', async () => {
    const calls: string[] = [];
    await mathApp(calls).register(await (await fx.client()).open('math'));
    const grid = defineContract({ events: { sum: { parameters: z.array(z.array(z.string())), returns: z.number() } } });
    const gridProvider = await (await fx.client()).open('math');
    await gridProvider.addEvent('sum', (msg) => (msg.data as string[][]).length, { parameters: { type: 'array', items: { type: 'array', items: { type: 'string' } } } });
    const callerClient = await fx.client();
    const ch = await callerClient.open('math');
    const math = typedChannel(ch, mathContract);
    // A function, a symbol, a cyclic object: refused with a code, nothing sent, the link intact.
    await expectCode(math.call('add', { a: 1, b: () => 2 } as never), 'PIPEIO_ERR_VALIDATION');
    await expectCode(ch.call('add', { a: 1, b: Symbol('x') }), 'PIPEIO_ERR_INVALID_MESSAGE');
    const cyclic: Record<string, unknown> = { a: 1, b: 2 };
    cyclic['self'] = cyclic;
    const err = await expectCode(math.call('add', cyclic as never), 'PIPEIO_ERR_INVALID_MESSAGE'); // fits the schema (zod strips keys), cannot be encoded
    expect(err.message).to.equal('call math:add: the data cannot be encoded (it is cyclic or nests too deeply)');
    // 1 MiB of nested arrays of numbers against a schema of arrays of strings: refused by the provider at the first issue.
    const big = Array.from({ length: 1024 }, (_, i) => Array.from({ length: 256 }, (_, j) => 1_000_000 + i * 256 + j));
    const refused = await expectCode(ch.call('sum', big), 'PIPEIO_ERR_VALIDATION');
    expect(refused.issues).to.deep.equal([{ path: [0, 0], message: 'must be string' }]);
    const typed = typedChannel(ch, grid);
    const local = await expectCode(typed.call('sum', big as never), 'PIPEIO_ERR_VALIDATION');
    expect(local.issues).to.have.length(20); // zod reports every element; 20 are kept
    expect(local.message).to.match(/^invalid parameters of math:sum: \[0\]\[0\]: .*\(\+\d+ more\)$/);
    expect(await ch.call('sum', big.map((row) => row.map(String))).then((r) => r.data)).to.equal(1024);
    expect(await math.call('add', { a: 40, b: 2 })).to.equal(42);
    expect(callerClient.state).to.equal('connected');
    expect(calls).to.deep.equal(['add']);
    // Nested deeper than the hub decodes (64 levels): the hub closes that connection with its reason
    // (a hub limit, not a schema's), keeps serving, and the client reconnects and replays.
    let deep: unknown[] = [];
    for (let i = 0; i < 100; i++) deep = [deep];
    const back = nextEvent(callerClient, 'reconnect', 15000);
    const dropped = await expectCode(ch.call('sum', deep), 'PIPEIO_ERR_CONNECTION');
    expect(dropped.message).to.match(/nesting deeper than 64/);
    await back;
    expect(await math.call('add', { a: 1, b: 1 })).to.equal(2);
  });
});
