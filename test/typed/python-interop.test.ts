/**
 * Typed events across languages: the Python re-creation of comm-ipc, with
 * its pydantic behaviour (test/fixtures/python/comm_ipc/typed.py), against
 * our Hub and HubClient, both ways. Skipped, with the reason printed, when
 * the Python interpreter ($PIO_PYTHON or python3) lacks msgpack or pydantic
 * >= 2 (Debian's python3-pydantic is v1): never a failure.
 */
import { expect } from 'chai';
import { z } from 'zod';
import { defineContract, implement, jsonSchema, typedChannel, type HubMessage } from '../../lib';
import { ClientFixture, expectCode, waitFor } from '../hub/client-fixture';
import { PyClient } from '../hub/python-peer';
import { pythonMissing } from '../fixtures/python-env';



/** The zod side of the interop: nested objects, arrays of a $defs model, optional fields, enums. */
const Line = z.object({ sku: z.string(), qty: z.number().int() }).meta({ id: 'Line', title: 'Line' });
const Order = z
  .object({
    id: z.number().int(),
    customer: z.object({ name: z.string(), email: z.string().optional() }),
    lines: z.array(Line),
    status: z.enum(['new', 'paid']),
    note: z.string().optional(),
  })
  .meta({ title: 'Order' });
const shop = defineContract({
  events: {
    order: { parameters: z.object({ id: z.number().int() }), returns: Order },
    orders: { parameters: z.object({ n: z.number().int() }), returns: Order, stream: true },
  },
  topics: { shipped: { payload: Order } },
});

function order(id: number): z.input<typeof Order> {
  return { id, customer: { name: `c${id}` }, lines: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2 }], status: 'paid' };
}

/** The `$model` marker the Python driver prints for a pydantic model instance. */
type PyModel = { $model: string; fields: Record<string, unknown> };

describe('typed events with Python comm-ipc peers (pydantic)', function () {
  this.timeout(30000); // slow: Python processes with pydantic start in ~0.5 s each
  let fx: ClientFixture;
  const py: PyClient[] = [];

  before(function () {
    const missing = pythonMissing('msgpack', 'pydantic');
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip(); // no usable pydantic 2 here: reason printed above
    }
  });
  beforeEach(async () => {
    fx = await ClientFixture.start();
  });
  afterEach(async () => {
    await Promise.all(py.splice(0).map((c) => c.stop()));
    await fx.stop();
  });

  async function python(id: string, extra: string[] = []): Promise<PyClient> {
    const c = await PyClient.start({ path: fx.socketPath }, id, ['--no-reconnect', ...extra]);
    py.push(c);
    return c;
  }

  it('a pydantic provider: bad data refused with pydantic’s text, a result breaking `returns` rejected by a validating caller, schema() unchanged', async () => {
    const p = await python('py-prov');
    await p.run({ op: 'open', channel: 'math' });
    await p.run({ op: 'add_event', channel: 'math', event: 'add', handler: 'sum_model', parameters: 'AddParams', returns: 'Sum' });
    await p.run({ op: 'add_event', channel: 'math', event: 'drift', handler: 'sum_model', parameters: 'AddParams', returns: 'DriftSum' });
    await p.run({ op: 'add_event', channel: 'math', event: 'req', handler: 'echo', parameters: 'Req', returns: 'Req' });
    const reqSchema = await p.run({ op: 'model_schema', model: 'Req' });

    const client = await fx.client({ validateReceived: true });
    const math = await client.open('math');
    expect((await math.call('add', { a: 1, b: 2 })).data).to.deep.equal({ result: 3 });

    const err = await expectCode(math.call('add', { a: 'x', b: 2 }), 'PIPEIO_ERR_VALIDATION');
    expect(err.remoteMessage).to.match(/^1 validation error for AddParams\na\n {2}Input should be a valid integer, unable to parse string as an integer \[type=int_parsing/);
    expect(err.issues).to.deep.equal([{ path: ['a'], message: 'Input should be a valid integer, unable to parse string as an integer' }]);
    expect(err.message).to.equal('call math:add: 1 validation error for AddParams: a: Input should be a valid integer, unable to parse string as an integer');

    // DriftSum announces result: integer but serialises "3": pydantic lets it out, our validating caller does not.
    const drift = await expectCode(math.call('drift', { a: 1, b: 2 }), 'PIPEIO_ERR_VALIDATION');
    expect(drift.message).to.equal('invalid result of math:drift from py-prov: result: must be integer');
    const trusting = await (await fx.client()).open('math');
    expect((await trusting.call('drift', { a: 1, b: 2 })).data).to.deep.equal({ result: '3' });

    // schema('req') is pydantic's JSON Schema unchanged (same keys, same order), $defs/$ref and all.
    const info = math.schema('req');
    expect(info?.type).to.equal('event');
    expect(JSON.stringify(info?.type === 'event' ? info.parameters : null)).to.equal(JSON.stringify(reqSchema));
    expect(JSON.stringify(info?.type === 'event' ? info.returns : null)).to.equal(JSON.stringify(reqSchema));
    expect(info).to.deep.include({ owner: 'py-prov', is_stream: false, is_group: false });

    // The same schema, typed on our side with jsonSchema<T>(), checks a typed call before it leaves.
    type Req = { name: string; items: Array<{ id: number; tags?: string[] }>; opt?: number | null };
    const Req = jsonSchema<Req>(reqSchema as Record<string, unknown>);
    const typed = typedChannel(math, defineContract({ events: { req: { parameters: Req, returns: Req } } }));
    expect(await typed.call('req', { name: 'n', items: [{ id: 1 }] })).to.deep.equal({ name: 'n', items: [{ id: 1, tags: [] }], opt: null });
    const local = await expectCode(typed.call('req', { name: 'n', items: [{ id: 'one' }] } as never), 'PIPEIO_ERR_VALIDATION');
    expect(local.message).to.equal('invalid parameters of math:req: items[0].id: must be integer');
  });

  it('our zod provider: a return_type="model" Python client gets model instances; its bad data is refused', async () => {
    const app = implement(shop, {
      order: ({ id }) => order(id),
      async *orders({ n }) {
        for (let i = 1; i <= n; i++) yield order(i);
      },
    });
    await app.register(await (await fx.client({ clientId: 'node-shop' })).open('shop'));
    const c = await python('py-model', ['--return-type', 'model']);
    await c.run({ op: 'open', channel: 'shop' });
    const got = (await c.run({ op: 'call', channel: 'shop', event: 'order', data: { id: 7 } })) as PyModel;
    expect(got).to.deep.equal({
      $model: 'Order',
      fields: {
        id: 7,
        customer: { $model: 'Customer', fields: { name: 'c7', email: null } }, // a nested object: a nested model; optional: None
        lines: [
          { $model: 'Line', fields: { sku: 'a', qty: 1 } }, // array items through $defs/$ref
          { $model: 'Line', fields: { sku: 'b', qty: 2 } },
        ],
        status: 'paid', // an enum of strings: a str
        note: null,
      },
    });
    const chunks = (await c.run({ op: 'stream', channel: 'shop', event: 'orders', data: { n: 2 } })) as PyModel[];
    expect(chunks.map((m) => [m.$model, m.fields['id']])).to.deep.equal([['Order', 1], ['Order', 2]]);
    expect(await c.fails({ op: 'call', channel: 'shop', event: 'order', data: { id: 'x' } })).to.equal(
      'invalid parameters of shop:order: id: Invalid input: expected number, received string',
    );
    const schema = (await c.run({ op: 'get_schema', channel: 'shop', name: 'order' })) as Record<string, unknown>;
    expect(schema['type']).to.equal('event');
    expect(schema['return_schema']).to.deep.include({ title: 'Order', type: 'object' });
  });

  it('topics: a typed Node topic reaches a Python subscriber as a model; a pydantic topic is validated by a validating Node subscriber', async () => {
    const owner = await app();
    async function app() {
      const a = implement(shop, { order: ({ id }) => order(id), async *orders() {} });
      return a.register(await (await fx.client({ clientId: 'node-shop' })).open('shop'));
    }
    const sub = await python('py-sub', ['--return-type', 'model']);
    await sub.run({ op: 'open', channel: 'shop' }); // channel_sync brings the topic's schema (under param_schema)
    await sub.run({ op: 'subscribe', channel: 'shop', sub_name: 'shipped' });
    await owner.publish('shipped', order(9));
    const rec = await sub.waitLine((l) => l['event'] === 'receive' && l['name'] === 'subscription.shipped.data');
    const model = rec['data'] as PyModel;
    expect(model.$model).to.equal('Order');
    expect((model.fields['lines'] as PyModel[])[1]).to.deep.equal({ $model: 'Line', fields: { sku: 'b', qty: 2 } });

    const pub = await python('py-pub');
    await pub.run({ op: 'open', channel: 'alerts' });
    await pub.run({ op: 'add_subscription', channel: 'alerts', sub_name: 'news', model: 'News' });
    expect(await pub.fails({ op: 'publish', channel: 'alerts', sub_name: 'news', data: { title: 't', level: 'high' } })).to.match(
      /^1 validation error for News\nlevel\n/,
    ); // pydantic refuses before sending
    const client = await fx.client({ validateReceived: true });
    const dropped: Array<[HubMessage, Error]> = [];
    client.on('dropped', (msg, reason) => dropped.push([msg, reason]));
    const alerts = await client.open('alerts');
    expect(alerts.schema('news')).to.deep.include({ type: 'subscription', owner: 'py-pub' });
    const news: unknown[] = [];
    await alerts.subscribe('news', (msg) => void news.push(msg.data));
    // A publication breaking the announced schema, sent raw (as a peer without the model would): dropped.
    await pub.run({ op: 'raw', frame: { type: 'publish', channel: 'alerts', sub_name: 'news', data: { title: 't', level: 'high' } } });
    await pub.run({ op: 'publish', channel: 'alerts', sub_name: 'news', data: { title: 'ok', level: 2 } });
    await waitFor(() => news.length === 1 && dropped.length === 1, 'one publication delivered, one dropped');
    expect(news).to.deep.equal([{ title: 'ok', level: 2 }]);
    expect(dropped[0]![1].message).to.equal('invalid publication on alerts:news from py-pub: level: must be integer');
  });
});
