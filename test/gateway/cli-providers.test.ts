/**
 * The gateway from the command line (`hub --http`, `gateway --hub`), with
 * providers in Node, in the Python comm-ipc re-creation (PIO_PYTHON) and as
 * a bash plugin, and the curl session of docs/gateway.md run as written.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HubClient } from '../../lib/hub/client/hub-client';
import { buildOnce, CLI, ROOT } from '../cli/run-cli';
import { killChild, makeTempDir, removeTempDir, waitForExit, waitForLine } from '../fixtures/helpers';
import { PyClient, startPyServer } from '../hub/python-peer';
import { postJson, readSse } from './gateway-fixture';

function startCli(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function gatewayUrl(child: ChildProcess): Promise<string> {
  const line = await waitForLine(child, /gateway listening on http:\/\//, 20000);
  return line.slice(line.indexOf('http://')).trim();
}

/** The block after `marker` in docs/gateway.md. */
function docBlock(marker: string): string {
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'gateway.md'), 'utf8');
  const at = text.indexOf(marker);
  const start = text.indexOf('\n', text.indexOf('```', at)) + 1;
  return text.slice(start, text.indexOf('```', start));
}

describe('HubGateway from the CLI, with Node, Python and bash providers', function () {
  this.timeout(60000);
  let dir = '';
  let socket = '';
  let hubChild: ChildProcess | undefined;
  let base = '';
  let node: HubClient;
  const children: ChildProcess[] = [];
  const py: PyClient[] = [];

  before(async () => {
    buildOnce();
    dir = makeTempDir('gwcli');
    socket = path.join(dir, 'hub.sock');
    hubChild = startCli(['hub', '--socket', socket, '--http', '127.0.0.1:0', '--topic', 'math:news']);
    base = await gatewayUrl(hubChild);
    node = new HubClient({ path: socket }, { clientId: 'node-provider' });
    await node.connect();
    const math = await node.open('math');
    await math.addEvent('add', (m) => (m.data as { a: number; b: number }).a + (m.data as { a: number; b: number }).b, {
      parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'] },
    });
    await math.addEvent('count', async function* (m) {
      for (let i = 0; i < (m.data as { n: number }).n; i++) yield i;
    });
    const FILE = Buffer.from('hello world');
    await math.addEvent('file', async function* (m) {
      const { offset, length } = m.data as { offset: number; length: number | null };
      yield { size: FILE.length, type: 'text/plain' };
      yield FILE.subarray(offset, length === null ? FILE.length : offset + length);
    });
  });

  after(async () => {
    await node?.close();
    for (const p of py) await p.stop();
    for (const c of children) await killChild(c);
    await killChild(hubChild);
    removeTempDir(dir);
  });

  it('runs the curl session of docs/gateway.md against `hub --http` and prints what the docs say', async () => {
    const session = docBlock('<!-- curl-session -->');
    const expected = docBlock('<!-- curl-output -->');
    // Not spawnSync: the Node provider lives in this process and must keep answering.
    const child = spawn('bash', ['-e', '-c', session], { env: { ...process.env, GW: base }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const [status] = await waitForExit(child, 30000);
    const run = { stdout, stderr, status };
    expect(run.stderr, run.stdout).to.equal('');
    expect(run.status).to.equal(0);
    expect(run.stdout).to.equal(expected);
  });

  it('calls a Python comm-ipc provider through the gateway: results, validation by its schema, errors, streams', async () => {
    const p = await PyClient.start({ path: socket }, 'py-provider');
    py.push(p);
    await p.run({ op: 'open', channel: 'math' });
    const schema = { title: 'AddParams', type: 'object', properties: { a: { title: 'A', type: 'integer' }, b: { title: 'B', type: 'integer' } }, required: ['a', 'b'] };
    await p.run({ op: 'add_event', channel: 'math', event: 'py_add', handler: 'add', param_schema: schema });
    await p.run({ op: 'add_event', channel: 'math', event: 'py_fail', handler: 'fail' });
    await p.run({ op: 'add_event', channel: 'math', event: 'py_count', handler: 'stream_n' });
    let res = await postJson(`${base}/channels/math/py_add`, '{"a":20,"b":22}');
    expect(await res.json()).to.equal(42);
    res = await postJson(`${base}/channels/math/py_add`, '{"a":1}');
    expect(res.status).to.equal(400);
    await res.arrayBuffer();
    res = await postJson(`${base}/channels/math/py_fail`);
    expect(res.status).to.equal(502);
    expect(((await res.json()) as { message: string }).message).to.equal('intentional fail');
    res = await postJson(`${base}/channels/math/py_count`, '{"n":3}', { accept: 'text/event-stream' });
    expect((await readSse(res)).map((e) => e.data)).to.deep.equal([0, 1, 2, { chunks: 3 }]);
  });

  it('serves a bash plugin provider (pipe-io-server provide) through the gateway', async () => {
    const script = 'while IFS= read -r line; do jq -c "ascii_upcase" <<<"$line"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"';
    const provider = startCli(['provide', '--hub', socket, '--channel', 'text', '--event', 'upper', '--', 'bash', '-c', script]);
    children.push(provider);
    await waitForLine(provider, /provid/, 20000);
    const res = await postJson(`${base}/channels/text/upper`, '"from bash"');
    expect(res.status).to.equal(200);
    expect(await res.json()).to.equal('FROM BASH');
  });

  it('`gateway --hub` serves a Python comm-ipc hub, only the --channel given', async () => {
    const pySock = path.join(dir, 'py.sock');
    const server = await startPyServer(['--socket', pySock, '--server-id', 'PY']);
    children.push(server.child);
    const p = await PyClient.start({ path: pySock }, 'py-provider-2');
    py.push(p);
    await p.run({ op: 'open', channel: 'pych' });
    await p.run({ op: 'add_event', channel: 'pych', event: 'echo', handler: 'echo' });
    const gw = startCli(['gateway', '--hub', pySock, '--http', '127.0.0.1:0', '--channel', 'pych']);
    children.push(gw);
    const url = await gatewayUrl(gw);
    let res = await postJson(`${url}/channels/pych/echo`, '{"x":[1,2]}');
    expect(await res.json()).to.deep.equal({ x: [1, 2] });
    res = await postJson(`${url}/channels/other/echo`, '{}');
    expect(res.status).to.equal(404);
    await res.arrayBuffer();
    res = await postJson(`${url}/channels/pych/nobody`, '{}');
    expect(res.status).to.equal(503);
    await res.arrayBuffer();
  });
});
