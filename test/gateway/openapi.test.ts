import { expect } from 'chai';
import { PYDANTIC_REQ } from '../fixtures/pydantic-schema';
import { HubClient } from '../../lib/hub/client/hub-client';
import { GatewayFixture } from './gateway-fixture';
import { waitFor } from '../fixtures/helpers';

// ESM-only package, loaded through Node's require(esm).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Validator } = require('@seriousme/openapi-schema-validator') as {
  Validator: new () => { validate(doc: object): Promise<{ valid: boolean; errors?: unknown }>; version: string; resolveRefs(): object };
};

async function validDocument(url: string): Promise<Record<string, any>> {
  const res = await fetch(url);
  expect(res.status).to.equal(200);
  const doc = (await res.json()) as Record<string, any>;
  const v = new Validator();
  const result = await v.validate(structuredClone(doc));
  expect(result.errors ?? null, JSON.stringify(result.errors)).to.equal(null);
  expect(result.valid).to.equal(true);
  expect(v.version).to.equal('3.1');
  v.resolveRefs(); // every $ref resolves
  return doc;
}

describe('HubGateway OpenAPI', () => {
  const f = new GatewayFixture();
  before(() => f.start({ topics: { math: ['news'] } }));
  after(() => f.stop());

  it('serves a valid OpenAPI 3.1 document with every event, its schemas and SSE for streams', async () => {
    const doc = await validDocument(`${f.base}/openapi.json`);
    const add = doc['paths']['/channels/math/add']['post'];
    expect(add['requestBody']['content']['application/json']['schema']).to.deep.equal({ $ref: '#/components/schemas/math.add.parameters' });
    expect(doc['components']['schemas']['math.add.parameters']).to.deep.include({ required: ['a', 'b'] });
    expect(add['responses']['200']['content']['application/json']['schema']).to.deep.equal({ $ref: '#/components/schemas/math.add.returns' });
    expect(add['responses']['503']).to.exist;
    const count = doc['paths']['/channels/math/count']['post'];
    expect(count['responses']['200']['content']).to.have.property('text/event-stream');
    const news = doc['paths']['/channels/math/topics/news'];
    expect(news['get']['responses']['200']['content']).to.have.property('text/event-stream');
    expect(news['post']).to.exist; // this gateway owns the topic
  });

  it('keeps the document current as providers come and go, with pydantic $defs hoisted into components', async () => {
    const p = new HubClient({ path: f.socketPath }, { clientId: 'late-provider' });
    await p.connect();
    const ch = await p.open('math');
    await ch.addEvent('order', (m) => m.data, { parameters: PYDANTIC_REQ });
    await waitFor(async () => ((await (await fetch(`${f.base}/openapi.json`)).json()) as any)['paths']['/channels/math/order'], 'the new event in the document');
    const doc = await validDocument(`${f.base}/openapi.json`);
    const schemas = doc['components']['schemas'];
    expect(schemas['math.order.parameters']['properties']['items']['items']).to.deep.equal({ $ref: '#/components/schemas/math.order.parameters.Item' });
    expect(schemas['math.order.parameters.Item']).to.deep.include({ title: 'Item' });
    // ... and validation uses the same schema
    let res = await fetch(`${f.base}/channels/math/order`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', items: [{ id: 'no' }] }) });
    expect(res.status).to.equal(400);
    expect(((await res.json()) as { issues: Array<{ path: unknown[] }> }).issues[0]!.path).to.deep.equal(['items', 0, 'id']);
    res = await fetch(`${f.base}/channels/math/order`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', items: [{ id: 1 }] }) });
    expect(res.status).to.equal(200);
    await res.arrayBuffer();
    await p.close();
    await waitFor(async () => !((await (await fetch(`${f.base}/openapi.json`)).json()) as any)['paths']['/channels/math/order'], 'the event to leave the document');
    await validDocument(`${f.base}/openapi.json`);
  });

  it('answers 304 to If-None-Match with the current ETag', async () => {
    const first = await fetch(`${f.base}/openapi.json`);
    const etag = first.headers.get('etag')!;
    await first.arrayBuffer();
    const again = await fetch(`${f.base}/openapi.json`, { headers: { 'if-none-match': etag } });
    expect(again.status).to.equal(304);
  });
});
