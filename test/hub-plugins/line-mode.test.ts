import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from '../fixtures/helpers';
import { PluginFixture } from './fixture';
import { needsTools } from '../fixtures/tools';

const JQ_UPPER = 'while IFS= read -r line; do jq -c "ascii_upcase" <<<"$line"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"';
/** Echoes each line back (data in = result out). */
const ECHO = 'while IFS= read -r line; do printf "%s\\n" "$line"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"';

describe('Hub plugins: line mode', function () {
  this.timeout(20000);
  let fx: PluginFixture;

  beforeEach(async () => {
    fx = new PluginFixture();
    await fx.start();
  });
  afterEach(() => fx.stop());

  it('a bash while-read loop with jq provides an event', async function () {
    needsTools('jq').call(this);
    await fx.bash(JQ_UPPER, { channel: 'text', event: 'upper' });
    const caller = await fx.client('caller');
    const res = await fx.call(caller, 'text', 'upper', 'hello hub');
    expect(res['data']).to.equal('HELLO HUB');
    expect(res).to.not.have.property('error');
    expect(res['sender_id']).to.match(/^plugin-upper-/);
  });

  it('answers pipelined calls in order, each to its caller', async () => {
    await fx.bash(ECHO, { channel: 'c', event: 'echo' });
    const a = await fx.client('a');
    const b = await fx.client('b');
    for (let i = 0; i < 200; i++) {
      (i % 2 ? a : b).send({ type: 'call', request_id: `q${i}`, channel: 'c', event: 'echo', data: { i, who: i % 2 ? 'a' : 'b' } });
    }
    for (let i = 0; i < 200; i++) {
      const res = await (i % 2 ? a : b).nextOf('response', `q${i}`);
      expect(res['data']).to.deep.equal({ i, who: i % 2 ? 'a' : 'b' });
    }
  });

  it('carries bytes as {"$bytes": base64} both ways', async () => {
    const seen: string[] = [];
    await fx.bash(`while IFS= read -r line; do printf '%s\\n' "$line" >&2; printf '%s\\n' "$line"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`, { channel: 'c', event: 'echo' });
    fx.plugins[0]!.on('stderr', (l) => seen.push(l));
    const caller = await fx.client('caller');
    const bytes = Buffer.from([0, 1, 2, 0xff, 0x0a]);
    const res = await fx.call(caller, 'c', 'echo', { blob: bytes, n: 1.5 });
    expect(Buffer.from((res['data'] as { blob: Uint8Array }).blob)).to.deep.equal(bytes);
    await waitFor(() => seen.length > 0, 'the stderr copy of the line');
    expect(JSON.parse(seen[0]!)).to.deep.equal({ blob: { $bytes: bytes.toString('base64') }, n: 1.5 });
  });

  it('a line that is not JSON is an error to its caller, and the plugin keeps serving', async () => {
    await fx.bash(`while IFS= read -r line; do if [[ $line == '"bad"' ]]; then echo 'not json at all'; else echo "$line"; fi; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`, { channel: 'c', event: 'e' });
    const caller = await fx.client('caller');
    const bad = await fx.call(caller, 'c', 'e', 'bad');
    expect(bad['code']).to.equal('PIPEIO_ERR_INVALID_JSON');
    expect(bad['error']).to.match(/not JSON: "not json at all"/);
    const good = await fx.call(caller, 'c', 'e', 'good');
    expect(good['data']).to.equal('good');
  });

  it('{"$error": text} fails the call with that text', async () => {
    await fx.bash(`while IFS= read -r line; do echo '{"$error":"no such thing"}'; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`, { channel: 'c', event: 'e' });
    const caller = await fx.client('caller');
    const res = await fx.call(caller, 'c', 'e', 1);
    expect(res['error']).to.equal('no such thing');
    expect(res['code']).to.equal('PIPEIO_ERR_REMOTE');
  });

  it('a plugin that never answers hits the call timeout; a late answer is not mistaken for the next call', async () => {
    // answers "slow" only after the next call arrived
    await fx.bash(`while IFS= read -r line; do if [[ $line == '"slow"' ]]; then read -r next; echo '"late"'; echo "$next"; else echo "$line"; fi; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`, {
      channel: 'c',
      event: 'e',
      timeout: 300,
    });
    const caller = await fx.client('caller');
    const started = Date.now();
    const res = await fx.call(caller, 'c', 'e', 'slow');
    expect(res['code']).to.equal('PIPEIO_ERR_TIMEOUT');
    expect(res['error']).to.match(/did not answer c:e within 300 ms/);
    expect(Date.now() - started).to.be.at.least(250);
    const next = await fx.call(caller, 'c', 'e', 'next');
    expect(next['data']).to.equal('next');
  });

  it("README's upper.sh: after a call it did not answer, no later answer reaches the wrong caller", async () => {
    // jq writes nothing on stdout for a non-string (its error goes to stderr): `call 12` is never answered
    const plugin = await fx.bash(JQ_UPPER, { channel: 'text', event: 'upper', timeout: 500, restart: { initialDelay: 20 } });
    const firstPid = plugin.pids[0];
    const caller = await fx.client('caller');
    const missed = await fx.call(caller, 'text', 'upper', 12);
    expect(missed['code']).to.equal('PIPEIO_ERR_TIMEOUT');
    // then two concurrent callers: each gets its own answer (before the fix, "b" got "C" and "c" timed out)
    const b = await fx.client('b');
    const c = await fx.client('c');
    b.send({ type: 'call', request_id: 'rb', channel: 'text', event: 'upper', data: 'b' });
    c.send({ type: 'call', request_id: 'rc', channel: 'text', event: 'upper', data: 'c' });
    const [rb, rc] = await Promise.all([b.nextOf('response', 'rb'), c.nextOf('response', 'rc')]);
    expect(rb['data']).to.equal('B');
    expect(rc['data']).to.equal('C');
    // and later calls are answered too: the instance was restarted (a new process)
    expect((await fx.call(caller, 'text', 'upper', 'd'))['data']).to.equal('D');
    expect(plugin.pids[0]).to.be.a('number').and.not.equal(firstPid);
  });

  it('pipeline 2: a missed answer fails every call in flight on that instance at once and restarts it; its late lines reach nobody', async () => {
    // on "hold" it reads the next call too, then answers both once the file GO exists (late for "hold")
    const go = path.join(fx.dir, 'go');
    const plugin = await fx.bash(`while IFS= read -r line; do if [[ $line == '"hold"' ]]; then read -r next; until [[ -e ${go} ]]; do sleep 0.02; done; echo '"late"'; echo "$next"; else echo "$line"; fi; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`, {
      channel: 'c',
      event: 'e',
      timeout: 1500,
      pipeline: 2, // both calls are written to it
      restart: { initialDelay: 20 },
    });
    const restarts: number[] = [];
    plugin.on('restart', (_i, attempt) => restarts.push(attempt));
    const a = await fx.client('a');
    const b = await fx.client('b');
    a.send({ type: 'call', request_id: 'hold', channel: 'c', event: 'e', data: 'hold' });
    await waitFor(() => plugin.pending[0] === 1, 'the first call in flight');
    b.send({ type: 'call', request_id: 'behind', channel: 'c', event: 'e', data: 'x' });
    await waitFor(() => plugin.pending[0] === 2, 'the second call in flight');
    const started = Date.now();
    // the plugin now writes '"late"' then '"x"': neither may be taken as an answer of anything
    const held = await a.nextOf('response', 'hold');
    const behind = await b.nextOf('response', 'behind');
    expect(held['code']).to.equal('PIPEIO_ERR_TIMEOUT');
    expect(behind['code']).to.equal('PIPEIO_ERR_PROVIDER_GONE'); // at once, not at its own timeout
    expect(behind['error']).to.match(/restarted/);
    expect(Date.now() - started).to.be.below(2900);
    fs.writeFileSync(go, ''); // if the old process were still there, it would now write '"late"' and '"x"'
    expect((await fx.call(a, 'c', 'e', 'after'))['data']).to.equal('after');
    expect((await fx.call(b, 'c', 'e', 'again'))['data']).to.equal('again');
    expect(restarts).to.deep.equal([1]);
    for (const f of [...a.frames, ...b.frames]) expect(f['data']).to.not.be.oneOf(['late', 'x']);
  });

  it('a line no call asked for is a protocol breach: the instance is restarted', async () => {
    // answers every call twice
    const plugin = await fx.bash(`while IFS= read -r line; do echo "$line"; echo '"extra"'; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`, {
      channel: 'c',
      event: 'e',
      restart: { initialDelay: 20 },
    });
    const firstPid = plugin.pids[0];
    const caller = await fx.client('caller');
    expect((await fx.call(caller, 'c', 'e', 'one'))['data']).to.equal('one');
    await waitFor(() => fx.errors.some((e) => /wrote a line no call asked for/.test(e.message)), 'the breach to be reported');
    await waitFor(() => plugin.pids[0] !== undefined && plugin.pids[0] !== firstPid, 'a new process');
    expect((await fx.call(caller, 'c', 'e', 'two'))['data']).to.equal('two');
  });

  it('a group of 2 with an instance that skips answers: no caller ever gets another call\'s answer, the group keeps serving', async () => {
    // echoes every call but writes nothing for "skip"
    const plugin = await fx.bash(`while IFS= read -r line; do [[ $line == '"skip"' ]] || printf '%s\\n' "$line"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`, {
      channel: 'c',
      event: 'e',
      instances: 2,
      timeout: 400,
      restart: { initialDelay: 20 },
    });
    const restarts: number[] = [];
    plugin.on('restart', (i) => restarts.push(i));
    const caller = await fx.client('caller');
    const n = 120;
    for (let i = 0; i < n; i++) caller.send({ type: 'call', request_id: `q${i}`, channel: 'c', event: 'e', data: i % 40 === 5 ? 'skip' : { i } });
    const codes = new Map<string, number>();
    let answered = 0;
    for (let i = 0; i < n; i++) {
      const res = await caller.nextOf('response', `q${i}`, 10000);
      if (i % 40 === 5) expect(res['code'], `call ${i}: ${JSON.stringify(res)}`).to.be.oneOf(['PIPEIO_ERR_TIMEOUT', 'PIPEIO_ERR_PROVIDER_GONE']);
      else if ('error' in res) codes.set(String(res['code']), (codes.get(String(res['code'])) ?? 0) + 1);
      else {
        expect(res['data'], `call ${i}`).to.deep.equal({ i });
        answered++;
      }
    }
    expect([...codes.keys()].every((c) => c === 'PIPEIO_ERR_PROVIDER_GONE' || c === 'PIPEIO_ERR_TIMEOUT'), JSON.stringify([...codes])).to.equal(true);
    expect(answered).to.be.above(0);
    await waitFor(() => restarts.length > 0, 'the instance that missed an answer to be restarted');
    // afterwards both instances serve again, every answer to its call
    for (let i = 0; i < 20; i++) caller.send({ type: 'call', request_id: `z${i}`, channel: 'c', event: 'e', data: { z: i } });
    for (let i = 0; i < 20; i++) expect((await caller.nextOf('response', `z${i}`, 10000))['data']).to.deep.equal({ z: i });
  });

  it('two lines for one call (jq emitting two values): never taken as the next call\'s answer', async () => {
    const plugin = await fx.bash(`while IFS= read -r line; do jq -c '., "extra"' <<<"$line"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`, {
      channel: 'c',
      event: 'e',
      timeout: 10000,
      restart: { initialDelay: 5, maxDelay: 20, maxRestarts: 100 },
    });
    let restarts = 0;
    plugin.on('restart', () => restarts++);
    const caller = await fx.client('caller');
    const n = 12;
    for (let i = 0; i < n; i++) caller.send({ type: 'call', request_id: `q${i}`, channel: 'c', event: 'e', data: { i } });
    for (let i = 0; i < n; i++) {
      const res = await caller.nextOf('response', `q${i}`, 15000);
      if ('error' in res) expect(res['code']).to.equal('PIPEIO_ERR_PROVIDER_GONE');
      else expect(res['data']).to.deep.equal({ i }); // before the fix: "extra" for every other call
    }
    expect(restarts).to.be.above(0);
  });

  it('restart: false: an instance that missed an answer leaves the hub', async () => {
    const plugin = await fx.bash(JQ_UPPER, { channel: 'text', event: 'upper', timeout: 300, restart: false });
    const closed = new Promise<void>((resolve) => plugin.once('close', resolve));
    const caller = await fx.client('caller');
    expect((await fx.call(caller, 'text', 'upper', 12))['code']).to.equal('PIPEIO_ERR_TIMEOUT');
    await closed;
    expect((await fx.call(caller, 'text', 'upper', 'a'))['error']).to.equal('No provider for text:upper');
  });

  it('a crashed plugin is restarted with backoff; its in-flight calls get errors', async () => {
    // exits 3 on "die" without answering
    const plugin = await fx.bash(`while IFS= read -r line; do [[ $line == '"die"' ]] && exit 3; echo "$line"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`, {
      channel: 'c',
      event: 'e',
      restart: { initialDelay: 50 },
    });
    const restarts: number[] = [];
    plugin.on('restart', (_i, attempt) => restarts.push(attempt));
    const firstPid = plugin.pids[0];
    const caller = await fx.client('caller');
    const died = await fx.call(caller, 'c', 'e', 'die');
    expect(died['code']).to.equal('PIPEIO_ERR_PROVIDER_GONE');
    expect(died['error']).to.match(/exited \(code 3\) before answering/);
    const after = await fx.call(caller, 'c', 'e', 'again');
    expect(after['data']).to.equal('again');
    expect(restarts).to.deep.equal([1]);
    expect(plugin.pids[0]).to.be.a('number').and.not.equal(firstPid);
  });

  it('a plugin that exits 0 leaves the hub: callers then get "No provider"', async () => {
    const plugin = await fx.bash(`read -r line <"$PIPE_IO_READ_PIPE"; exit 0`, { channel: 'c', event: 'e' });
    const closed = new Promise<void>((resolve) => plugin.once('close', resolve));
    const caller = await fx.client('caller');
    const first = await fx.call(caller, 'c', 'e', 1);
    expect(first['code']).to.equal('PIPEIO_ERR_PROVIDER_GONE');
    await closed;
    const res = await fx.call(caller, 'c', 'e', 2);
    expect(res['error']).to.equal('No provider for c:e');
  });

  it('instances: N copies serve one load-balanced group', async () => {
    const plugin = await fx.bash(`while IFS= read -r line; do echo "$$"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`, { channel: 'c', event: 'pid', instances: 3 });
    expect(plugin.ids).to.have.length(3);
    const caller = await fx.client('caller');
    for (let i = 0; i < 30; i++) caller.send({ type: 'call', request_id: `g${i}`, channel: 'c', event: 'pid', data: null });
    const pids = new Set<number>();
    for (let i = 0; i < 30; i++) pids.add((await caller.nextOf('response', `g${i}`))['data'] as number);
    expect(pids.size).to.equal(3);
    // the hub sees three group providers
    expect(fx.hub.routingCore.providers.get('c', 'pid')?.providers).to.have.length(3);
  });

  it('refuses an event that another member already provides (no group)', async () => {
    const other = await fx.client('other');
    await other.provide('c', 'e');
    let err: { code?: string } | undefined;
    try {
      await fx.bash(ECHO, { channel: 'c', event: 'e' });
    } catch (e) {
      err = e as { code?: string };
    }
    expect(err?.code).to.equal('PIPEIO_ERR_CONFLICT');
    expect(fx.hub.routingCore.clients.size).to.equal(1);
  });

  it('stop() answers open calls with PIPEIO_ERR_CLOSED and leaves the hub', async () => {
    const plugin = await fx.bash(`while IFS= read -r line; do :; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`, { channel: 'c', event: 'e' });
    const caller = await fx.client('caller');
    caller.send({ type: 'call', request_id: 'x', channel: 'c', event: 'e', data: 1 });
    await waitFor(() => plugin.pending[0] === 1, 'the call to be in flight');
    await plugin.stop();
    const res = await caller.nextOf('response', 'x');
    expect(res['code']).to.equal('PIPEIO_ERR_CLOSED');
    expect(fx.hub.routingCore.clients.has(plugin.ids[0]!)).to.equal(false);
    expect(plugin.state).to.equal('closed');
  });

  it('hub.attachPlugin: the plugin stops with the hub', async () => {
    const plugin = await fx.hub.attachPlugin('bash', ['-c', ECHO], { channel: 'c', event: 'e', stdout: 2 });
    const pid = plugin.pids[0]!;
    const closed = new Promise<void>((resolve) => plugin.once('close', resolve));
    await fx.hub.stop();
    await closed;
    expect(plugin.state).to.equal('closed');
    expect(() => process.kill(pid, 0)).to.throw(); // the process is gone
  });

  it('password channels: the password option answers the challenge; without it the hub refuses', async () => {
    await fx.stop();
    fx = new PluginFixture();
    await fx.start({ channelPasswords: { vault: 'pw' } });
    let err: { code?: string } | undefined;
    await fx.bash(ECHO, { channel: 'vault', event: 'e' }).catch((e: { code?: string }) => (err = e));
    expect(err?.code).to.equal('PIPEIO_ERR_AUTH');
    await fx.bash(ECHO, { channel: 'vault', event: 'e', password: 'pw' });
    expect(fx.hub.routingCore.providers.get('vault', 'e')?.providers).to.have.length(1);
  });
});
