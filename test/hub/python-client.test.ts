/**
 * The comm-ipc Python client (our faithful re-creation, unmodified by these
 * tests) against our Hub: every exchange crosses languages.
 */
import { expect } from 'chai';
import { waitFor } from '../fixtures/helpers';
import { HubFixture } from './hub-fixture';
import { PyClient } from './python-peer';
import { needsPython } from '../fixtures/python-env';

describe('Hub with comm-ipc Python clients', function () {
  this.timeout(30000); // slow: Python processes start in ~100 ms each
  before(needsPython('msgpack'));
  const fx = new HubFixture();
  const py: PyClient[] = [];
  async function client(id: string, extra: string[] = []): Promise<PyClient> {
    const c = await PyClient.start({ path: fx.socketPath }, id, extra);
    py.push(c);
    return c;
  }
  afterEach(async () => {
    await Promise.all(py.splice(0).map((c) => c.stop()));
    await fx.stop();
  });

  it('RPC, streams and errors between Python clients, with exact types', async () => {
    await fx.start();
    const p = await client('prov');
    const c = await client('call');
    await p.run({ op: 'open', channel: 'math' });
    await p.run({ op: 'add_event', channel: 'math', event: 'add', handler: 'add' });
    await p.run({ op: 'add_event', channel: 'math', event: 'echo', handler: 'echo' });
    await p.run({ op: 'add_event', channel: 'math', event: 'count', handler: 'stream_n' });
    await p.run({ op: 'add_event', channel: 'math', event: 'bad', handler: 'stream_fail' });
    await p.run({ op: 'add_event', channel: 'math', event: 'boom', handler: 'fail' });
    await c.run({ op: 'open', channel: 'math' });
    expect(await c.run({ op: 'call', channel: 'math', event: 'add', data: { a: 2, b: 40 } })).to.equal(42);
    const exotic = { f: { $float: 1.0 }, big: { $int: '18446744073709551615' }, b: { $bytes: Buffer.from([0, 255]).toString('base64') }, s: 'é' };
    const echoed = await c.run({ op: 'call', channel: 'math', event: 'echo', data: exotic });
    expect(echoed).to.deep.equal({ f: 1.0, big: 18446744073709551615, b: { $bytes: 'AP8=' }, s: 'é' });
    expect(await c.run({ op: 'stream', channel: 'math', event: 'count', data: { n: 5 } })).to.deep.equal([0, 1, 2, 3, 4]);
    const err = await c.result(c.post({ op: 'stream', channel: 'math', event: 'bad', data: null }));
    expect(err['ok']).to.equal(false);
    expect(err['chunks']).to.deep.equal(['first']);
    expect(String(err['error'])).to.contain('oops');
    expect(await c.fails({ op: 'call', channel: 'math', event: 'boom', data: 1 })).to.contain('intentional fail');
    expect(await c.fails({ op: 'call', channel: 'math', event: 'missing', data: 1 })).to.equal('No provider for math:missing');
  });

  it('keeps float 1.0 a float through the hub (a tagged-float client sees the type)', async () => {
    await fx.start();
    const p = await client('prov');
    const c = await client('call', ['--tag-floats']);
    await p.run({ op: 'open', channel: 'm' });
    await p.run({ op: 'add_event', channel: 'm', event: 'echo', handler: 'echo' });
    await c.run({ op: 'open', channel: 'm' });
    expect(await c.run({ op: 'call', channel: 'm', event: 'echo', data: { x: { $float: 1.0 }, n: 1 } })).to.deep.equal({ x: { $float: 1.0 }, n: 1 });
  });

  it('refuses a duplicate id and a wrong connection secret with the texts Python matches', async () => {
    await fx.start({ secret: 's3cret' });
    await client('dup', ['--secret', 's3cret']);
    const second = new PyClient(['--socket', fx.socketPath, '--client-id', 'dup', '--secret', 's3cret', '--no-reconnect']);
    py.push(second);
    expect(String((await second.waitLine((l) => l['event'] === 'connect_error'))['error'])).to.contain('already in use');
    const wrong = new PyClient(['--socket', fx.socketPath, '--client-id', 'w', '--secret', 'nope', '--no-reconnect']);
    py.push(wrong);
    expect((await wrong.waitLine((l) => l['event'] === 'connect_error'))['error']).to.equal('Connection failed: Authentication failed');
  });

  it('broadcasts and pub/sub with first/last notices between Python clients', async () => {
    await fx.start();
    const a = await client('a');
    const b = await client('b');
    const owner = await client('owner');
    for (const c of [a, b, owner]) await c.run({ op: 'open', channel: 'room' });
    await b.run({ op: 'on_receive', channel: 'room' });
    await owner.run({ op: 'on_receive', channel: 'room' });
    await a.run({ op: 'broadcast', channel: 'room', event: 'hello', data: { x: 1 } });
    const got = await b.waitLine((l) => l['event'] === 'receive' && l['name'] === 'hello');
    expect(got).to.deep.include({ data: { x: 1 }, sender_id: 'a' });
    await owner.run({ op: 'add_subscription', channel: 'room', sub_name: 'news' });
    await a.run({ op: 'subscribe', channel: 'room', sub_name: 'news' });
    await owner.waitLine((l) => l['name'] === 'subscription.news.first');
    await owner.run({ op: 'publish', channel: 'room', sub_name: 'news', data: 'extra!' });
    expect((await a.waitLine((l) => l['name'] === 'subscription.news.data'))['data']).to.equal('extra!');
    await a.run({ op: 'unsubscribe', channel: 'room', sub_name: 'news' });
    await owner.waitLine((l) => l['name'] === 'subscription.news.last');
  });

  it('balances Python group providers: round-robin alternates, least-active splits 2/2', async () => {
    for (const lbPolicy of ['round-robin', 'least-active'] as const) {
      await fx.start({ lbPolicy });
      const p1 = await client('p1');
      const p2 = await client('p2');
      for (const p of [p1, p2]) {
        await p.run({ op: 'open', channel: 'g' });
        await p.run({ op: 'group_provide', channel: 'g', group: 'workers', event: 'task', handler: 'slow', arg: 0.2 });
      }
      const c = await client('c');
      await c.run({ op: 'open', channel: 'g' });
      const ids = [0, 1, 2, 3].map((i) => c.post({ op: 'call', channel: 'g', event: 'workers.task', data: i }));
      const providers = [];
      for (const id of ids) providers.push(((await c.result(id))['result'] as { provider: string }).provider);
      expect(providers, lbPolicy).to.deep.equal(['p1', 'p2', 'p1', 'p2']);
      await Promise.all(py.splice(0).map((x) => x.stop()));
      await fx.stop();
    }
  });

  it('password channels: signed calls and broadcasts verify through the hub; wrong or no password is refused', async () => {
    await fx.start();
    const owner = await client('owner');
    await owner.run({ op: 'open', channel: 'vault' });
    await owner.run({ op: 'set_password', channel: 'vault', password: 'pw' });
    await owner.run({ op: 'add_event', channel: 'vault', event: 'echo', handler: 'echo' });
    await owner.run({ op: 'on_receive', channel: 'vault' });
    const friend = await client('friend');
    await friend.run({ op: 'open', channel: 'vault', password: 'pw' });
    expect(await friend.run({ op: 'call', channel: 'vault', event: 'echo', data: { f: { $float: 2.0 }, s: 'ü' } })).to.deep.equal({ f: 2.0, s: 'ü' });
    await friend.run({ op: 'broadcast', channel: 'vault', event: 'note', data: { f: { $float: 1.0 } } });
    expect((await owner.waitLine((l) => l['name'] === 'note'))['data']).to.deep.equal({ f: 1.0 });
    const stranger = await client('stranger');
    expect(await stranger.fails({ op: 'open', channel: 'vault', password: 'wrong' })).to.contain('Invalid channel password');
    expect(await stranger.fails({ op: 'open', channel: 'vault' })).to.contain('requires authentication');
  });

  it('answers a Python caller whose provider dies mid-call instead of leaving it hanging', async () => {
    await fx.start();
    const p = await client('p');
    await p.run({ op: 'open', channel: 'm' });
    await p.run({ op: 'add_event', channel: 'm', event: 'wait', handler: 'gate', notify: true });
    const c = await client('c');
    await c.run({ op: 'open', channel: 'm' });
    const id = c.post({ op: 'call', channel: 'm', event: 'wait', data: 1 });
    await p.waitLine((l) => l['event'] === 'served'); // the call reached the provider
    p.child.kill('SIGKILL');
    const res = await c.result(id);
    expect(res['ok']).to.equal(false);
    expect(String(res['error'])).to.equal('Provider of m:wait disconnected before answering');
  });

  it('errorPolicy broadcast: a failed call sends the error frame before the response, so close() right after it does not hang', async () => {
    // comm-ipc's server writes the reporter's `error` frame at once and the `response` from a task, so the
    // client has both before its call fails. Sent the other way round, the error frame arrives while
    // close() cancels the client's read loop; Python 3.11's wait_for swallows that cancellation and the
    // loop reads on until the idle timeout (3 s here): close() hangs that long.
    await fx.start({ errorPolicy: 'broadcast' });
    const c = await client('c', ['--idle-timeout', '3', '--no-reconnect']);
    const id = c.post({ op: 'call_close', channel: 'm', event: 'missing', data: 1 });
    const res = await c.result(id, 15000);
    const out = res['result'] as { error: string; close_ms: number };
    expect(out.error).to.equal('No provider for m:missing');
    expect(out.close_ms, 'close() took').to.be.lessThan(1500);
    // Its on_error callback saw the hub's error frame (cut at its first ':').
    expect(c.lines.find((l) => l['event'] === 'error')).to.deep.include({ message: 'No provider for m' });
    // On the wire: error, then response.
    const raw = await fx.client('raw');
    raw.send({ type: 'call', channel: 'm', event: 'missing', request_id: 'r1', data: null });
    const types = (): unknown[] => raw.frames.map((f) => f['type']).filter((t) => t === 'error' || t === 'response');
    await waitFor(() => types().length === 2, 'the error frame and the response');
    expect(types()).to.deep.equal(['error', 'response']);
  });

  it('lists members and reports owner-only password changes with the exact texts', async () => {
    await fx.start();
    const owner = await client('owner');
    const other = await client('other');
    await owner.run({ op: 'open', channel: 'c' });
    await other.run({ op: 'open', channel: 'c' });
    const members = (await other.run({ op: 'list_members', channel: 'c' })) as { members: Array<{ id: string }> };
    expect(members.members.map((m) => m.id)).to.deep.equal(['owner', 'other']);
    expect(await other.fails({ op: 'set_password', channel: 'c', password: 'x' })).to.contain('Only the channel owner');
  });
});
