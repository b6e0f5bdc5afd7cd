/**
 * `pipe-io-server top` in a real terminal (tmux, its own server socket):
 * it draws, refreshes while calls are made, and exits on `q`; and
 * `pipe-io-server hub --http` serves metrics, health, stats and the
 * dashboard, its calls included, from the hub's process.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { ClientFixture, waitFor } from '../hub/client-fixture';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';
import { buildOnce, CLI, runCli, startCli } from './run-cli';
import { HubClient } from '../../lib/hub/client/hub-client';

const haveTmux = spawnSync('tmux', ['-V']).status === 0;

describe('pipe-io-server top (in tmux)', function () {
  this.timeout(60000);
  const server = `pio-top-${randomBytes(4).toString('hex')}`;
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
  const alive = (): boolean => spawnSync('tmux', ['-L', server, 'has-session', '-t', 'top']).status === 0;
  const screen = (): string => tmux('capture-pane', '-p', '-t', 'top');
  let fx: ClientFixture;

  before(function () {
    if (!haveTmux) this.skip(); // Debian's tmux (.ci/run installs it)
    buildOnce();
  });
  afterEach(async () => {
    spawnSync('tmux', ['-L', server, 'kill-server']);
    await fx?.stop();
  });

  it('draws, refreshes while calls are made, and exits on q', async () => {
    fx = await ClientFixture.start();
    const prov = await fx.client({ clientId: 'adder' });
    await (await prov.open('math')).addEvent('add', (msg) => (msg.data as number) + 1);
    tmux('new-session', '-d', '-s', 'top', '-x', '130', '-y', '30', `${process.execPath} ${CLI} top --hub ${fx.socketPath} --interval 200`);
    await waitFor(() => alive() && screen().includes('pipe-io-server top — hub hub-1'), 'the first screen', 15000);
    let text = screen();
    expect(text).to.include('CHANNEL');
    expect(text).to.match(/math\s+add\s+1\s+0\.0/); // the event and its one provider, no calls yet
    expect(text).to.include('q: quit');
    const caller = await fx.client({ clientId: 'caller' });
    const m = await caller.open('math');
    let calling = true;
    const load = (async () => {
      while (calling) await m.call('add', 1);
    })();
    try {
      await waitFor(() => /math\s+add\s+1\s+[1-9][\d.k]*\s/.test(screen()), 'a call rate on the screen', 15000);
    } finally {
      calling = false;
      await load;
    }
    text = screen();
    expect(text).to.match(/calls\/s [\d.k]+/);
    expect(fx.hub.stats().clients).to.equal(3); // adder, caller, top
    tmux('send-keys', '-t', 'top', 'q');
    await waitFor(() => !alive(), 'top to exit on q', 10000);
    await waitFor(() => fx.hub.stats().clients === 2, 'top to leave the hub');
  });
});

describe('pipe-io-server top against a hub without metrics', function () {
  this.timeout(30000);
  let fx: ClientFixture | undefined;
  before(() => buildOnce());
  after(async () => fx?.stop());

  it('says the hub does not serve its stats and exits 1', async () => {
    fx = await ClientFixture.start({ metrics: false });
    const r = await runCli(['top', '--hub', fx.socketPath, '--count', '1'], { timeout: 20000 }); // the hub runs in this process: not spawnSync
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('does not serve its stats');
  });
});

describe('pipe-io-server hub --http', function () {
  this.timeout(60000);
  let dir = '';
  before(() => buildOnce());
  afterEach(() => removeTempDir(dir));

  it('serves /metrics, /healthz, /readyz, /api/stats and the dashboard, whose calls reach the hub', async () => {
    dir = makeTempDir('hub-http');
    const sock = path.join(dir, 'h.sock');
    const child = startCli(['hub', '--socket', sock, '--server-id', 'web', '--http', '127.0.0.1:0', '--dashboard-calls']);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    let client: HubClient | undefined;
    try {
      await waitFor(() => /serving (http:\/\/\S+)/.test(out), 'the http line', 15000);
      const base = /serving (http:\/\/\S+)/.exec(out)![1]!;
      expect(base).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      client = new HubClient({ path: sock }, { clientId: 'p' });
      await client.connect();
      await (await client.open('math')).addEvent('double', (msg) => (msg.data as number) * 2);
      expect((await fetch(`${base}healthz`)).status).to.equal(200);
      expect((await fetch(`${base}readyz`)).status).to.equal(200);
      expect(await (await fetch(`${base}metrics`)).text()).to.include('pipeio_hub_info{server_id="web"');
      const page = await fetch(base);
      expect(page.headers.get('content-security-policy')).to.include("default-src 'none'");
      expect(await page.text()).to.include('<title>pipe-io-server hub</title>');
      const r = await fetch(`${base}api/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'math', event: 'double', data: 21 }) });
      expect(await r.json()).to.deep.equal({ ok: true, data: 42 });
      const cross = await fetch(`${base}api/call`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: '{}' });
      expect(cross.status).to.equal(403);
      const stats = (await (await fetch(`${base}api/stats`)).json()) as { topology: { channels: Array<{ name: string; members: Array<{ id: string }> }> } };
      const members = stats.topology.channels.find((c) => c.name === 'math')!.members.map((x) => x.id);
      expect(members).to.include('p');
      expect(members.some((id) => id.startsWith('dashboard-'))).to.equal(true);
    } finally {
      await client?.close();
      child.kill('SIGTERM');
      const code = await new Promise((resolve) => child.once('close', resolve));
      expect(code).to.equal(0);
    }
  });

  it('refuses --dashboard-calls without --http', async () => {
    const r = spawnSync(process.execPath, [CLI, 'hub', '--dashboard-calls'], { encoding: 'utf8' });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include('--dashboard-calls needs --http');
  });
});
