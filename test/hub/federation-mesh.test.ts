/**
 * Three federated hubs (A, B, C through NATS), and beside them a plain hub D
 * joined to C by comm-ipc's bridge (the Python CommIPCBridge re-creation in
 * test/fixtures/python/comm_ipc/bridge.py): no loops, no duplicates.
 *
 * "Exactly once" is checked with a marker sent after the messages on the
 * same routes: once every marker has arrived, any duplicate would have too.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { killChild, waitFor } from '../fixtures/helpers';
import { call, ClusterFixture, rid, serve, waitMember } from './cluster-fixture';
import type { Frame, RawClient } from './raw-client';
import { needsPython, PYTHON } from '../fixtures/python-env';
import { needsTools } from '../fixtures/tools';

const PY_ROOT = path.join(__dirname, '..', 'fixtures', 'python');

/** comm-ipc's bridge between two hub sockets, READY once both sides are synced. */
function startBridge(bridgeId: string, hub1: string, hub2: string, allow: string[], log?: string[]): Promise<ChildProcess> {
  const args = ['-m', 'comm_ipc.bridge_cli', '--bridge-id', bridgeId, '--hub1-socket', hub1, '--hub2-socket', hub2];
  if (log) args.push('--verbose');
  for (const ch of allow) args.push('--allow', ch);
  const child = spawn(PYTHON, args, {
    cwd: PY_ROOT,
    env: { ...process.env, PYTHONPATH: [PY_ROOT, process.env['PYTHONPATH']].filter(Boolean).join(path.delimiter), PYTHONUNBUFFERED: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  if (log) readline.createInterface({ input: child.stderr! }).on('line', (line) => log.push(line));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => void killChild(child).then(() => reject(new Error(`bridge not READY in 20 s: ${stderr}`))), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bridge exited (${code}) before READY: ${stderr}`));
    });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('READY')) return;
      clearTimeout(timer);
      resolve(child);
    });
  });
}

/** Sends one broadcast per sender, then a marker per sender; returns what each opener got before all markers. */
async function broadcastRound(openers: Map<string, RawClient>, senders: string[], tag: string): Promise<Map<string, string[]>> {
  for (const s of senders) openers.get(s)!.send({ type: 'broadcast', channel: 'room', event: 'msg', data: { tag, from: s } });
  for (const s of senders) openers.get(s)!.send({ type: 'broadcast', channel: 'room', event: 'marker', data: { tag, from: s } });
  const got = new Map<string, string[]>();
  for (const [id, c] of openers) {
    const expected = senders.filter((s) => s !== id);
    for (const s of expected) await c.next((f) => f['event'] === 'marker' && (f['data'] as Frame)['from'] === s && (f['data'] as Frame)['tag'] === tag, 10_000);
    const mine = c.frames.filter((f) => f['type'] === 'broadcast' && f['event'] === 'msg' && (f['data'] as Frame)['tag'] === tag);
    got.set(id, mine.map((f) => (f['data'] as Frame)['from'] as string).sort());
    c.frames.splice(0); // the rest (notices, markers) is not this round's business
  }
  return got;
}

describe('Hub federation: 3 hubs, and beside comm-ipc bridges', function () {
  this.timeout(90_000);
  before(needsTools('nats-server'));
  const fx = new ClusterFixture();
  let bridge: ChildProcess | undefined;
  afterEach(async () => {
    await killChild(bridge);
    bridge = undefined;
    await fx.stop();
  });

  it('3 hubs: broadcasts, publications and calls arrive once each, nothing loops', async () => {
    await fx.nats.start();
    await Promise.all(['A', 'B', 'C'].map((h) => fx.startHub(h, { lbPolicy: 'round-robin' })));
    await fx.waitMesh(['A', 'B', 'C']);
    const openers = new Map<string, RawClient>();
    for (const [hub, id] of [['A', 'a1'], ['A', 'a2'], ['B', 'b1'], ['C', 'c1'], ['C', 'c2']] as const) {
      const c = await fx.client(hub, id);
      await c.open('room');
      openers.set(id, c);
    }
    for (const c of openers.values()) for (const id of openers.keys()) await waitMember(c, 'room', id);
    const got = await broadcastRound(openers, ['a1', 'b1', 'c1'], 'r1');
    for (const [id, from] of got) expect(from, `broadcasts at ${id}`).to.deep.equal(['a1', 'b1', 'c1'].filter((s) => s !== id));
    // Pub/sub: owner on A, subscribers on all three hubs.
    const owner = openers.get('a1')!;
    await owner.request({ type: 'add_subscription', channel: 'room', sub_name: 't', request_id: rid() });
    for (const id of ['a2', 'b1', 'c1', 'c2']) await openers.get(id)!.request({ type: 'subscribe', channel: 'room', sub_name: 't', request_id: rid() });
    expect((await owner.nextOf('receive'))['event']).to.equal('subscription.t.first');
    // Until every hub's subscribers are known on A a publication may miss some: publish until c2 (on C) gets one.
    let w = 0;
    await waitFor(async () => {
      owner.send({ type: 'publish', channel: 'room', sub_name: 't', data: { warm: ++w } });
      return openers.get('c2')!.next((f) => f['event'] === 'subscription.t.data', 200).catch(() => undefined);
    }, 'c2 to receive a publication');
    for (const c of openers.values()) await c.drainUntilPong();
    owner.send({ type: 'publish', channel: 'room', sub_name: 't', data: { n: 'x' } });
    owner.send({ type: 'publish', channel: 'room', sub_name: 't', data: { n: 'marker' } });
    for (const id of ['a2', 'b1', 'c1', 'c2']) {
      const c = openers.get(id)!;
      await c.next((f) => (f['data'] as Frame)?.['n'] === 'marker', 10_000);
      expect(c.frames.filter((f) => (f['data'] as Frame)?.['n'] === 'x'), `publications at ${id}`).to.have.length(1);
      c.frames.splice(0);
    }
    expect((await owner.drainUntilPong()).filter((f) => String(f['event']).startsWith('subscription.t.first'))).to.have.length(0);
    // A group over the three hubs: round-robin from each caller's hub.
    const counts: Record<string, number> = {};
    for (const [hub, id] of [['A', 'pa'], ['B', 'pb'], ['C', 'pc']] as const) {
      const p = await fx.client(hub, id);
      p.send({ type: 'register', request_id: 'g', channel: 'grp', is_provider: true, event: 'e', is_group: true });
      await p.nextOf('response', 'g');
      counts[id] = 0;
      serve(p, () => {
        counts[id]!++;
        return [{ data: id }];
      });
    }
    const caller = openers.get('b1')!;
    for (const id of ['pa', 'pc']) await waitMember(caller, 'grp', id);
    for (let i = 0; i < 300; i++) expect(await call(caller, 'grp', 'e', i)).to.not.have.property('error');
    expect(counts).to.deep.equal({ pa: 100, pb: 100, pc: 100 });
  });

  it('beside a comm-ipc bridge to a plain hub: broadcasts cross once in each direction, RPC goes through', async function () {
    needsPython('msgpack').call(this);
    await fx.nats.start();
    await Promise.all(['A', 'B', 'C'].map((h) => fx.startHub(h)));
    await fx.startHub('D', { federated: false });
    await fx.waitMesh(['A', 'B', 'C']);
    const openers = new Map<string, RawClient>();
    for (const [hub, id] of [['A', 'a1'], ['B', 'b1'], ['C', 'c1'], ['D', 'd1']] as const) {
      const c = await fx.client(hub, id);
      await c.open('room');
      openers.set(id, c);
    }
    for (const c of ['a1', 'b1', 'c1']) for (const id of ['a1', 'b1', 'c1']) await waitMember(openers.get(c)!, 'room', id);
    const dp = await fx.client('D', 'dp');
    dp.send({ type: 'register', request_id: 'reg', channel: 'room', is_provider: true, event: 'echo', is_stream: false, is_group: false });
    await dp.nextOf('response', 'reg');
    serve(dp, (c) => [{ data: { echo: c['data'] } }]);
    bridge = await startBridge('bridge-net', fx.hubs.get('C')!.socket, fx.hubs.get('D')!.socket, ['room']);
    // The bridge announced the NATS side's members to D (A's a1 came to C through NATS).
    await waitMember(openers.get('d1')!, 'room', 'a1');
    const got = await broadcastRound(openers, ['a1', 'b1', 'c1', 'd1'], 'r1');
    for (const [id, from] of got) expect(from, `broadcasts at ${id}`).to.deep.equal(['a1', 'b1', 'c1', 'd1'].filter((s) => s !== id));
    // D's provider, proxied by the bridge onto C, is callable from A and B through NATS.
    await waitMember(openers.get('a1')!, 'room', 'bridge-net-c1');
    for (const id of ['a1', 'b1']) {
      const res = await call(openers.get(id)!, 'room', 'echo', id);
      expect(res['data']).to.deep.equal({ echo: id });
    }
  });

  it('a comm-ipc bridge between two hubs of one cluster (a misconfiguration) still duplicates no broadcast', async function () {
    needsPython('msgpack').call(this);
    await fx.nats.start();
    await Promise.all(['A', 'B'].map((h) => fx.startHub(h)));
    await fx.waitMesh(['A', 'B']);
    const openers = new Map<string, RawClient>();
    for (const [hub, id] of [['A', 'a1'], ['A', 'a2'], ['B', 'b1']] as const) {
      const c = await fx.client(hub, id);
      await c.open('room');
      openers.set(id, c);
    }
    for (const c of openers.values()) for (const id of openers.keys()) await waitMember(c, 'room', id);
    const log: string[] = [];
    bridge = await startBridge('bridge-net', fx.hubs.get('A')!.socket, fx.hubs.get('B')!.socket, ['room'], log);
    await waitMember(openers.get('b1')!, 'room', 'bridge-net-c1');
    for (const c of openers.values()) await c.drainUntilPong();
    const a1 = openers.get('a1')!;
    const b1 = openers.get('b1')!;
    a1.send({ type: 'broadcast', channel: 'room', event: 'msg', data: 1 });
    a1.send({ type: 'broadcast', channel: 'room', event: 'marker', data: 1 });
    // The bridge relays A's copy to B (path [A, A]); B, which already had it through NATS, must drop it.
    await waitFor(() => log.some((l) => l.includes('relay room:marker hub 1 -> hub 2')), 'the bridge to relay the marker to B');
    await b1.nextOf('broadcast', undefined, 5000).then((f) => expect(f['event']).to.equal('msg'));
    const rest = await b1.drainUntilPong();
    expect(rest.filter((f) => f['event'] === 'msg'), 'a relayed duplicate').to.have.length(0);
    expect(rest.filter((f) => f['event'] === 'marker')).to.have.length(1);
  });
});
