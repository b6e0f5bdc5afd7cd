/**
 * Federated hubs failing: a hub SIGKILLed, a hub stopping cleanly, NATS
 * restarted under load, a hub started before NATS. Each hub is a separate
 * process; nats-server is real. The measured times are printed (docs/cluster.md).
 */
import { expect } from 'chai';
import { waitFor } from '../fixtures/helpers';
import { call, ClusterFixture, membersOf, rid, serve, waitMember } from './cluster-fixture';
import type { Frame, RawClient } from './raw-client';
import { needsTools } from '../fixtures/tools';

async function provide(c: RawClient, channel: string, event: string, group = false): Promise<void> {
  const id = rid('reg');
  c.send({ type: 'register', request_id: id, channel, is_provider: true, event, is_stream: false, is_group: group });
  const res = await c.nextOf('response', id);
  if ('error' in res) throw new Error(String(res['error']));
}

function report(what: string, value: number, unit = 'ms'): void {
  process.stdout.write(`        measured: ${what}: ${value} ${unit}\n`);
}

describe('Hub federation failures (NATS)', function () {
  this.timeout(90_000);
  before(needsTools('nats-server'));
  const fx = new ClusterFixture();
  afterEach(() => fx.stop());

  it('a hub killed with SIGKILL: its providers go within 5 s, calls in flight get an error, next calls go to the rest', async () => {
    await fx.nats.start();
    await Promise.all([fx.startHub('A', { lbPolicy: 'round-robin' }), fx.startHub('B', { lbPolicy: 'round-robin' })]);
    await fx.waitMesh(['A', 'B']);
    const p1 = await fx.client('A', 'P1');
    await provide(p1, 'g', 'task', true);
    serve(p1, () => [{ data: 'P1' }]);
    const p2 = await fx.client('B', 'P2');
    await provide(p2, 'g', 'task', true);
    const held: Frame[] = [];
    serve(p2, (c) => {
      held.push(c); // P2 never answers: its calls are in flight when B dies
      return [];
    });
    const c = await fx.client('A', 'C');
    const watcher = await fx.client('A', 'W');
    await watcher.open('g');
    await waitMember(c, 'g', 'P2');
    const ids = [rid('k'), rid('k'), rid('k'), rid('k')];
    for (const id of ids) c.send({ type: 'call', channel: 'g', event: 'task', data: null, request_id: id });
    await waitFor(() => held.length === 2, 'two calls in flight on P2');
    const t0 = Date.now();
    await fx.kill('B');
    const answers = await Promise.all(ids.map((id) => c.nextOf('response', id, 10_000)));
    const failed = answers.filter((f) => 'error' in f);
    const errorAfter = Date.now() - t0;
    expect(failed).to.have.length(2);
    for (const f of failed) {
      expect(f['code']).to.equal('PIPEIO_ERR_PROVIDER_GONE');
      expect(f['error']).to.equal('Provider of g:task disconnected before answering');
    }
    expect(errorAfter).to.be.below(5000);
    const leave = await watcher.next((f) => f['type'] === 'metadata_update' && f['action'] === 'leave' && f['owner'] === 'P2', 5000);
    expect(leave).to.deep.include({ channel: 'g' });
    expect(await membersOf(c, 'g')).to.not.include('P2');
    report('SIGKILL of a hub -> in-flight calls answered with PIPEIO_ERR_PROVIDER_GONE', errorAfter);
    for (let i = 0; i < 20; i++) expect((await call(c, 'g', 'task', i))['data']).to.equal('P1');
    await waitFor(() => fx.peersOf('A').size === 0, 'A to drop B');
  });

  it('a stream from a hub that is killed mid-stream ends with an error, never a hang', async () => {
    await fx.nats.start();
    await Promise.all([fx.startHub('A'), fx.startHub('B')]);
    await fx.waitMesh(['A', 'B']);
    const p = await fx.client('B', 'P');
    await provide(p, 's', 'ticks');
    let calls = 0;
    serve(p, () => {
      calls++;
      return [1, 2, 3].map((i) => ({ data: i, is_stream: true, is_final: false })); // and never a final chunk
    });
    const c = await fx.client('A', 'C');
    await waitMember(c, 's', 'P');
    const id = rid('s');
    c.send({ type: 'call', channel: 's', event: 'ticks', data: null, request_id: id, is_stream: true, is_final: false });
    for (const i of [1, 2, 3]) expect((await c.nextOf('response', id))['data']).to.equal(i);
    const t0 = Date.now();
    await fx.kill('B');
    const end = await c.nextOf('response', id, 10_000);
    expect(end['code']).to.equal('PIPEIO_ERR_PROVIDER_GONE');
    expect(end['is_final']).to.equal(true);
    report('SIGKILL of a hub -> its stream in flight ends with PIPEIO_ERR_PROVIDER_GONE', Date.now() - t0);
    expect(calls).to.equal(1);
  });

  it('a hub stopping cleanly (SIGTERM -> hub.stop()) leaves at once: members leave, peers drop it with "bye"', async () => {
    await fx.nats.start();
    await Promise.all([fx.startHub('A'), fx.startHub('B')]);
    await fx.waitMesh(['A', 'B']);
    const x = await fx.client('A', 'X');
    await x.open('ch');
    const y = await fx.client('B', 'Y');
    await y.open('ch');
    await waitMember(x, 'ch', 'Y');
    const t0 = Date.now();
    await fx.terminate('B');
    await x.next((f) => f['type'] === 'metadata_update' && f['action'] === 'leave' && f['owner'] === 'Y', 5000);
    report('clean stop of a hub -> leave notice on the other hub', Date.now() - t0);
    await waitFor(() => fx.hubs.get('A')!.events.some((e) => e['type'] === 'peer' && e['up'] === false && e['reason'] === 'bye'), 'A to see B say bye', 5000);
    expect(await membersOf(x, 'ch')).to.deep.equal(['X']);
  });

  it('NATS restarted under load: hubs reconnect by themselves; clients see at most failed in-flight calls', async () => {
    await fx.nats.start();
    await Promise.all([fx.startHub('A'), fx.startHub('B')]);
    await fx.waitMesh(['A', 'B']);
    const p = await fx.client('B', 'P');
    await provide(p, 'work', 'echo');
    serve(p, (c) => [{ data: c['data'] }]);
    const c = await fx.client('A', 'C');
    const watcher = await fx.client('A', 'W');
    await watcher.open('work');
    await waitMember(c, 'work', 'P');
    let ok = 0;
    let failed = 0;
    let running = true;
    const codes = new Set<string>();
    // 8 callers in a loop; each call must be answered (success or error) within 15 s: no hangs.
    const load = Promise.all(
      [...Array(8).keys()].map(async (w) => {
        for (let i = 0; running; i++) {
          const res = await call(c, 'work', 'echo', `${w}-${i}`, 15_000);
          if ('error' in res) {
            failed++;
            codes.add(String(res['code']));
          } else {
            expect(res['data']).to.equal(`${w}-${i}`);
            ok++;
          }
        }
      }),
    );
    await waitFor(() => ok > 200, 'some load before the restart');
    const t0 = Date.now();
    await fx.nats.restart();
    const restarted = Date.now();
    const okAtRestart = ok;
    await waitFor(() => ok > okAtRestart + 200, 'calls to succeed again after the restart', 30_000);
    const recovered = Date.now() - restarted;
    running = false;
    await load;
    report(`NATS restart (kill + start took ${restarted - t0} ms) -> cross-hub calls succeed again after`, recovered);
    report(`NATS restart: calls failed (in flight when the link dropped), codes ${[...codes].join(',')}`, failed, 'calls');
    for (const code of codes) expect(code).to.be.oneOf(['PIPEIO_ERR_FEDERATION', 'PIPEIO_ERR_PROVIDER_GONE']);
    for (const id of ['A', 'B']) {
      const links = fx.hubs.get(id)!.events.filter((e) => e['type'] === 'link').map((e) => e['up']);
      expect(links.slice(-2)).to.deep.equal([false, true]);
    }
    // Nobody left: no leave notices, both clients still connected, peers never dropped.
    const notices = (await watcher.drainUntilPong()).filter((f) => f['type'] === 'metadata_update' && f['action'] === 'leave');
    expect(notices).to.have.length(0);
    expect(c.closed || watcher.closed).to.equal(false);
    expect(fx.hubs.get('A')!.events.filter((e) => e['type'] === 'peer' && e['up'] === false)).to.have.length(0);
  });

  it('a hub started before NATS is reachable serves local clients and joins once NATS is up', async () => {
    await fx.nats.reserve();
    await fx.startHub('A');
    const p = await fx.client('A', 'P');
    await provide(p, 'local', 'echo');
    serve(p, (c) => [{ data: c['data'] }]);
    const c = await fx.client('A', 'C');
    expect((await call(c, 'local', 'echo', 'still local'))['data']).to.equal('still local');
    const t0 = Date.now();
    await fx.nats.start();
    await fx.startHub('B');
    await fx.waitMesh(['A', 'B'], 15_000);
    report('NATS started late -> hub A joined the cluster after', Date.now() - t0);
    const remote = await fx.client('B', 'R');
    await waitMember(remote, 'local', 'P');
    expect((await call(remote, 'local', 'echo', 'from B'))['data']).to.equal('from B');
  });

  it('a call or an answer too big for NATS (max_payload 1 MiB) is answered with an error, never a hang', async () => {
    await fx.nats.start();
    await Promise.all([fx.startHub('A'), fx.startHub('B')]);
    await fx.waitMesh(['A', 'B']);
    const p = await fx.client('B', 'P');
    await provide(p, 'big', 'echo');
    await provide(p, 'big', 'blowup');
    serve(p, (c) => [{ data: c['event'] === 'blowup' ? 'y'.repeat(2 * 1024 * 1024) : c['data'] }]);
    const c = await fx.client('A', 'C');
    await waitMember(c, 'big', 'P');
    const tooBig = await call(c, 'big', 'echo', 'x'.repeat(2 * 1024 * 1024));
    expect(tooBig['code']).to.equal('PIPEIO_ERR_FEDERATION');
    expect(tooBig['error']).to.match(/^Call to big:echo could not reach its provider: .*max_payload/);
    const answer = await call(c, 'big', 'blowup', null);
    expect(answer['code']).to.equal('PIPEIO_ERR_FEDERATION');
    expect(answer['error']).to.match(/^The answer could not cross the cluster link/);
    // Small frames still go through, on the same link.
    expect((await call(c, 'big', 'echo', 'small'))['data']).to.equal('small');
  });
});
