/**
 * HubBridge (ours, comm-ipc bridge semantics) linking our Hub with the
 * Python comm-ipc server, and two of our hubs: proxied calls and streams,
 * relayed broadcasts exactly once, remote members announced and forgotten.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { HubBridge } from '../../lib/hub/bridge/hub-bridge';
import { HubClient } from '../../lib/hub/client';
import { Hub } from '../../lib/hub/server/hub';
import { killChild, makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';
import { PyClient, startPyServer } from './python-peer';
import { needsPython } from '../fixtures/python-env';

describe('HubBridge', function () {
  this.timeout(30000); // slow: Python processes
  let dir: string | undefined;
  const hubs: Hub[] = [];
  const clients: HubClient[] = [];
  const py: PyClient[] = [];
  let pyServer: ChildProcess | undefined;
  let bridge: HubBridge | undefined;

  afterEach(async () => {
    await bridge?.stop();
    bridge = undefined;
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(py.splice(0).map((c) => c.stop()));
    await killChild(pyServer);
    pyServer = undefined;
    await Promise.all(hubs.splice(0).map((h) => h.stop()));
    removeTempDir(dir);
  });

  async function ourHub(serverId: string): Promise<string> {
    const hub = new Hub({ serverId, allowBridges: true });
    hub.on('clientError', () => undefined);
    hubs.push(hub);
    const sock = path.join(dir!, `${serverId}.sock`);
    await hub.listen({ path: sock });
    return sock;
  }

  async function client(sock: string, clientId: string): Promise<HubClient> {
    const c = new HubClient({ path: sock }, { clientId, autoReconnect: false });
    c.on('error', () => undefined);
    clients.push(c);
    await c.connect();
    return c;
  }

  it('links our hub with a Python comm-ipc hub: calls, streams, broadcasts once, remote members', async function () {
    needsPython('msgpack').call(this);
    dir = makeTempDir('hubbr');
    const s1 = await ourHub('S1');
    const s2 = path.join(dir, 'S2.sock');
    pyServer = (await startPyServer(['--socket', s2, '--server-id', 'S2'])).child;
    // a Python provider and listener on the Python hub
    const pyProv = await PyClient.start({ path: s2 }, 'py-prov');
    py.push(pyProv);
    await pyProv.run({ op: 'open', channel: 'room' });
    await pyProv.run({ op: 'add_event', channel: 'room', event: 'add', handler: 'add' });
    await pyProv.run({ op: 'add_event', channel: 'room', event: 'count', handler: 'stream_n' });
    await pyProv.run({ op: 'on_receive', channel: 'room' });
    // one of ours on our hub, opened before the bridge so it owns the channel there
    const local = await client(s1, 'ts-local');
    const room = await local.open('room');
    const heard: unknown[] = [];
    room.onReceive('news', (m) => void heard.push(m.data));

    bridge = new HubBridge({ path: s1 }, { path: s2 }, { bridgeId: 'tbr', allowedChannels: ['room'] });
    await bridge.start();

    expect((await room.call('add', { a: 20, b: 22 })).data).to.equal(42);
    const chunks: unknown[] = [];
    for await (const c of room.stream('count', { n: 4 })) chunks.push(c.data);
    expect(chunks).to.deep.equal([0, 1, 2, 3]);

    const members = await room.listMembers();
    expect(members.find((m) => m.id === 'py-prov')).to.deep.include({ is_local: false, bridge_id: 'tbr-c1', path: ['S2'] });

    // our broadcast reaches the Python client once; theirs reaches us once
    await room.broadcast('hello', { from: 'ts' });
    await room.broadcast('marker', 1);
    await pyProv.waitLine((l) => l['name'] === 'marker');
    // the marker came after it on the same route: a duplicate would be here too
    expect(pyProv.lines.filter((l) => l['name'] === 'hello').map((l) => l['data'])).to.deep.equal([{ from: 'ts' }]);
    await pyProv.run({ op: 'broadcast', channel: 'room', event: 'news', data: 'n1' });
    await waitFor(() => heard.length === 1, 'the relayed broadcast');
    await pyProv.run({ op: 'broadcast', channel: 'room', event: 'news', data: 'n2' });
    await waitFor(() => heard.length === 2, 'the second relayed broadcast');
    expect(heard).to.deep.equal(['n1', 'n2']);

    // a Python client joining later is announced; leaving, forgotten
    const late = await PyClient.start({ path: s2 }, 'py-late');
    py.push(late);
    await late.run({ op: 'open', channel: 'room' });
    await waitFor(async () => (await room.listMembers()).some((m) => m.id === 'py-late'), 'py-late announced');
    await late.stop();
    await waitFor(async () => !(await room.listMembers()).some((m) => m.id === 'py-late'), 'py-late forgotten');
  });

  it('links two of our hubs and proxies events registered after the start', async () => {
    dir = makeTempDir('hubbr');
    const s1 = await ourHub('A');
    const s2 = await ourHub('B');
    const a = await client(s1, 'on-a');
    const chA = await a.open('work');
    bridge = new HubBridge({ path: s1 }, { path: s2 }, { bridgeId: 'xbr', allowedChannels: ['work'] });
    await bridge.start();
    const b = await client(s2, 'on-b');
    const chB = await b.open('work');
    await chB.addEvent('upper', async (m) => String(m.data).toUpperCase());
    await waitFor(async () => 'upper' in (await chA.explore()).events, 'the proxy on hub A');
    expect((await chA.call('upper', 'abc')).data).to.equal('ABC');
  });
});
