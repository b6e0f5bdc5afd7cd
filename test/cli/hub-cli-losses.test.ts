/**
 * What the hub client commands lost or hid (issue 20, section 3), with a
 * `pipe-io-server hub` process and the commands as real processes:
 * publications that never arrived, stream answers cut to one chunk, hub
 * addresses taken for paths, exit codes and messages nobody saw.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { killChild, waitFor, waitForExit, waitForLine } from '../fixtures/helpers';
import { RawClient } from '../hub/raw-client';
import { decodeClientFrame, encodeFrame } from '../../lib/hub/protocol/codec';
import { FrameReader } from '../../lib/hub/protocol/frame-reader';
import { HubProcess } from './hub-process';
import { buildOnce, collect, runCli, startCli } from './run-cli';

/**
 * A hub that accepts everything but refuses every publication with an
 * `error` frame (as ours does for a publisher that does not own the topic).
 */
function refusingHub(socket: string): Promise<net.Server> {
  const server = net.createServer((s) => {
    const reader = new FrameReader(1 << 20);
    s.on('error', () => undefined);
    s.on('data', (chunk) => {
      for (const payload of reader.push(chunk)) {
        const f = decodeClientFrame(payload) as Record<string, unknown>;
        if (f['type'] === 'identify') s.write(encodeFrame({ type: 'identified', client_id: f['client_id'], server_id: 'refuser' }));
        else if (f['type'] === 'publish') s.write(encodeFrame({ type: 'error', message: `Only the owner of subscription ${String(f['sub_name'])} may publish to it`, code: 'PIPEIO_ERR_FORBIDDEN' }));
        else if (typeof f['request_id'] === 'string') s.write(encodeFrame({ type: 'response', request_id: f['request_id'], data: { success: true, members: [] } }));
      }
    });
  });
  return new Promise((resolve) => server.listen(socket, () => resolve(server)));
}

describe('CLI: hub commands lose nothing and say what happened', function () {
  this.timeout(60000);
  let hub: HubProcess;
  const children: ChildProcess[] = [];

  before(function () {
    this.timeout(120000);
    buildOnce();
  });
  beforeEach(async () => {
    hub = await new HubProcess().start();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await killChild(c);
    await hub.stop();
  });

  function start(args: string[]): ChildProcess {
    const child = startCli(args);
    children.push(child);
    return child;
  }

  it("the issue's sequence: provide the README's first upper.sh, call 12 (no answer), then \"b\" and \"c\" at once: each gets its own", async () => {
    // the README's first upper.sh: jq writes nothing on stdout for a number
    const bare = 'while IFS= read -r line; do jq -c "ascii_upcase" <<<"$line"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"';
    const provider = start(['provide', ...hub.hubArgs, '-c', 'text', '-e', 'upper', '--timeout', '1000', '--', 'bash', '-c', bare]);
    const out = collect(provider);
    await waitFor(() => out.stdout().startsWith('providing '), 'providing', 15000);
    const twelve = await runCli(['call', ...hub.hubArgs, '-c', 'text', '-e', 'upper', '12']);
    // The provider process answers for its plugin: a provider's error is PIPEIO_ERR_REMOTE with its text
    // (only the hub's own errors carry hub codes, issue 21 item 7).
    expect(twelve.code).to.equal(1);
    expect(twelve.stderr).to.include('did not answer text:upper within 1000 ms');
    const [b, c] = await Promise.all([runCli(['call', ...hub.hubArgs, '-c', 'text', '-e', 'upper', '"b"']), runCli(['call', ...hub.hubArgs, '-c', 'text', '-e', 'upper', '"c"'])]);
    expect([b.code, b.stdout]).to.deep.equal([0, '"B"\n']); // before: "C"
    expect([c.code, c.stdout]).to.deep.equal([0, '"C"\n']); // before: a timeout
    expect(out.stderr()).to.match(/did not answer text:upper within 1000 ms: restarting it/);
  });

  it('publish A B C (no --wait) to a running subscribe: all three arrive, publish exits 0', async () => {
    const sub = start(['subscribe', ...hub.hubArgs, '-c', 'news', '-T', 'daily', '--count', '3']);
    const out = collect(sub);
    await waitFor(() => out.stderr().includes('subscribed'), 'subscribed', 15000);
    const pub = await runCli(['publish', ...hub.hubArgs, '-c', 'news', '-T', 'daily', '"A"', '"B"', '"C"']);
    expect([pub.code, pub.stderr]).to.deep.equal([0, '']);
    expect(await waitForExit(sub, 10000)).to.deep.equal([0, null]); // before: nothing arrived, it waited forever
    expect(out.stdout()).to.equal('"A"\n"B"\n"C"\n');
  });

  it('publish exits 1 with the hub\'s reason when the hub refuses a publication', async () => {
    const socket = path.join(hub.dir, 'refusing.sock');
    const server = await refusingHub(socket);
    try {
      const pub = await runCli(['publish', '--hub', socket, '-c', 'news', '-T', 'daily', '"A"', '"B"']);
      expect(pub.code).to.equal(1); // before: 0
      expect(pub.stderr).to.match(/^pipe-io-server publish: the hub refused a publication to news:daily .*Only the owner of subscription daily may publish to it \[PIPEIO_ERR_FORBIDDEN\]\n$/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('call of a stream event prints every chunk, as --stream does; provide --mode rpc --stream registers a stream', async () => {
    const script = `while IFS= read -r line; do
      rid=\${line#*\\"request_id\\":\\"}; rid=\${rid%%\\"*}
      for i in 1 2 3; do printf '{"type":"response","request_id":"%s","data":%s,"is_final":false}\\n' "$rid" "$i"; done
      printf '{"type":"response","request_id":"%s","is_final":true}\\n' "$rid"
    done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`;
    const provider = start(['provide', ...hub.hubArgs, '-c', 'c', '-e', 'count', '--mode', 'rpc', '--stream', '--', 'bash', '-c', script]);
    await waitForLine(provider, /^providing /, 15000);
    const explored = await runCli(['explore', ...hub.hubArgs, '-c', 'c', '--compact']);
    expect((JSON.parse(explored.stdout) as { events: Record<string, { is_stream: boolean }> }).events['count']?.is_stream).to.equal(true);
    const plain = await runCli(['call', ...hub.hubArgs, '-c', 'c', '-e', 'count']);
    expect([plain.code, plain.stdout, plain.stderr]).to.deep.equal([0, '1\n2\n3\n', '']); // before: "1" alone
    const streamed = await runCli(['call', ...hub.hubArgs, '-c', 'c', '-e', 'count', '--stream']);
    expect([streamed.code, streamed.stdout]).to.deep.equal([0, '1\n2\n3\n']);
    const line = await runCli(['provide', ...hub.hubArgs, '-c', 'c', '-e', 'x', '--stream', '--', 'true']);
    expect(line.code).to.equal(2);
    expect(line.stderr).to.match(/--stream needs --mode rpc/);
  });

  it('call exits 1 and says to use --stream when an answer turns out to be a stream the hub did not announce', async () => {
    const provider = await RawClient.identified({ path: hub.socket }, 'sneaky');
    try {
      provider.send({ type: 'register', request_id: 'reg', channel: 'c', event: 'e', is_provider: true, is_stream: false, is_group: false });
      await provider.nextOf('response', 'reg');
      void provider.nextOf('call', undefined, 15000).then((call) => {
        const base = { type: 'response', request_id: call['request_id'], target_id: call['sender_id'], is_stream: true };
        provider.send({ ...base, data: 1, is_final: false });
        provider.send({ ...base, data: 2, is_final: false });
        provider.send({ ...base, data: null, is_final: true });
      });
      const r = await runCli(['call', ...hub.hubArgs, '-c', 'c', '-e', 'e']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/answered with a stream.*--stream/);
    } finally {
      provider.close();
    }
  });

  it('--hub: a bare word that is no file is refused with the forms an address takes; unix:, tcp://, tls:// are understood', async () => {
    const bare = await runCli(['call', '--hub', 'localhost', '-c', 'c', '-e', 'e']);
    expect(bare.code).to.equal(2); // before: 7, "connect ENOENT localhost"
    expect(bare.stderr).to.include('--hub "localhost" is neither an existing socket file nor HOST:PORT');
    expect(bare.stderr).to.include('./localhost');
    expect(bare.stderr).to.include('localhost:PORT');
    const unix = await runCli(['call', '--hub', `unix:${hub.socket}`, '-c', 'c', '-e', 'e']);
    expect(unix.stderr).to.include('No provider for c:e'); // reached the hub
    const tcp = await runCli(['call', '--hub', 'tcp://127.0.0.1:1', '-c', 'c', '-e', 'e']);
    expect(tcp.code).to.equal(7);
    expect(tcp.stderr).to.match(/127\.0\.0\.1:1/);
    const badScheme = await runCli(['call', '--hub', 'tls://nowhere', '-c', 'c', '-e', 'e']);
    expect(badScheme.code).to.equal(2);
    const help = await runCli(['call', '--help']);
    expect(help.stdout).to.include('tcp://HOST:PORT');
  });

  it('subscribe and listen name themselves when the hub goes away', async () => {
    const sub = start(['subscribe', ...hub.hubArgs, '-c', 'news', '-T', 't']);
    const lis = start(['listen', ...hub.hubArgs, '-c', 'news']);
    const subOut = collect(sub);
    const lisOut = collect(lis);
    await waitFor(() => subOut.stderr().includes('subscribed') && lisOut.stderr().includes('listening'), 'both ready', 15000);
    await hub.stop();
    expect(await waitForExit(sub)).to.deep.equal([7, null]);
    expect(await waitForExit(lis)).to.deep.equal([7, null]);
    expect(subOut.stderr()).to.include('pipe-io-server subscribe: the hub closed the connection');
    expect(lisOut.stderr()).to.include('pipe-io-server listen: the hub closed the connection');
  });

  it('provide -- bash -c "exit 3": shows the exit code, never says "providing", ends with exit 1', async () => {
    const r = await runCli(['provide', ...hub.hubArgs, '-c', 'c', '-e', 'e', '--', 'bash', '-c', 'exit 3'], { timeout: 30000 });
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal(''); // before: "providing c:e as ..."
    expect(r.stderr).to.match(/plugin-e-\w+ exited \(code 3\)/);
    expect(r.stderr).to.match(/the plugin ended: plugin-e-\w+ exited \(code 3\)/);
  });

  it('provide says "providing" once the plugin runs, and reports a later crash with its exit code', async () => {
    const flag = path.join(hub.dir, 'crash');
    const script = `while IFS= read -r line; do [[ -e ${flag} ]] && exit 5; echo "$line"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"`;
    const provider = start(['provide', ...hub.hubArgs, '-c', 'c', '-e', 'e', '--', 'bash', '-c', script]);
    const out = collect(provider);
    await waitFor(() => out.stdout().startsWith('providing c:e as '), 'providing', 15000);
    fs.writeFileSync(flag, '');
    const r = await runCli(['call', ...hub.hubArgs, '-c', 'c', '-e', 'e', '1']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('exited (code 5) before answering');
    await waitFor(() => /exited \(code 5\); restart 1 in \d+ ms/.test(out.stderr()), 'the crash report', 10000);
  });
});
