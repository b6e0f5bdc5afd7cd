/**
 * The hub client commands of the CLI (provide, call, publish, subscribe,
 * broadcast, listen, explore) as real processes against a real Hub.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { killChild, waitForExit, waitForLine } from '../fixtures/helpers';
import { HubFixture } from '../hub/hub-fixture';
import { buildOnce, collect, runCli, startCli } from './run-cli';
import { needsTools } from '../fixtures/tools';

const UPPER = path.join(__dirname, '..', '..', 'examples', 'hub-bash-upper', 'upper.sh');

/** Resolves with the first stderr line of `child` matching `pattern`. */
function waitForStderr(child: ChildProcess, pattern: RegExp, timeout = 15000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`no stderr line ${pattern} within ${timeout} ms: ${buffered}`)), timeout);
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        child.stderr?.removeListener('data', onData);
        resolve(line);
      }
    };
    child.stderr?.on('data', onData);
  });
}

describe('CLI: hub client commands', function () {
  this.timeout(60000);
  let fx: HubFixture;
  const children: ChildProcess[] = [];
  const hubArgs = (): string[] => ['--hub', fx.socketPath];

  before(() => buildOnce());
  beforeEach(async () => {
    fx = new HubFixture();
    await fx.start();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await killChild(c);
    await fx.stop();
  });

  function start(args: string[]): ChildProcess {
    const child = startCli(args);
    children.push(child);
    return child;
  }

  it('every command has --help (exit 0, usage on stdout)', async () => {
    for (const cmd of ['provide', 'call', 'publish', 'subscribe', 'broadcast', 'listen', 'explore']) {
      const r = await runCli([cmd, '--help']);
      expect(r.code, cmd).to.equal(0);
      expect(r.stdout, cmd).to.match(new RegExp(`^Usage: pipe-io-server ${cmd} `));
      expect(r.stdout, cmd).to.include('Exit codes:');
    }
    const main = await runCli(['--help']);
    for (const cmd of ['provide', 'call', 'publish', 'subscribe', 'broadcast', 'listen', 'explore']) expect(main.stdout).to.match(new RegExp(`^  ${cmd} `, 'm'));
  });

  it('provide runs a bash plugin on the hub; call prints its answer; SIGTERM ends both cleanly', async function () {
    needsTools('jq').call(this);
    const provider = start(['provide', ...hubArgs(), '--channel', 'text', '--event', 'upper', '--', 'bash', UPPER]);
    const line = await waitForLine(provider, /^providing /, 15000);
    expect(line).to.match(/^providing text:upper as plugin-upper-\w+ \(line mode\)$/);
    const r = await runCli(['call', ...hubArgs(), '--channel', 'text', '--event', 'upper', '"hello cli"']);
    expect([r.code, r.stdout, r.stderr]).to.deep.equal([0, '"HELLO CLI"\n', '']);
    const bad = await runCli(['call', ...hubArgs(), '-c', 'text', '-e', 'upper', '42']);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/^pipe-io-server call: jq: error .*upper wants a string \[PIPEIO_ERR_REMOTE\]\n$/);
    provider.kill('SIGTERM');
    expect(await waitForExit(provider)).to.deep.equal([0, null]);
    const gone = await runCli(['call', ...hubArgs(), '-c', 'text', '-e', 'upper', '"x"']);
    expect(gone.code).to.equal(1);
    expect(gone.stderr).to.include('No provider for text:upper [PIPEIO_ERR_NO_PROVIDER]');
  });

  it('provide --instances 2 --group serves a group; explore shows it', async () => {
    const provider = start(['provide', ...hubArgs(), '-c', 'jobs', '-e', 'pid', '-g', 'workers', '-n', '2', '--client-id', 'w', '--', 'bash', '-c', 'while read -r l; do echo $$; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"']);
    expect(await waitForLine(provider, /^providing /, 15000)).to.equal('providing jobs:workers.pid as w-1, w-2 (line mode)');
    const r = await runCli(['explore', ...hubArgs(), '-c', 'jobs', '--compact']);
    expect(r.code).to.equal(0);
    const view = JSON.parse(r.stdout) as { events: Record<string, unknown>; members: Array<{ id: string }> };
    expect(Object.keys(view.events)).to.deep.equal(['workers.pid']);
    expect(view.members.map((m) => m.id).sort()).to.deep.equal(['w-1', 'w-2']);
  });

  it('call: exit codes for bad JSON (2), unreachable hub (7), timeout (3), refused secret (8)', async () => {
    const bad = await runCli(['call', ...hubArgs(), '-c', 'c', '-e', 'e', 'not json']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/not JSON/);
    const nowhere = await runCli(['call', '--hub', path.join(fx.dir, 'nothing.sock'), '-c', 'c', '-e', 'e']);
    expect(nowhere.code).to.equal(7);
    const silent = await fx.client('silent');
    await silent.provide('c', 'silent');
    const slow = await runCli(['call', ...hubArgs(), '-c', 'c', '-e', 'silent', '--timeout', '300']);
    expect(slow.code).to.equal(3);
    expect(slow.stderr).to.include('PIPEIO_ERR_TIMEOUT');
    await fx.stop();
    fx = new HubFixture();
    await fx.start({ secret: 's3cret' });
    const refused = await runCli(['call', ...hubArgs(), '-c', 'c', '-e', 'e']);
    expect(refused.code).to.equal(8);
    const secretFile = path.join(fx.dir, 'secret');
    fs.writeFileSync(secretFile, 's3cret\n', { mode: 0o600 });
    const ok = await runCli(['call', ...hubArgs(), '--secret-file', secretFile, '-c', 'c', '-e', 'e']);
    expect(ok.code).to.equal(1); // connected: the hub answers "No provider"
    expect(ok.stderr).to.include('No provider for c:e');
  });

  it('call --stream prints one line per chunk', async () => {
    const provider = await fx.client('streamer');
    await provider.provide('c', 'count');
    void provider.nextOf('call', undefined, 15000).then((call) => {
      const base = { type: 'response', request_id: call['request_id'], target_id: call['sender_id'], is_stream: true };
      for (let i = 0; i < 3; i++) provider.send({ ...base, data: { i }, is_final: false });
      provider.send({ ...base, data: null, is_final: true });
    });
    const r = await runCli(['call', ...hubArgs(), '-c', 'c', '-e', 'count', '--stream', '3']);
    expect([r.code, r.stdout]).to.deep.equal([0, '{"i":0}\n{"i":1}\n{"i":2}\n']);
  });

  it('subscribe prints publications (JSON lines) and ends after --count; publish reads stdin lines', async () => {
    const sub = start(['subscribe', ...hubArgs(), '-c', 'news', '-T', 'headlines', '--count', '3']);
    const out = collect(sub);
    await waitForStderr(sub, /^subscribed$/);
    const pub = await runCli(['publish', ...hubArgs(), '-c', 'news', '-T', 'headlines', '--wait'], { input: '"one"\n{"two":2}\n\n[3]\n' });
    expect(pub.code, pub.stderr).to.equal(0);
    expect(await waitForExit(sub)).to.deep.equal([0, null]);
    expect(out.stdout()).to.equal('"one"\n{"two":2}\n[3]\n');
  });

  it('listen prints broadcasts; broadcast sends its JSON arguments', async () => {
    const listener = start(['listen', ...hubArgs(), '-c', 'room', '-n', '2']);
    const out = collect(listener);
    await waitForStderr(listener, /^listening$/);
    const b = await runCli(['broadcast', ...hubArgs(), '-c', 'room', '-e', 'hello', '--client-id', 'shouter', '1', '{"b":true}']);
    expect(b.code, b.stderr).to.equal(0);
    expect(await waitForExit(listener)).to.deep.equal([0, null]);
    expect(out.stdout()).to.equal('{"event":"hello","sender_id":"shouter","data":1}\n{"event":"hello","sender_id":"shouter","data":{"b":true}}\n');
  });

  it('subscribe exits 7 when the hub goes away', async () => {
    const sub = start(['subscribe', ...hubArgs(), '-c', 'news', '-T', 't']);
    await waitForStderr(sub, /^subscribed$/);
    const err = waitForStderr(sub, /closed the connection/);
    await fx.hub.stop();
    await err;
    expect(await waitForExit(sub)).to.deep.equal([7, null]);
  });

  it('provide exits 7 when the hub goes away, and stops its plugin', async () => {
    const provider = start(['provide', ...hubArgs(), '-c', 'text', '-e', 'upper', '--', 'bash', UPPER]);
    await waitForLine(provider, /^providing /, 15000);
    await fx.hub.stop();
    expect(await waitForExit(provider)).to.deep.equal([7, null]);
  });

  it('provide: usage errors (2) and a command that does not exist (127)', async () => {
    expect((await runCli(['provide', ...hubArgs(), '-e', 'x', '--', 'true'])).code).to.equal(2);
    expect((await runCli(['provide', ...hubArgs(), '-c', 'c', '-e', 'x'])).code).to.equal(2);
    expect((await runCli(['provide', ...hubArgs(), '-c', 'c', '-e', 'x', '-m', 'fancy', '--', 'true'])).code).to.equal(2);
    const missing = await runCli(['provide', ...hubArgs(), '-c', 'c', '-e', 'x', '--', '/nonexistent/plugin']);
    expect(missing.code).to.equal(127);
    expect(fx.hub.routingCore.clients.size).to.equal(0);
  });
});
