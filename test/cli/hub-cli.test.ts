/** `pipe-io-server hub` as a real process: listens where it says, serves, stops cleanly on SIGTERM. */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { makeTempDir, removeTempDir, waitFor, waitForExit, waitForLine, killChild } from '../fixtures/helpers';
import { findNatsServer, freePort } from '../hub/nats-fixture';
import { HubProcess } from './hub-process';
import { RawClient } from '../hub/raw-client';
import { buildOnce, runCli, startCli } from './run-cli';

describe('pipe-io-server hub', function () {
  let dir: string | undefined;
  let child: ChildProcess | undefined;

  before(function () {
    this.timeout(120000); // slow: compiles the project once
    buildOnce();
  });

  afterEach(async () => {
    await killChild(child);
    child = undefined;
    removeTempDir(dir);
  });

  it('listens on a socket and TCP, serves a client, stops on SIGTERM with exit 0 and no socket left', async () => {
    dir = makeTempDir('pio-hubcli');
    const sock = path.join(dir, 'h.sock');
    const secretFile = path.join(dir, 'secret');
    fs.writeFileSync(secretFile, 'top-secret\n', { mode: 0o600 });
    child = startCli(['hub', '--socket', sock, '--tcp', '127.0.0.1:0', '--server-id', 'cli-hub', '--lb-policy', 'round-robin']);
    // Both lines may arrive in one chunk: read the whole output, not line by line.
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const tcp = await waitFor(() => /listening on tcp:127\.0\.0\.1:(\d+)/.exec(out), 'the TCP listening line', 15000);
    expect(out).to.include(`listening on unix:${sock}`);
    const port = Number(tcp![1]);
    expect(fs.statSync(sock).mode & 0o777).to.equal(0o600);
    const c = await RawClient.identified({ host: '127.0.0.1', port }, 'A');
    c.send({ type: 'ping' });
    await c.nextOf('pong');
    c.close();
    child.kill('SIGTERM');
    const [code] = await waitForExit(child);
    expect(code).to.equal(0);
    expect(fs.existsSync(sock)).to.equal(false);
  });

  it('requires the secret from --secret-file', async () => {
    dir = makeTempDir('pio-hubcli');
    const sock = path.join(dir, 'h.sock');
    const secretFile = path.join(dir, 'secret');
    fs.writeFileSync(secretFile, 'top-secret\n', { mode: 0o600 });
    child = startCli(['hub', '--socket', sock, '--secret-file', secretFile]);
    await waitForLine(child, /listening on unix:/);
    const c = await RawClient.connect({ path: sock });
    c.send({ type: 'identify', client_id: 'A' });
    expect((await c.nextOf('conn_challenge'))['challenge']).to.be.a('string');
    c.close();
  });

  it('exits 2 on usage errors and prints --help', async () => {
    const bad = await runCli(['hub', '--lb-policy', 'random', '--socket', '/nonexistent/x.sock']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/lbPolicy must be one of/);
    const help = await runCli(['hub', '--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/Usage: pipe-io-server hub/);
    const tls = await runCli(['hub', '--tls-cert', 'x']);
    expect(tls.code).to.equal(2);
  });

  it('--help: the main help lists every exit code; hub --help only the ones a hub has, and its options', async () => {
    const main = await runCli(['--help']);
    for (const code of ['0', '1', '2', '3', '4', '5', '6', '7', '8']) expect(main.stdout).to.match(new RegExp(`^  ${code}  |   ${code}  `, 'm'));
    expect(main.stdout).to.match(/7 {2}hub commands: the hub cannot be reached/);
    const help = await runCli(['hub', '--help']);
    expect(help.stdout).to.not.match(/pipe does not exist|not a FIFO|timeout {2}/);
    for (const option of ['--nats', '--channel-passwords', '--secret-env', '--idle-timeout', '--handshake-timeout', '--max-connections', '--cluster-prefix']) expect(help.stdout).to.include(option);
  });
});

describe('pipe-io-server hub: every Hub option an operator needs', function () {
  this.timeout(60000);
  const hubs: HubProcess[] = [];
  const others: ChildProcess[] = [];

  before(function () {
    this.timeout(120000);
    buildOnce();
  });
  afterEach(async () => {
    for (const c of others.splice(0)) await killChild(c);
    for (const h of hubs.splice(0)) await h.stop();
  });

  async function hubWith(extra: string[], env?: NodeJS.ProcessEnv): Promise<HubProcess> {
    const h = new HubProcess();
    hubs.push(h);
    return h.start(extra, env);
  }

  it('--channel-passwords FILE: a channel without its password is refused (8); --password-env answers', async () => {
    const pw = path.join(makeTempDir('pio-pw'), 'passwords');
    fs.writeFileSync(pw, '# channel=password\nvault=open sesame\n\nother=x=y\n', { mode: 0o600 });
    try {
      const hub = await hubWith(['--channel-passwords', pw]);
      const refused = await runCli(['call', ...hub.hubArgs, '-c', 'vault', '-e', 'e']);
      expect(refused.code, refused.stderr).to.equal(8);
      const ok = await runCli(['call', ...hub.hubArgs, '-c', 'vault', '-e', 'e', '--password-env', 'VAULT_PW'], { env: { ...process.env, VAULT_PW: 'open sesame' } });
      expect(ok.stderr).to.include('No provider for vault:e'); // in: the hub answered the call
      const other = await runCli(['call', ...hub.hubArgs, '-c', 'other', '-e', 'e', '--password-env', 'P'], { env: { ...process.env, P: 'x=y' } });
      expect(other.stderr).to.include('No provider for other:e');
    } finally {
      removeTempDir(path.dirname(pw));
    }
    const bad = path.join(makeTempDir('pio-pw'), 'passwords');
    fs.writeFileSync(bad, 'no equals sign\n');
    const r = await runCli(['hub', '--socket', path.join(path.dirname(bad), 'h.sock'), '--channel-passwords', bad]);
    removeTempDir(path.dirname(bad));
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include('line 1: expected CHANNEL=PASSWORD');
  });

  it('--secret-env VAR: clients must prove the secret; the client commands read it from --secret-env too', async () => {
    const hub = await hubWith(['--secret-env', 'HUB_SECRET'], { ...process.env, HUB_SECRET: 'env-secret' });
    const refused = await runCli(['call', ...hub.hubArgs, '-c', 'c', '-e', 'e']);
    expect(refused.code).to.equal(8);
    const wrong = await runCli(['call', ...hub.hubArgs, '-c', 'c', '-e', 'e', '--secret-env', 'S'], { env: { ...process.env, S: 'nope' } });
    expect(wrong.code).to.equal(8);
    const ok = await runCli(['call', ...hub.hubArgs, '-c', 'c', '-e', 'e', '--secret-env', 'S'], { env: { ...process.env, S: 'env-secret' } });
    expect(ok.stderr).to.include('No provider for c:e');
    const unset = await runCli(['hub', '--socket', path.join(hub.dir, 'x.sock'), '--secret-env', 'NOT_SET_ANYWHERE'], { env: { PATH: process.env['PATH'] } });
    expect(unset.code).to.equal(2);
    expect(unset.stderr).to.include('NOT_SET_ANYWHERE is not set');
  });

  it('--handshake-timeout and --idle-timeout close silent connections; --max-connections refuses more', async () => {
    const hub = await hubWith(['--handshake-timeout', '300', '--idle-timeout', '600', '--max-connections', '2']);
    const silent = await RawClient.connect({ path: hub.socket }); // never identifies
    const t0 = Date.now();
    await silent.closedPromise;
    expect(Date.now() - t0).to.be.below(5000); // the default is 10 s
    const idle = await RawClient.identified({ path: hub.socket }, 'idle');
    const t1 = Date.now();
    await idle.closedPromise;
    expect(Date.now() - t1).to.be.below(8000); // the default is 60 s
    const a = await RawClient.identified({ path: hub.socket }, 'a');
    const b = await RawClient.identified({ path: hub.socket }, 'b');
    const third = await RawClient.connect({ path: hub.socket });
    third.send({ type: 'identify', client_id: 'c' });
    await third.closedPromise; // refused: 2 connections at most
    for (const c of [a, b]) c.close();
  });

  it('--max-frame-size: a larger frame closes that connection', async () => {
    const hub = await hubWith(['--max-frame-size', '1024']);
    const c = await RawClient.identified({ path: hub.socket }, 'big');
    c.send({ type: 'broadcast', channel: 'c', event: 'e', data: 'x'.repeat(4096) });
    await c.closedPromise;
    const fine = await RawClient.identified({ path: hub.socket }, 'small');
    fine.send({ type: 'ping' });
    await fine.nextOf('pong');
    fine.close();
  });

  it('--nats with credentials from the environment: two hub processes form one channel space', async () => {
    const port = await freePort();
    const nats = spawn(findNatsServer(), ['-a', '127.0.0.1', '-p', String(port), '--user', 'hubs', '--pass', 'nats-secret'], { stdio: 'ignore' });
    others.push(nats);
    const url = `nats://127.0.0.1:${port}`;
    const env = { ...process.env, NATS_PASS: 'nats-secret' };
    const natsArgs = ['--nats', url, '--nats-user', 'hubs', '--nats-pass-env', 'NATS_PASS', '--cluster-prefix', 'cli.test', '--cluster-heartbeat', '200', '--cluster-peer-timeout', '1000'];
    const a = await hubWith(['--server-id', 'hub-a', ...natsArgs], env);
    const b = await hubWith(['--server-id', 'hub-b', ...natsArgs], env);
    await waitFor(() => a.out.includes('cluster: hub hub-b joined') && b.out.includes('cluster: hub hub-a joined'), 'the hubs to see each other', 20000);
    expect(a.out).to.include('cluster: NATS link up');
    const provider = await RawClient.identified({ path: a.socket }, 'far-provider');
    provider.send({ type: 'register', request_id: 'reg', channel: 'c', event: 'where', is_provider: true, is_stream: false, is_group: false });
    await provider.nextOf('response', 'reg');
    void provider.nextOf('call', undefined, 20000).then((call) => provider.send({ type: 'response', request_id: call['request_id'], target_id: call['sender_id'], data: 'on hub-a' }));
    const r = await waitFor(async () => {
      const res = await runCli(['call', ...b.hubArgs, '-c', 'c', '-e', 'where']);
      return res.code === 0 ? res : undefined;
    }, 'the call through hub-b to reach the provider on hub-a', 20000);
    expect(r!.stdout).to.equal('"on hub-a"\n');
    provider.close();
    const noNats = await runCli(['hub', '--socket', path.join(a.dir, 'x.sock'), '--cluster-prefix', 'x']);
    expect(noNats.code).to.equal(2);
    expect(noNats.stderr).to.include('--cluster-prefix needs --nats URL');
  });
});
