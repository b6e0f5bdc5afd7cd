import { expect } from 'chai';
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
