/**
 * Issue 21, items 7-11: trust boundaries. A provider must not pass its
 * errors off as the hub's, a first member must not end a system channel,
 * a client must not pose as a bridge, the handshake admits only `identify`
 * and no reserved id, a full hub says so with a code, and a client's claims
 * on routed frames are checked. Each beside a well-behaved provider and
 * caller calling every 10 ms through a hub in its own process; each failed
 * on the code before the fix.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { HubClient } from '../../lib/hub/client';
import { connectionProof } from '../../lib/hub/security/signing';
import type { PipeIOError } from '../../lib/errors';
import { killChild, waitForLine } from '../fixtures/helpers';
import { HostileStage } from './hostile-fixture';
import { RawClient, type Frame } from './raw-client';
import { PYTHON } from '../fixtures/python-env';

const PYTHONPATH = path.resolve(__dirname, '../fixtures/python');

async function rejection(p: Promise<unknown>): Promise<PipeIOError> {
  try {
    await p;
  } catch (err) {
    return err as PipeIOError;
  }
  throw new Error('expected a rejection');
}

/** Answers every call `c` receives with `answer(call)`. */
function serve(c: RawClient, answer: (call: Frame) => Record<string, unknown>): () => void {
  let stopped = false;
  void (async () => {
    while (!stopped && !c.closed) {
      const call = await c.nextOf('call', undefined, 60_000).catch(() => undefined);
      if (!call || stopped) return;
      c.send({ type: 'response', request_id: call['request_id'], target_id: call['sender_id'], ...answer(call) });
    }
  })();
  return () => (stopped = true);
}

describe('Hub trust boundaries (issue 21, items 7-11)', function () {
  this.timeout(60_000);
  const stage = new HostileStage();
  const clients: HubClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await stage.stop();
  });

  function hubClient(id: string, extra: Record<string, unknown> = {}): HubClient {
    const c = new HubClient({ path: stage.socketPath }, { clientId: id, autoReconnect: false, callTimeout: 5000, ...extra });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  }

  describe('7: only the hub\'s own errors carry its codes', () => {
    it('a provider answering with a hub code or a hub text is PIPEIO_ERR_REMOTE to our caller; the hub strips the code', async () => {
      await stage.start();
      const forger = await stage.client('forger');
      await forger.provide('trust', 'lie');
      const answers = [
        { error: 'Provider of trust:lie disconnected before answering', code: 'PIPEIO_ERR_PROVIDER_GONE' },
        { error: 'Authentication failed', code: 'PIPEIO_ERR_AUTH', sender_id: 'server' },
        { error: 'No provider for trust:lie', sender_id: 'server', origin_server_id: 'HX' },
      ];
      let n = 0;
      const stop = serve(forger, () => answers[n++ % answers.length]!);
      const caller = hubClient('victim');
      await caller.connect();
      const ch = await caller.open('trust');
      for (const a of answers) {
        const err = await rejection(ch.call('lie', null));
        expect(err.code, `for ${JSON.stringify(a)}`).to.equal('PIPEIO_ERR_REMOTE');
        expect(err.remoteMessage).to.equal(a.error);
      }
      // What the hub forwards carries no code and the provider's id.
      const raw = await stage.client('raw-caller');
      const res = await raw.request({ type: 'call', channel: 'trust', event: 'lie', request_id: 'r1', data: null });
      expect(res).to.not.have.property('code');
      expect(res['sender_id']).to.equal('forger');
      stop();
      // The hub's own errors keep their codes.
      expect((await rejection(ch.call('nobody', null))).code).to.equal('PIPEIO_ERR_NO_PROVIDER');
      const hanger = await stage.client('hanger');
      await hanger.provide('trust', 'hang');
      const pending = ch.call('hang', null);
      await hanger.nextOf('call');
      hanger.close();
      expect((await rejection(pending)).code).to.equal('PIPEIO_ERR_PROVIDER_GONE');
      await stage.expectPairFine('forged codes');
    });

    it('against comm-ipc\'s hub, a provider\'s "No provider for ..." is PIPEIO_ERR_REMOTE, the hub\'s is PIPEIO_ERR_NO_PROVIDER', async function () {
      if (spawnSync(PYTHON, ['-c', 'import msgpack, comm_ipc.server'], { env: { ...process.env, PYTHONPATH } }).status !== 0) {
        if (process.env['CI']) throw new Error('python3 cannot import msgpack');
        this.skip(); // no Python msgpack here (outside CI): the comm-ipc hub cannot run
      }
      await stage.start({}, false); // only for its temp dir
      const socket = path.join(stage.dir, 'py.sock');
      let py: ChildProcess | undefined;
      try {
        py = spawn(PYTHON, ['-m', 'comm_ipc.cli', 'server', '--socket', socket, '--server-id', 'py-srv'], {
          env: { ...process.env, PYTHONPATH },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        await waitForLine(py, /^READY /);
        const forger = await RawClient.identified({ path: socket }, 'server'); // comm-ipc lets a client be "server"
        try {
          forger.send({ type: 'register', request_id: 'p', channel: 'trust', is_provider: true, event: 'lie', is_stream: false, is_group: false });
          await forger.nextOf('response', 'p');
          serve(forger, (call) => ({ error: `No provider for trust:${String(call['event'])}`, sender_id: 'server', code: 'PIPEIO_ERR_NO_PROVIDER' }));
          const caller = new HubClient({ path: socket }, { clientId: 'victim', autoReconnect: false, callTimeout: 5000 });
          caller.on('error', () => undefined);
          clients.push(caller);
          await caller.connect();
          const ch = await caller.open('trust');
          const forged = await rejection(ch.call('lie', null));
          expect(forged.code).to.equal('PIPEIO_ERR_REMOTE');
          expect(forged.remoteMessage).to.equal('No provider for trust:lie');
          expect((await rejection(ch.call('nobody', null))).code).to.equal('PIPEIO_ERR_NO_PROVIDER');
        } finally {
          forger.close();
        }
      } finally {
        py?.stdin?.end();
        await killChild(py);
      }
    });
  });

  describe('8: system channels', () => {
    it('the first client to open __comm_ipc_logs cannot end it for the monitors by leaving', async () => {
      await stage.start();
      const squatter = await stage.client('squatter');
      await squatter.open('__comm_ipc_logs');
      const monitor = await stage.client('monitor');
      await monitor.open('__comm_ipc_logs');
      squatter.close();
      await monitor.next((f) => f['type'] === 'metadata_update' && f['action'] === 'leave' && f['owner'] === 'squatter');
      await stage.client('newcomer');
      const log = await monitor.next((f) => f['type'] === 'receive' && f['event'] === 'server_log');
      expect((log['data'] as Record<string, unknown>)['message']).to.equal('Client newcomer identified');
      expect(monitor.frames.filter((f) => f['type'] === 'error')).to.deep.equal([]);
      await stage.expectPairFine('system channel squatter');
    });
  });

  describe('9: bridges', () => {
    it('without a secret, bridge mode needs allowBridges: a made-up bridge is refused and announces nobody', async () => {
      await stage.start();
      const watcher = await stage.client('watcher');
      await watcher.open('room');
      const fake = await stage.raw();
      fake.send({ type: 'identify', client_id: 'fake-bridge', mode: 'bridge' });
      const refused = await fake.nextOf('error');
      expect(refused['code']).to.equal('PIPEIO_ERR_FORBIDDEN');
      await fake.closedPromise;
      const list = await watcher.request({ type: 'list_members', channel: 'room', request_id: 'l' });
      expect((list['data'] as { members: Array<{ id: string }> }).members.map((m) => m.id)).to.deep.equal(['watcher']);
      await stage.expectPairFine('fake bridge');
    });

    it('with a secret, a bridge proves it like any client, and may announce only what a bridge may claim', async () => {
      await stage.start({ secret: 'top-secret' });
      const identify = async (id: string, mode?: string): Promise<RawClient> => {
        const c = await stage.raw();
        c.send({ type: 'identify', client_id: id, ...(mode ? { mode } : {}) });
        const challenge = await c.nextOf('conn_challenge');
        c.send({ type: 'conn_proof', proof: connectionProof('top-secret', challenge['challenge'] as string) });
        await c.nextOf('identified');
        return c;
      };
      const watcher = await identify('watcher');
      await watcher.open('room');
      const bridge = await identify('br', 'bridge');
      bridge.send({
        type: 'announce_remote',
        channel: 'room',
        clients: [
          { id: 'remote-1', path: ['S2'] },
          { id: 'server', path: ['S2'] }, // reserved
          { id: 'watcher', path: ['S2'] }, // a local member: never shadowed
          { id: 'looped', path: ['S2', 'HX'] }, // through this hub already
        ],
      });
      await watcher.next((f) => f['action'] === 'join' && f['owner'] === 'remote-1');
      const list = await watcher.request({ type: 'list_members', channel: 'room', request_id: 'l' });
      expect((list['data'] as { members: Array<{ id: string }> }).members.map((m) => m.id)).to.deep.equal(['watcher', 'remote-1']);
      await stage.expectPairFine('bridge with a secret');
    });
  });

  describe('10: the handshake', () => {
    it('refuses ping before identify, and reserved ids, each with a code', async () => {
      await stage.start();
      const early = await stage.raw();
      early.send({ type: 'ping' });
      expect((await early.nextOf('error'))['code']).to.equal('PIPEIO_ERR_PROTOCOL');
      await early.closedPromise;
      expect(early.frames.filter((f) => f['type'] === 'pong')).to.deep.equal([]);
      for (const id of ['server', 'system', '']) {
        const c = await stage.raw();
        c.send({ type: 'identify', client_id: id });
        const err = await c.nextOf('error');
        expect(err['code'], `id ${JSON.stringify(id)}`).to.equal('PIPEIO_ERR_RESERVED');
        await c.closedPromise;
      }
      // No id at all still gets one made up.
      const anon = await stage.raw();
      anon.send({ type: 'identify' });
      expect((await anon.nextOf('identified'))['client_id']).to.match(/^cli-[0-9a-f]{8}$/);
      await stage.expectPairFine('handshake');
    });

    it('at maxConnections, a new client is told PIPEIO_ERR_LIMIT, and HubClient reports that code', async () => {
      await stage.start({ maxConnections: 3 }); // the good pair holds 2
      await stage.client('third');
      const refused = await stage.raw();
      const err = await refused.nextOf('error');
      expect(err['code']).to.equal('PIPEIO_ERR_LIMIT');
      await refused.closedPromise;
      const late = hubClient('late');
      const e = await rejection(late.connect());
      expect(e.code).to.equal('PIPEIO_ERR_LIMIT');
      expect(e.message).to.match(/Too many connections/);
      await stage.expectPairFine('full hub');
    });
  });

  describe('11: what a client may claim on routed frames', () => {
    it('refuses a foreign origin and a false timestamp, rewrites path and server_id, keeps honest claims byte for byte', async () => {
      await stage.start({ allowBridges: true });
      const liar = await stage.client('liar');
      const receiver = await stage.client('receiver');
      await receiver.open('room');
      const now = Math.floor(Date.now() / 1000);
      const refused: Array<[Record<string, unknown>, string]> = [
        [{ origin_server_id: 'elsewhere' }, 'PIPEIO_ERR_FORBIDDEN'],
        [{ timestamp: 1 }, 'PIPEIO_ERR_PROTOCOL'],
        [{ timestamp: now + 3600 }, 'PIPEIO_ERR_PROTOCOL'],
        [{ timestamp: now + 0.5 }, 'PIPEIO_ERR_PROTOCOL'],
        [{ timestamp: null }, 'PIPEIO_ERR_PROTOCOL'],
      ];
      for (const [claim, code] of refused) {
        liar.send({ type: 'broadcast', channel: 'room', event: 'e', data: 1, ...claim });
        expect((await liar.nextOf('error'))['code'], JSON.stringify(claim)).to.equal(code);
      }
      const call = await liar.request({ type: 'call', channel: 'good', event: 'echo', data: 1, request_id: 'c', origin_server_id: 'elsewhere' });
      expect(call['code']).to.equal('PIPEIO_ERR_FORBIDDEN');
      expect((await receiver.drainUntilPong()).filter((f) => f['type'] === 'broadcast')).to.deep.equal([]);
      // A path and a server_id are rewritten; an honest origin and timestamp pass as sent.
      liar.send({ type: 'broadcast', channel: 'room', event: 'ok', data: 2, path: ['S0', 'S9'], server_id: 'fake', origin_server_id: 'HX', timestamp: now });
      const got = await receiver.nextOf('broadcast');
      expect(got).to.deep.include({ sender_id: 'liar', path: ['HX'], server_id: 'HX', origin_server_id: 'HX', timestamp: now });
      // A bridge relays other hubs' frames: its path and origin are kept, and a loop is dropped.
      const bridge = await stage.client('br', 'bridge');
      bridge.send({ type: 'broadcast', channel: 'room', event: 'looped', data: 3, path: ['S0', 'HX'] });
      bridge.send({ type: 'broadcast', channel: 'room', event: 'relayed', data: 4, path: ['S0'], origin_server_id: 'S0', server_id: 'S0', timestamp: now - 1000 });
      const relayed = await receiver.nextOf('broadcast');
      expect(relayed).to.deep.include({ event: 'relayed', sender_id: 'br', path: ['S0', 'HX'], origin_server_id: 'S0', server_id: 'S0' });
      await stage.expectPairFine('claims');
    });
  });
});
