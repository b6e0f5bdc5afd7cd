/**
 * Our HubClient against the Python re-creation of the comm-ipc server
 * (test/fixtures/python/comm_ipc, started as
 * `python -m comm_ipc.cli server --socket PATH`, which prints `READY <json>`).
 * Skipped when the tests' Python lacks msgpack (test/fixtures/python-env.ts).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PipeIOError } from '../../lib/errors';
import { HubClient } from '../../lib/hub/client/hub-client';
import type { HubClientOptions } from '../../lib/hub/client/types';
import { collect, deferred, expectCode, nextEvent, waitFor } from './client-fixture';
import { needsPython, PYTHON } from '../fixtures/python-env';

const PYTHONPATH = path.resolve(__dirname, '../fixtures/python');

/** One Python hub process. */
class PythonHub {
  private constructor(
    readonly proc: ChildProcess,
    readonly info: { server_id: string },
  ) {}

  static start(socketPath: string, extra: string[] = []): Promise<PythonHub> {
    const proc = spawn(PYTHON, ['-m', 'comm_ipc.cli', 'server', '--socket', socketPath, ...extra], {
      env: { ...process.env, PYTHONPATH },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`the Python hub did not print READY within 10 s: ${err}`));
      }, 10_000);
      proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('READY '));
        if (!line) return;
        clearTimeout(timer);
        resolve(new PythonHub(proc, JSON.parse(line.slice(6)) as { server_id: string }));
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the Python hub exited with ${String(code)}: ${err}`));
      });
    });
  }

  /**
   * Ends it (stdin EOF, then SIGKILL after 2 s: the fixture's shutdown can
   * take 5 s once clients have come and gone); resolves on exit.
   */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin!.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}

type Line = Record<string, unknown>;

/** A Python comm-ipc client, driven over JSON lines (`python -m comm_ipc.cli client`). */
class PythonClient {
  private readonly lines: Line[] = [];
  private seq = 0;

  private constructor(readonly proc: ChildProcess) {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) this.lines.push(JSON.parse(line) as Line);
      }
    });
    proc.stderr!.resume();
  }

  static async start(socketPath: string, clientId: string): Promise<PythonClient> {
    const proc = spawn(PYTHON, ['-m', 'comm_ipc.cli', 'client', '--socket', socketPath, '--client-id', clientId], {
      env: { ...process.env, PYTHONPATH },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const c = new PythonClient(proc);
    const ready = await c.next((l) => l['event'] === 'ready' || l['event'] === 'connect_error');
    if (ready['event'] !== 'ready') throw new Error(`the Python client did not connect: ${JSON.stringify(ready)}`);
    return c;
  }

  /** Runs one driver command; resolves with its reply line ({ ok, result | error }). */
  async op(cmd: Line): Promise<Line> {
    const id = ++this.seq;
    this.proc.stdin!.write(`${JSON.stringify({ id, ...cmd })}\n`);
    return this.next((l) => l['id'] === id);
  }

  /** Like op(), but fails unless ok; resolves with the result. */
  async ok(cmd: Line): Promise<unknown> {
    const reply = await this.op(cmd);
    if (reply['ok'] !== true) throw new Error(`${JSON.stringify(cmd)} failed: ${JSON.stringify(reply)}`);
    return reply['result'];
  }

  async next(match: (l: Line) => boolean, timeout = 10000): Promise<Line> {
    let found: Line | undefined;
    await waitFor(() => {
      const i = this.lines.findIndex(match);
      if (i >= 0) found = this.lines.splice(i, 1)[0];
      return found !== undefined;
    }, 'a line from the Python client', timeout);
    return found!;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin!.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

describe('HubClient against the Python comm-ipc server', function () {
  this.timeout(20000);
  let dir: string;
  let socketPath: string;
  let hub: PythonHub;
  let clients: HubClient[] = [];
  let pyClients: PythonClient[] = [];
  let seq = 0;

  before(needsPython('msgpack'));

  async function client(options: HubClientOptions = {}, connect = true): Promise<HubClient> {
    const c = new HubClient({ path: socketPath }, { clientId: `ts-${++seq}`, ...options });
    clients.push(c);
    if (connect) await c.connect();
    return c;
  }

  async function startHub(extra: string[] = []): Promise<void> {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'py-'));
    socketPath = path.join(dir, 'h.sock');
    hub = await PythonHub.start(socketPath, ['--server-id', 'py-srv', ...extra]);
  }

  async function pyClient(id: string): Promise<PythonClient> {
    const c = await PythonClient.start(socketPath, id);
    pyClients.push(c);
    return c;
  }

  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await Promise.all(pyClients.map((c) => c.stop()));
    pyClients = [];
    await hub?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('default server', () => {
    beforeEach(() => startHub());

    it('identifies and adopts the server id', async () => {
      const c = await client({ clientId: 'who' });
      expect(c.clientId).to.equal('who');
      expect(c.serverId).to.equal('py-srv');
    });

    it('refuses a duplicate id with PIPEIO_ERR_ID_IN_USE', async () => {
      await client({ clientId: 'twin' });
      await expectCode((await client({ clientId: 'twin' }, false)).connect(), 'PIPEIO_ERR_ID_IN_USE');
    });

    it('calls with exact values (Buffer, float, big int, nested)', async () => {
      await (await (await client()).open('math')).addEvent('echo', async (msg) => msg.data);
      const ch = await (await client()).open('math');
      const value = { bin: Buffer.from([0, 255]), f: 1.5, big: 2n ** 60n, nested: [{ a: ['x', null, true] }] };
      const res = await ch.call('echo', value);
      const data = res.data as typeof value;
      expect(Buffer.isBuffer(data.bin) && data.bin.equals(value.bin)).to.equal(true);
      expect(data.f).to.equal(1.5);
      expect(data.big).to.equal(2n ** 60n);
      expect(data.nested).to.deep.equal(value.nested);
      expect(res.path).to.deep.equal(['py-srv']);
    });

    it('maps a provider throw to PIPEIO_ERR_REMOTE and a missing provider to PIPEIO_ERR_NO_PROVIDER', async () => {
      await (await (await client()).open('e')).addEvent('boom', async () => {
        throw new Error('oops');
      });
      const ch = await (await client()).open('e');
      expect((await expectCode(ch.call('boom'), 'PIPEIO_ERR_REMOTE')).remoteMessage).to.equal('oops');
      expect((await expectCode(ch.call('none'), 'PIPEIO_ERR_NO_PROVIDER')).remoteMessage).to.equal('No provider for e:none');
    });

    it('leaves a call to a provider that died to its timeout (comm-ipc never answers it)', async () => {
      const entered = deferred();
      const p = await client({ autoReconnect: false });
      await (await p.open('d')).addEvent('hang', () => {
        entered.resolve();
        return new Promise(() => undefined);
      });
      const ch = await (await client()).open('d');
      const call = expectCode(ch.call('hang', null, { timeout: 300 }), 'PIPEIO_ERR_TIMEOUT');
      await entered.promise;
      await p.close();
      await call;
    });

    it('streams chunks in order, ends, and raises a mid-stream error', async () => {
      const p = await (await client()).open('s');
      await p.addEvent('count', async function* (msg) {
        for (let i = 0; i < (msg.data as number); i++) yield i;
      });
      await p.addEvent('bad', async function* () {
        yield 'first';
        throw new Error('oops');
      });
      const ch = await (await client()).open('s');
      expect(await collect(ch.stream('count', 4))).to.deep.equal([0, 1, 2, 3]);
      const got: unknown[] = [];
      const err = await expectCode(
        (async () => {
          for await (const c of ch.stream('bad')) got.push(c.data);
        })(),
        'PIPEIO_ERR_REMOTE',
      );
      expect(got).to.deep.equal(['first']);
      expect(err.remoteMessage).to.equal('oops');
    });

    it('broadcasts and sends', async () => {
      const a = await (await client()).open('b');
      const b = await (await client()).open('b');
      const got: unknown[] = [];
      b.onReceive('hello', (msg) => void got.push(['bc', msg.data]));
      await b.addEvent('log', async (msg) => void got.push(['send', msg.data]));
      await a.broadcast('hello', 'world');
      await a.send('log', 'line');
      await waitFor(() => got.length === 2, 'broadcast and send');
      expect(got).to.deep.include.members([
        ['bc', 'world'],
        ['send', 'line'],
      ]);
    });

    it('runs pub/sub with first/last notices', async () => {
      const owner = await (await client()).open('ps');
      const notices: string[] = [];
      owner.onReceive('subscription.t.first', () => void notices.push('first'));
      owner.onReceive('subscription.t.last', () => void notices.push('last'));
      await owner.addSubscription('t', { title: 'T' });
      const sub = await (await client()).open('ps');
      const got: unknown[] = [];
      await sub.subscribe('t', (msg) => void got.push(msg.data));
      await waitFor(() => notices.length === 1, 'first');
      await owner.publish('t', { n: 1 });
      await waitFor(() => got.length === 1, 'publication');
      expect(got).to.deep.equal([{ n: 1 }]);
      const view = await sub.explore();
      expect(view.subscriptions['t']).to.deep.equal({ owner: clients[0]!.clientId, returns: { title: 'T' } });
      await sub.unsubscribe('t');
      await waitFor(() => notices.length === 2, 'last');
      expect(notices).to.deep.equal(['first', 'last']);
    });

    it('uses password channels with signed calls and broadcasts', async () => {
      const owner = await client();
      const och = await owner.open('vault');
      await owner.setPassword('vault', 'pw');
      await och.addEvent('add', async (msg) => (msg.data as number[]).reduce((x, y) => x + y, 0));
      const seen: unknown[] = [];
      och.onReceive('note', (msg) => void seen.push(msg.data));
      const c = await client();
      const err = await expectCode(c.open('vault'), 'PIPEIO_ERR_AUTH');
      expect(err.message).to.contain('requires authentication');
      await expectCode(c.open('vault', { password: 'bad' }), 'PIPEIO_ERR_AUTH');
      const ch = await c.open('vault', { password: 'pw' });
      expect((await ch.call('add', [1, 2.5])).data).to.equal(3.5);
      await ch.broadcast('note', 'signed');
      await waitFor(() => seen.length === 1, 'signed broadcast');
      expect(seen).to.deep.equal(['signed']);
    });

    it('splits 4 concurrent group calls 2/2 (least-active) and lists members', async () => {
      const hits: string[] = [];
      const release: Array<() => void> = [];
      for (const id of ['g1', 'g2']) {
        await (await (await client({ clientId: id })).open('grp')).group('w').addEvent('job', () =>
          new Promise((resolve) => {
            hits.push(id);
            release.push(() => resolve(id));
          }),
        );
      }
      const ch = await (await client()).open('grp');
      const calls = [1, 2, 3, 4].map((n) => ch.group('w').call('job', n));
      await waitFor(() => hits.length === 4, 'four routed calls');
      for (const r of release) r();
      const who = (await Promise.all(calls)).map((r) => r.data);
      expect(who.filter((w) => w === 'g1')).to.have.length(2);
      expect(who.filter((w) => w === 'g2')).to.have.length(2);
      const members = await ch.listMembers();
      expect(members.map((m) => m.id)).to.include.members(['g1', 'g2']);
    });
  });

  describe('with Python clients', () => {
    beforeEach(() => startHub());

    async function passwordChannel(): Promise<HubClient> {
      const owner = await client({ clientId: 'owner' });
      await owner.open('pv');
      await owner.setPassword('pv', 'pw');
      return owner;
    }

    it('calls a Python provider on a password channel (Python verifies our signature)', async () => {
      await passwordChannel();
      const py = await pyClient('py-prov');
      await py.ok({ op: 'open', channel: 'pv', password: 'pw' });
      await py.ok({ op: 'add_event', channel: 'pv', event: 'add', handler: 'add' });
      const ch = await (await client()).open('pv', { password: 'pw' });
      expect((await ch.call('add', { a: 1, b: 2 })).data).to.equal(3);
      expect((await ch.call('add', { a: 1.5, b: 2.25 })).data).to.equal(3.75);
      expect((await ch.call('add', { a: 'ü', b: '✓' })).data).to.equal('ü✓');
    });

    it('serves a signed Python call whose data holds integral floats (type-exact verification)', async () => {
      await passwordChannel();
      const ch = await (await client({ clientId: 'ts-prov' })).open('pv', { password: 'pw' });
      const seen: unknown[] = [];
      await ch.addEvent('echo', async (msg) => {
        seen.push(msg.data);
        return 'verified';
      });
      const py = await pyClient('py-caller');
      await py.ok({ op: 'open', channel: 'pv', password: 'pw' });
      const data = { x: { $float: 2.0 }, y: [1, { $float: 0.5 }, { $float: 1e16 }], s: 'é' };
      expect(await py.ok({ op: 'call', channel: 'pv', event: 'echo', data })).to.equal('verified');
      expect(seen).to.deep.equal([{ x: 2, y: [1, 0.5, 1e16], s: 'é' }]);
    });

    it('exchanges signed broadcasts with a Python client both ways', async () => {
      await passwordChannel();
      const c = await client();
      const ch = await c.open('pv', { password: 'pw' });
      const got: unknown[] = [];
      ch.onReceive('note', (msg) => void got.push(msg.data));
      const dropped: unknown[] = [];
      c.on('dropped', (msg) => dropped.push(msg.data));
      const py = await pyClient('py-bc');
      await py.ok({ op: 'open', channel: 'pv', password: 'pw' });
      await py.ok({ op: 'on_receive', channel: 'pv', event: 'note' });
      await py.ok({ op: 'broadcast', channel: 'pv', event: 'note', data: { v: { $float: 3.0 } } });
      await waitFor(() => got.length === 1, 'the Python broadcast');
      expect(got).to.deep.equal([{ v: 3 }]);
      await ch.broadcast('note', { from: 'ts', n: 1.25 });
      const line = await py.next((l) => l['event'] === 'receive');
      expect(line['data']).to.deep.equal({ from: 'ts', n: 1.25 });
      expect(dropped).to.deep.equal([]);
    });

    it('streams across languages in both directions', async () => {
      const py = await pyClient('py-stream');
      await py.ok({ op: 'open', channel: 'st' });
      await py.ok({ op: 'add_event', channel: 'st', event: 'count', handler: 'stream_n' });
      const ch = await (await client()).open('st');
      expect(await collect(ch.stream('count', { n: 3 }))).to.deep.equal([0, 1, 2]);
      await ch.addEvent('letters', async function* () {
        yield 'a';
        yield 'b';
      });
      await ch.addEvent('single', async () => 'one');
      expect(await py.ok({ op: 'stream', channel: 'st', event: 'letters', timeout: 5 })).to.deep.equal(['a', 'b']);
      // Our is_final on single responses ends a Python stream() of a plain handler.
      expect(await py.ok({ op: 'stream', channel: 'st', event: 'single', timeout: 5 })).to.deep.equal(['one']);
      const err = await expectCode(ch.call('count', 'not a number'), 'PIPEIO_ERR_REMOTE');
      expect(err.remoteMessage).to.be.a('string');
    });
  });

  describe('with a connection secret', () => {
    beforeEach(() => startHub(['--secret', 'top-secret']));

    it('answers the challenge, and refuses a wrong secret with PIPEIO_ERR_AUTH', async () => {
      const ok = await client({ secret: 'top-secret' });
      expect(ok.serverId).to.equal('py-srv');
      const err = await expectCode((await client({ secret: 'nope' }, false)).connect(), 'PIPEIO_ERR_AUTH');
      expect(err.remoteMessage).to.equal('Authentication failed');
    });
  });

  describe('restart', () => {
    beforeEach(() => startHub());

    it('reconnects to a restarted Python hub and replays everything', async () => {
      const p = await client({ clientId: 'prov' });
      const ch = await p.open('r');
      await ch.addEvent('ping', async () => 'pong');
      await ch.group('w').addEvent('job', async () => 'job done');
      await ch.addSubscription('news');
      const s = await client({ clientId: 'subr' });
      const sch = await s.open('r');
      const news: unknown[] = [];
      await sch.subscribe('news', (msg) => void news.push(msg.data));
      const back = [nextEvent(p, 'reconnect', 15000), nextEvent(s, 'reconnect', 15000)];
      const errors: PipeIOError[] = [];
      p.on('error', (e) => errors.push(e));
      s.on('error', (e) => errors.push(e));
      await hub.stop();
      hub = await PythonHub.start(socketPath, ['--server-id', 'py-srv2']);
      await Promise.all(back);
      expect(p.serverId).to.equal('py-srv2');
      expect((await sch.call('ping')).data).to.equal('pong');
      expect((await sch.group('w').call('job')).data).to.equal('job done');
      await ch.publish('news', 'fresh');
      await waitFor(() => news.length === 1, 'publication after restart');
      expect(errors.filter((e) => e.code !== 'PIPEIO_ERR_CLOSED')).to.deep.equal([]);
    });
  });
});
