/** `pipe-io-server hub` as a real process: listens where it says, serves, stops cleanly on SIGTERM. */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeTempDir, waitFor, waitForExit, waitForLine, killChild } from '../fixtures/helpers';
import { RawClient } from '../hub/raw-client';
import { buildOnce, runCli, startCli } from './run-cli';
import type { ChildProcess } from 'node:child_process';

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
});
