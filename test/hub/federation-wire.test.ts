/**
 * The federation's own pieces without NATS or processes: the inter-hub wire
 * (frame batches, control messages, subjects), the options, and the outbox
 * (per-hub batching, coalescing, holding while a hub cannot be reached).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { encodeFrame } from '../../lib/hub/protocol/codec';
import { resolveClusterOptions } from '../../lib/hub/federation/options';
import { Outbox, RemoteEndpoint } from '../../lib/hub/federation/remote-endpoint';
import { decodeBatch, decodeControl, encodeBatch, encodeControl, inboxSubject, newer, subjectToken, type BatchItem } from '../../lib/hub/federation/wire';

describe('Hub federation wire', () => {
  it('round-trips frame batches byte for byte and refuses malformed ones', () => {
    const items: BatchItem[] = [
      { frame: encodeFrame({ type: 'call', data: 1.0 }), targets: ['P'] },
      { frame: encodeFrame({ type: 'broadcast', data: 'x' }), targets: ['a', 'b', 'é'] },
    ];
    const bytes = encodeBatch('hub-A', 'inst', items);
    const back = decodeBatch(new Uint8Array(bytes));
    expect(back.hub).to.equal('hub-A');
    expect(back.inst).to.equal('inst');
    expect(back.items.map((i) => i.targets)).to.deep.equal([['P'], ['a', 'b', 'é']]);
    for (let i = 0; i < items.length; i++) expect(back.items[i]!.frame.equals(items[i]!.frame)).to.equal(true);
    for (const cut of [1, 5, bytes.length - 1]) {
      expect(() => decodeBatch(bytes.subarray(0, cut)), `cut at ${cut}`).to.throw().with.property('code', 'PIPEIO_ERR_FEDERATION');
    }
    expect(() => decodeBatch(Buffer.concat([bytes, Buffer.from([0])]))).to.throw(/trailing/);
    const wrong = Buffer.from(bytes);
    wrong[0] = 9;
    expect(() => decodeBatch(wrong)).to.throw(/version 9/);
  });

  it('decodes control messages and refuses unknown kinds', () => {
    const m = decodeControl(encodeControl({ v: 1, hub: 'A', inst: 'i', k: 'hb', seq: 3, ver: 2 }));
    expect(m).to.deep.include({ k: 'hb', seq: 3, ver: 2 });
    expect(() => decodeControl(encodeControl({ v: 1, hub: 'A', inst: 'i', k: 'nope' } as never))).to.throw(/unknown control message kind "nope"/);
    expect(() => decodeControl(new Uint8Array([0xc0]))).to.throw(/malformed/);
  });

  it('turns any server id into a safe subject token', () => {
    expect(subjectToken('host-a_1')).to.equal('host-a_1');
    expect(subjectToken('a.b *>')).to.equal(`x${Buffer.from('a.b *>').toString('hex')}`);
    expect(inboxSubject('pipeio.hub', 'A')).to.equal('pipeio.hub.in.A');
  });

  it('orders password versions by time, then hub id', () => {
    expect(newer([2, 'A'], [1, 'Z'])).to.equal(true);
    expect(newer([1, 'B'], [1, 'A'])).to.equal(true);
    expect(newer([1, 'A'], [1, 'A'])).to.equal(false);
    expect(newer([1, 'A'], undefined)).to.equal(true);
  });

  it('validates cluster options', () => {
    expect(resolveClusterOptions(undefined, undefined)).to.equal(undefined);
    expect(() => resolveClusterOptions(undefined, {})).to.throw(TypeError, /needs options.nats/);
    expect(resolveClusterOptions({ servers: 'nats://x' }, undefined)).to.deep.equal({
      subjectPrefix: 'pipeio.hub',
      heartbeatInterval: 1000,
      peerTimeout: 3000,
      linkDownGrace: 10000,
      maxQueueBytes: 64 * 1024 * 1024,
    });
    expect(() => resolveClusterOptions({}, { subjectPrefix: 'a.*' })).to.throw(TypeError);
    expect(() => resolveClusterOptions({}, { heartbeatInterval: 1000, peerTimeout: 500 })).to.throw(RangeError);
    expect(() => resolveClusterOptions({}, { peerTimeout: -1 })).to.throw(RangeError);
  });
});

describe('Hub federation outbox', () => {
  function setup(maxBytes = 1 << 20): { outbox: Outbox; sent: Array<[string, BatchItem[]]>; up: Set<string>; overflows: number[] } {
    const sent: Array<[string, BatchItem[]]> = [];
    const up = new Set<string>(['B', 'C']);
    const overflows: number[] = [];
    const outbox = new Outbox({ send: (hub, items) => sent.push([hub, items]), canSend: (hub) => up.has(hub), onOverflow: () => overflows.push(1) }, maxBytes);
    return { outbox, sent, up, overflows };
  }

  it('sends one batch per hub per tick, and one item for a frame delivered to several members', async () => {
    const { outbox, sent } = setup();
    const eps = ['b1', 'b2', 'b3'].map((id) => new RemoteEndpoint(id, 'client', 'B', outbox));
    const c1 = new RemoteEndpoint('c1', 'client', 'C', outbox);
    const bcast = encodeFrame({ type: 'broadcast' });
    for (const ep of [...eps, c1]) ep.deliver(bcast);
    eps[0]!.deliver(encodeFrame({ type: 'call' }));
    expect(sent).to.have.length(0);
    await new Promise((r) => process.nextTick(r));
    expect(sent.map(([hub, items]) => [hub, items.map((i) => i.targets)])).to.deep.equal([
      ['B', [['b1', 'b2', 'b3'], ['b1']]],
      ['C', [['c1']]],
    ]);
    expect(outbox.bytes).to.equal(0);
  });

  it('holds frames for a hub that cannot be reached, sends them in order once it can, drops all past the bound', async () => {
    const { outbox, sent, up, overflows } = setup(300);
    up.delete('B');
    const b = new RemoteEndpoint('b1', 'client', 'B', outbox);
    b.deliver(encodeFrame({ type: 'call', n: 1 }));
    b.deliver(encodeFrame({ type: 'call', n: 2 }));
    await new Promise((r) => process.nextTick(r));
    expect(sent).to.have.length(0);
    up.add('B');
    outbox.flush();
    expect(sent).to.have.length(1);
    expect(sent[0]![1]).to.have.length(2);
    up.delete('B');
    for (let i = 0; i < 10; i++) b.deliver(encodeFrame({ type: 'call', data: 'x'.repeat(40) }));
    expect(overflows.length).to.be.greaterThan(0);
    expect(outbox.bytes).to.be.below(300);
  });
});

describe('Hub federation loading', () => {
  it('loads @nats-io/transport-node only for a hub given `nats`, and says how to install it when missing', function () {
    this.timeout(60_000); // a ts-node child process
    // A child where the package cannot be resolved: a plain hub works, a federated one throws a coded error.
    const script = `
      const Module = require('module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (req, ...rest) {
        if (req.startsWith('@nats-io/')) throw Object.assign(new Error('Cannot find module ' + req), { code: 'MODULE_NOT_FOUND' });
        return resolve.call(this, req, ...rest);
      };
      const { Hub } = require('./lib/hub/server/hub');
      new Hub({ serverId: 'plain' });
      try { new Hub({ serverId: 'fed', nats: { servers: ['nats://127.0.0.1:1'] } }); console.log('no error'); }
      catch (e) { console.log(e.code + ' ' + e.message); }`;
    const out = execFileSync(process.execPath, ['-r', 'ts-node/register', '-e', script], {
      cwd: path.resolve(__dirname, '..', '..'),
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
      encoding: 'utf8',
    });
    expect(out.trim()).to.equal('PIPEIO_ERR_FEDERATION options.nats needs the package @nats-io/transport-node: npm install @nats-io/transport-node');
  });
});
