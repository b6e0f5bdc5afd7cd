/**
 * comm-ipc's bridge (our faithful re-creation of CommIPCBridge, doc 8.4, in
 * test/fixtures/python/comm_ipc/bridge.py) federating OUR Hub with the Python
 * comm-ipc server: proxied RPC and streams both ways, relayed broadcasts
 * (exactly once, no loop), remote membership (announce / forget), our
 * cleanup of a dead bridge's members (comm-ipc keeps ghosts), and a 3-hub
 * chain S1 (ours) - S2 (Python) - S3 (ours) through two bridges.
 *
 * Synchronisation is by awaited lines/frames or polling with a deadline;
 * "exactly once" is checked with a marker sent after the message on the same
 * route: once the marker has arrived, any duplicate would have too.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { killChild, makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';
import { HubFixture } from './hub-fixture';
import { PyClient, startPyServer, type PyLine } from './python-peer';
import type { Frame, RawClient } from './raw-client';
import { needsPython, PYTHON } from '../fixtures/python-env';

const PY_ROOT = path.join(__dirname, '..', 'fixtures', 'python');

type Where = { path: string };
interface Member {
  id: string;
  mode: string;
  is_local: boolean;
  bridge_id?: string | null;
  path: string[];
}

/** A running bridge_cli child. */
interface Bridge {
  child: ChildProcess;
  stderr: () => string;
}

function startBridge(bridgeId: string, hub1: string, hub2: string, allow: string[]): Promise<Bridge> {
  const args = ['-m', 'comm_ipc.bridge_cli', '--bridge-id', bridgeId, '--hub1-socket', hub1, '--hub2-socket', hub2, '--verbose'];
  for (const ch of allow) args.push('--allow', ch);
  const child = spawn(PYTHON, args, {
    cwd: PY_ROOT,
    env: { ...process.env, PYTHONPATH: [PY_ROOT, process.env['PYTHONPATH']].filter(Boolean).join(path.delimiter), PYTHONUNBUFFERED: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`bridge ${bridgeId} not READY in 20 s; stderr: ${stderr}`)), 20000);
    const rl = readline.createInterface({ input: child.stdout! });
    const onExit = (code: number | null): void => fail(new Error(`bridge ${bridgeId} exited (${code}) before READY; stderr: ${stderr}`));
    function fail(err: Error): void {
      clearTimeout(timer);
      child.removeListener('exit', onExit);
      void killChild(child).then(() => reject(err));
    }
    rl.on('line', (line) => {
      if (!line.startsWith('READY')) return;
      clearTimeout(timer);
      child.removeListener('exit', onExit);
      resolve({ child, stderr: () => stderr });
    });
    child.on('exit', onExit);
  });
}

describe('comm-ipc bridge between our Hub and the Python comm-ipc server', function () {
  this.timeout(30000); // slow: Python processes (server, bridge, clients) start in ~100-300 ms each
  before(needsPython('msgpack'));
  let dir = '';
  const hubs: HubFixture[] = [];
  const pyServers: ChildProcess[] = [];
  const bridges: Bridge[] = [];
  const py: PyClient[] = [];

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const b of bridges) process.stderr.write(`--- bridge stderr:\n${b.stderr()}\n`);
    await Promise.all(bridges.splice(0).map((b) => killChild(b.child)));
    await Promise.all(py.splice(0).map((c) => c.stop()));
    await Promise.all(pyServers.splice(0).map((c) => killChild(c)));
    await Promise.all(hubs.splice(0).map((h) => h.stop()));
    removeTempDir(dir);
    dir = '';
  });

  /** Our Hub in-process, with the given server id. */
  async function ourHub(serverId: string): Promise<HubFixture> {
    const fx = new HubFixture();
    hubs.push(fx);
    await fx.start({ serverId, allowBridges: true });
    return fx;
  }

  /** The Python comm-ipc server as a child; returns its socket path. */
  async function pythonHub(serverId: string): Promise<Where> {
    if (!dir) dir = makeTempDir('pybridge');
    const sock = path.join(dir, `${serverId}.sock`);
    const { child, ready } = await startPyServer(['--socket', sock, '--server-id', serverId]);
    pyServers.push(child);
    expect(ready['server_id']).to.equal(serverId);
    return { path: sock };
  }

  async function bridge(id: string, hub1: Where, hub2: Where, allow = ['room']): Promise<Bridge> {
    const b = await startBridge(id, hub1.path, hub2.path, allow);
    bridges.push(b);
    return b;
  }

  async function pyClient(where: Where, id: string, extra: string[] = []): Promise<PyClient> {
    const c = await PyClient.start(where, id, extra);
    py.push(c);
    return c;
  }

  async function members(c: RawClient, channel = 'room'): Promise<Member[]> {
    const res = await c.request({ type: 'list_members', channel, request_id: `lm-${Math.random()}` });
    return (res['data'] as { members: Member[] }).members;
  }

  /** Answers the next `call` a raw provider gets with `reply(frame)`; returns the call frame. */
  async function serveOne(p: RawClient, reply: (call: Frame) => unknown): Promise<Frame> {
    const call = await p.nextOf('call', undefined, 10000);
    p.send({ type: 'response', request_id: call['request_id'], target_id: call['sender_id'], data: reply(call) });
    return call;
  }

  const isBroadcast = (event: string) => (f: Frame) => f['type'] === 'broadcast' && f['event'] === event;
  const isReceive = (name: string) => (l: PyLine) => l['event'] === 'receive' && l['name'] === name;
  const isEventMeta = (name: string) => (l: PyLine) =>
    l['event'] === 'metadata' && (l['message'] as Frame)['stype'] === 'event' && (l['message'] as Frame)['name'] === name;

  it('proxies RPC both ways: a Python-hub provider called from our hub, an our-hub provider called from the Python hub', async () => {
    const s1 = await ourHub('S1');
    const s2 = await pythonHub('S2');
    // Providers that exist before the bridge starts: found through explore() at sync.
    const pyProv = await pyClient(s2, 'py-prov');
    await pyProv.run({ op: 'open', channel: 'room' });
    await pyProv.run({ op: 'add_event', channel: 'room', event: 'add', handler: 'add' });
    await pyProv.run({ op: 'add_event', channel: 'room', event: 'boom', handler: 'fail', arg: 'provider says no' });
    const tsProv = await s1.client('ts-prov');
    await tsProv.open('room');
    await tsProv.provide('room', 'ts.echo');
    await bridge('br', { path: s1.socketPath }, s2);

    // Our hub -> bridge proxy (br-c1) -> Python hub provider.
    const caller1 = await pyClient({ path: s1.socketPath }, 'caller-1', ['--metadata']);
    await caller1.run({ op: 'open', channel: 'room' });
    expect(await caller1.run({ op: 'call', channel: 'room', event: 'add', data: { a: 2, b: 40 } })).to.equal(42);
    expect(await caller1.fails({ op: 'call', channel: 'room', event: 'boom', data: 1 })).to.equal('provider says no');

    // Python hub -> bridge proxy (br-c2) -> our raw provider: the call it gets was re-issued by the bridge.
    const caller2 = await pyClient(s2, 'caller-2');
    await caller2.run({ op: 'open', channel: 'room' });
    const pending = caller2.post({ op: 'call', channel: 'room', event: 'ts.echo', data: { x: 1 } });
    const call = await serveOne(tsProv, (c) => ({ echoed: c['data'] }));
    expect(call).to.deep.include({ channel: 'room', event: 'ts.echo', data: { x: 1 }, sender_id: 'br-c1', path: ['S1'], origin_server_id: 'S1' });
    expect(await caller2.result(pending)).to.deep.include({ ok: true, result: { echoed: { x: 1 } } });

    // A provider registered after the bridge started: proxied through the metadata hook.
    await pyProv.run({ op: 'add_event', channel: 'room', event: 'late', handler: 'whoami' });
    const meta = await caller1.waitLine(isEventMeta('late'));
    expect(meta['message']).to.deep.include({ owner: 'br-c1', channel: 'room', is_stream: false, is_group: false });
    expect(await caller1.run({ op: 'call', channel: 'room', event: 'late', data: null })).to.equal('py-prov');
  });

  it('proxies streams both ways, including a stream error after a chunk', async () => {
    const s1 = await ourHub('S1');
    const s2 = await pythonHub('S2');
    const provOurs = await pyClient({ path: s1.socketPath }, 'prov-ours');
    await provOurs.run({ op: 'open', channel: 'room' });
    await provOurs.run({ op: 'add_event', channel: 'room', event: 'items', handler: 'stream_items' });
    await bridge('br', { path: s1.socketPath }, s2);
    const caller1 = await pyClient({ path: s1.socketPath }, 'caller-1', ['--metadata']);
    await caller1.run({ op: 'open', channel: 'room' });
    const provPy = await pyClient(s2, 'prov-py');
    await provPy.run({ op: 'open', channel: 'room' });
    await provPy.run({ op: 'add_event', channel: 'room', event: 'count', handler: 'stream_n' });
    await provPy.run({ op: 'add_event', channel: 'room', event: 'bad', handler: 'stream_fail', arg: 'broke' });
    await caller1.waitLine(isEventMeta('count'));
    await caller1.waitLine(isEventMeta('bad'));

    // Python hub stream (proxied by the hook, is_stream from metadata_update) read on our hub.
    expect(await caller1.run({ op: 'stream', channel: 'room', event: 'count', data: { n: 5 } })).to.deep.equal([0, 1, 2, 3, 4]);
    const err = await caller1.result(caller1.post({ op: 'stream', channel: 'room', event: 'bad', data: null }));
    expect(err).to.deep.include({ ok: false, chunks: ['first'] });
    expect(String(err['error'])).to.equal('broke');

    // Our hub's stream (proxied at sync, is_stream from channel_sync) read on the Python hub.
    const caller2 = await pyClient(s2, 'caller-2');
    await caller2.run({ op: 'open', channel: 'room' });
    expect(await caller2.run({ op: 'stream', channel: 'room', event: 'items', data: ['a', { b: 1 }, 3] })).to.deep.equal(['a', { b: 1 }, 3]);
  });

  it('relays a broadcast to the other hub exactly once in each direction, with no loop back', async () => {
    const s1 = await ourHub('S1');
    const s2 = await pythonHub('S2');
    const sender1 = await s1.client('sender-1');
    const watch1 = await s1.client('watch-1');
    await sender1.open('room');
    await watch1.open('room');
    const sender2 = await pyClient(s2, 'sender-2');
    const watch2 = await pyClient(s2, 'watch-2');
    for (const c of [sender2, watch2]) {
      await c.run({ op: 'open', channel: 'room' });
      await c.run({ op: 'on_receive', channel: 'room' });
    }
    await bridge('br', { path: s1.socketPath }, s2);

    // Python hub -> our hub.
    await sender2.run({ op: 'broadcast', channel: 'room', event: 'hello', data: { n: 1 } });
    const got = await watch1.next(isBroadcast('hello'), 10000);
    expect(got).to.deep.include({
      channel: 'room',
      data: { n: 1 },
      sender_id: 'br-c1', // restamped by our hub: the original sender is lost
      server_id: 'S2', // the original sender's, passed through
      origin_server_id: 'S2',
      path: ['S2', 'S2', 'S1'], // S2 stamped, the bridge added its source hub again, S1 stamped
      request_id: null,
    });
    // Our hub -> Python hub; a broadcast carrying a request id is not relayed.
    sender1.send({ type: 'broadcast', channel: 'room', event: 'with-rid', data: 0, request_id: 'r-1' });
    sender1.send({ type: 'broadcast', channel: 'room', event: 'greet', data: { n: 2 } });
    const greet = await watch2.waitLine(isReceive('greet'));
    expect(greet).to.deep.include({ data: { n: 2 }, sender_id: 'br-c2' });
    expect(greet['message']).to.deep.include({ path: ['S1', 'S1', 'S2'], origin_server_id: 'S1', server_id: '' });

    // Markers on the same routes: once they arrive, any duplicate or looped copy would have arrived before them.
    await sender2.run({ op: 'broadcast', channel: 'room', event: 'marker-2', data: null });
    await watch1.next(isBroadcast('marker-2'), 10000);
    await sender1.next(isBroadcast('marker-2'), 10000);
    sender1.send({ type: 'broadcast', channel: 'room', event: 'marker-1', data: null });
    await watch2.waitLine(isReceive('marker-1'));
    await sender2.waitLine(isReceive('marker-1'));
    await watch1.next(isBroadcast('marker-1'));

    expect(watch1.frames.filter(isBroadcast('hello')), 'hello on our hub').to.have.length(0); // the one above only
    expect(sender1.frames.filter(isBroadcast('hello')), 'hello on our hub (other opener)').to.have.length(1);
    expect(watch1.frames.filter(isBroadcast('greet')), 'greet on its own hub').to.have.length(1); // direct only, no loop back
    const lines = (c: PyClient, name: string) => c.lines.filter(isReceive(name)).length;
    expect(lines(watch2, 'hello'), 'hello on its own hub').to.equal(1); // direct only, no loop back
    expect(lines(sender2, 'hello'), 'hello back to its sender').to.equal(0);
    expect(lines(watch2, 'greet'), 'greet on the Python hub').to.equal(0); // the one above only
    expect(lines(sender2, 'greet'), 'greet on the Python hub (other opener)').to.equal(1);
    expect(lines(watch2, 'with-rid') + lines(sender2, 'with-rid'), 'a broadcast with a request id').to.equal(0);
  });

  it('lists the members the bridge announced on our hub (is_local false, bridge_id, path) and tells openers', async () => {
    const s1 = await ourHub('S1');
    const s2 = await pythonHub('S2');
    const watch = await s1.client('watch-1');
    await watch.open('room');
    const early = await pyClient(s2, 'remote-early');
    await early.run({ op: 'open', channel: 'room' });
    await bridge('br', { path: s1.socketPath }, s2);
    const late = await pyClient(s2, 'remote-late');
    await late.run({ op: 'open', channel: 'room' });

    for (const id of ['remote-early', 'remote-late']) {
      const join = await watch.next((f) => f['type'] === 'metadata_update' && f['owner'] === id, 10000);
      expect(join).to.deep.equal({ type: 'metadata_update', stype: 'membership', action: 'join', owner: id, mode: 'client', channel: 'room', is_local: false, path: ['S2'] });
    }
    const list = await waitFor(async () => {
      const m = await members(watch);
      return m.some((x) => x.id === 'remote-late') ? m : null;
    }, 'remote-late in list_members', 10000) as Member[];
    expect(list.filter((m) => m.is_local)).to.deep.equal([
      { id: 'watch-1', mode: 'client', is_local: true, path: [] },
      { id: 'br-c1', mode: 'bridge', is_local: true, path: [] },
    ]);
    const remote = list.filter((m) => !m.is_local).sort((a, b) => a.id.localeCompare(b.id));
    expect(remote).to.deep.equal([
      { id: 'remote-early', mode: 'client', is_local: false, bridge_id: 'br-c1', path: ['S2'] },
      { id: 'remote-late', mode: 'client', is_local: false, bridge_id: 'br-c1', path: ['S2'] },
    ]); // never the bridge's own other side (br-c2): ids with the bridge prefix are not announced
  });

  it('when the remote client leaves, our openers get the remote leave and list_members drops it', async () => {
    const s1 = await ourHub('S1');
    const s2 = await pythonHub('S2');
    const watch = await s1.client('watch-1');
    await watch.open('room');
    const stay = await pyClient(s2, 'remote-stay');
    await stay.run({ op: 'open', channel: 'room' });
    const gone = await pyClient(s2, 'remote-gone');
    await gone.run({ op: 'open', channel: 'room' });
    await bridge('br', { path: s1.socketPath }, s2);
    await waitFor(async () => (await members(watch)).some((m) => m.id === 'remote-gone'), 'remote-gone announced', 10000);

    await gone.stop(); // the connection drops: S2 tells the bridge, the bridge sends forget_remote to our hub
    const leave = await watch.next((f) => f['type'] === 'metadata_update' && f['action'] === 'leave', 10000);
    expect(leave).to.deep.equal({ type: 'metadata_update', stype: 'membership', action: 'leave', owner: 'remote-gone', channel: 'room', is_local: false });
    const ids = (await members(watch)).map((m) => m.id);
    expect(ids).to.include('remote-stay');
    expect(ids).not.to.include('remote-gone');
  });

  it('drops every member a killed bridge announced (no ghosts), where comm-ipc keeps its ghosts', async () => {
    const s1 = await ourHub('S1');
    const s2 = await pythonHub('S2');
    const watch = await s1.client('watch-1');
    await watch.open('room');
    const local2 = await pyClient({ path: s1.socketPath }, 'local-2');
    await local2.run({ op: 'open', channel: 'room' });
    const remotes = ['remote-a', 'remote-b', 'remote-c'];
    const remoteClients = new Map<string, PyClient>();
    for (const id of remotes) {
      remoteClients.set(id, await pyClient(s2, id));
      await remoteClients.get(id)!.run({ op: 'open', channel: 'room' });
    }
    const holder = remoteClients.get('remote-a')!;
    await holder.run({ op: 'add_event', channel: 'room', event: 'hold', handler: 'gate', notify: true });
    const b = await bridge('br', { path: s1.socketPath }, s2);
    await waitFor(async () => (await members(watch)).filter((m) => !m.is_local).length === 3, 'three remote members', 10000);
    const observer2 = await pyClient(s2, 'observer-2'); // joins after the sync: announced by the metadata hook
    await observer2.run({ op: 'open', channel: 'room' });
    remotes.push('observer-2');
    await waitFor(async () => (await members(watch)).filter((m) => !m.is_local).length === 4, 'four remote members', 10000);
    // Python S2 lists our hub's members as remote (announced by the bridge at sync)...
    await waitFor(async () => {
      const m = (await observer2.run({ op: 'list_members', channel: 'room' })) as { members: Member[] };
      return m.members.some((x) => x.id === 'local-2' && !x.is_local);
    }, 'local-2 on S2', 10000);

    // A call from our hub held by the Python provider, through the bridge's proxy on our hub.
    const held = local2.post({ op: 'call', channel: 'room', event: 'hold', data: 7 });
    await holder.waitLine((l) => l['event'] === 'served' && l['name'] === 'hold');

    await killChild(b.child);
    // Our hub answers the call the dead bridge owed (comm-ipc leaves the caller hanging), and its proxy is gone.
    expect(await local2.result(held)).to.deep.include({ ok: false, error: 'Provider of room:hold disconnected before answering' });
    expect(await local2.fails({ op: 'call', channel: 'room', event: 'hold', data: 8 })).to.equal('No provider for room:hold');
    const left = new Set<string>();
    const bridgeLeft = await watch.next((x) => x['type'] === 'metadata_update' && x['action'] === 'leave' && x['owner'] === 'br-c1', 10000);
    expect(bridgeLeft).to.deep.include({ stype: 'membership', mode: 'bridge', channel: 'room' }); // its own, local, leave
    while (left.size < remotes.length) {
      const f = await watch.next((x) => x['type'] === 'metadata_update' && x['action'] === 'leave' && x['is_local'] === false, 10000);
      expect(f).to.deep.equal({ type: 'metadata_update', stype: 'membership', action: 'leave', owner: f['owner'], channel: 'room', is_local: false });
      left.add(String(f['owner']));
    }
    expect([...left].sort()).to.deep.equal(remotes.sort());
    expect(await members(watch)).to.deep.equal([
      { id: 'watch-1', mode: 'client', is_local: true, path: [] },
      { id: 'local-2', mode: 'client', is_local: true, path: [] },
    ]);
    // ...and keeps them after the bridge died (comm-ipc quirk 8.3 / 14.14, reproduced by the Python server).
    await waitFor(async () => {
      const m = (await observer2.run({ op: 'list_members', channel: 'room' })) as { members: Member[] };
      return !m.members.some((x) => x.id === 'br-c2');
    }, 'the bridge gone from S2', 10000);
    const ghosts = ((await observer2.run({ op: 'list_members', channel: 'room' })) as { members: Member[] }).members.filter((m) => !m.is_local);
    expect(ghosts.map((m) => m.id).sort()).to.deep.equal(['local-2', 'watch-1']);
  });

  it('chains our S1 - Python S2 - our S3 through two bridges: RPC from S3 reaches S1, a broadcast from S1 reaches S3 once', async () => {
    const s1 = await ourHub('S1');
    const s2 = await pythonHub('S2');
    const s3 = await ourHub('S3');
    const watch3 = await s3.client('watch-3');
    await watch3.open('room');
    const caller3 = await pyClient({ path: s3.socketPath }, 'caller-3', ['--metadata']);
    await caller3.run({ op: 'open', channel: 'room' });
    const owner1 = await s1.client('owner-1'); // owns the channel on S1, so prov-1 leaving does not terminate it
    await owner1.open('room');
    const prov1 = await pyClient({ path: s1.socketPath }, 'prov-1');
    await prov1.run({ op: 'open', channel: 'room' });
    await bridge('brA', { path: s1.socketPath }, s2);
    await bridge('brB', s2, { path: s3.socketPath });

    // The S1 member is visible on S3, two hops away.
    const seen = await waitFor(async () => (await members(watch3)).find((m) => m.id === 'prov-1'), 'prov-1 on S3', 10000);
    expect(seen).to.deep.equal({ id: 'prov-1', mode: 'client', is_local: false, bridge_id: 'brB-c2', path: ['S1', 'S2'] });

    // A provider registered on S1 now: brA proxies it onto S2, whose metadata_update makes brB proxy it onto S3.
    await prov1.run({ op: 'add_event', channel: 'room', event: 'who', handler: 'whoami' });
    await prov1.run({ op: 'add_event', channel: 'room', event: 'add', handler: 'add' });
    await caller3.waitLine(isEventMeta('who'));
    await caller3.waitLine(isEventMeta('add'));
    expect(await caller3.run({ op: 'call', channel: 'room', event: 'who', data: null })).to.equal('prov-1');
    expect(await caller3.run({ op: 'call', channel: 'room', event: 'add', data: { a: 20, b: 22 } })).to.equal(42);

    // A broadcast from S1 crosses both bridges once.
    await prov1.run({ op: 'broadcast', channel: 'room', event: 'news', data: { v: 1 } });
    const news = await watch3.next(isBroadcast('news'), 10000);
    expect(news).to.deep.include({ data: { v: 1 }, sender_id: 'brB-c2', origin_server_id: 'S1', server_id: 'S1', path: ['S1', 'S1', 'S2', 'S2', 'S3'] });
    await prov1.run({ op: 'broadcast', channel: 'room', event: 'marker', data: null });
    await watch3.next(isBroadcast('marker'), 10000);
    expect(watch3.frames.filter(isBroadcast('news')), 'news on S3').to.have.length(0); // the one above only

    // prov-1 leaving S1 is forgotten on S2 by brA, which brB forwards to S3.
    await prov1.stop();
    const leave = await watch3.next((f) => f['type'] === 'metadata_update' && f['action'] === 'leave' && f['owner'] === 'prov-1', 10000);
    expect(leave).to.deep.equal({ type: 'metadata_update', stype: 'membership', action: 'leave', owner: 'prov-1', channel: 'room', is_local: false });
    expect((await members(watch3)).map((m) => m.id)).not.to.include('prov-1');
  });
  it('in a ring S1 - S2 - S3 - S1, our S3 prefers the strictly shorter route and purges the member when it leaves', async () => {
    const s1 = await ourHub('S1');
    const s2 = await pythonHub('S2');
    const s3 = await ourHub('S3');
    const owner1 = await s1.client('owner-1');
    await owner1.open('room');
    const clientA = await pyClient({ path: s1.socketPath }, 'client-a');
    await clientA.run({ op: 'open', channel: 'room' });
    const watch3 = await s3.client('watch-3');
    await watch3.open('room');
    await bridge('brA', { path: s1.socketPath }, s2);
    await bridge('brB', s2, { path: s3.socketPath });
    const find = async (): Promise<Member | undefined> => (await members(watch3)).find((m) => m.id === 'client-a');
    expect(await waitFor(find, 'client-a on S3 via S2', 10000)).to.deep.equal({ id: 'client-a', mode: 'client', is_local: false, bridge_id: 'brB-c2', path: ['S1', 'S2'] });

    await bridge('brC', { path: s3.socketPath }, { path: s1.socketPath });
    const short = await waitFor(async () => {
      const m = await find();
      return m?.bridge_id === 'brC-c1' ? m : null;
    }, 'the 1-hop route on S3', 10000);
    expect(short).to.deep.equal({ id: 'client-a', mode: 'client', is_local: false, bridge_id: 'brC-c1', path: ['S1'] });
    expect((await members(watch3)).filter((m) => m.id === 'client-a'), 'listed once').to.have.length(1);

    await clientA.stop();
    const leave = await watch3.next((f) => f['type'] === 'metadata_update' && f['action'] === 'leave' && f['owner'] === 'client-a', 10000);
    expect(leave).to.deep.include({ channel: 'room', is_local: false });
    await waitFor(async () => !(await find()), 'client-a purged from S3', 10000);
  });
});
