/**
 * Plugin members seen from the Python comm-ipc client (the re-creation in
 * test/fixtures/python/comm_ipc, through its JSON-lines driver): calls,
 * streams and errors of plugins are ordinary comm-ipc answers.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { waitFor } from '../fixtures/helpers';
import { PluginFixture } from './fixture';
import { needsPython, PYTHON } from '../fixtures/python-env';
import { needsTools } from '../fixtures/tools';

const PYTHONPATH = path.join(__dirname, '..', 'fixtures', 'python');
const KIT = path.join(__dirname, '..', '..', 'clients', 'python');

interface DriverResult {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** Runs driver commands (in order, each waited for) against the hub; resolves with their results. */
function driver(socket: string, commands: object[]): Promise<DriverResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-m', 'comm_ipc.cli', 'client', '--socket', socket, '--client-id', 'py', '--no-reconnect'], {
      env: { ...process.env, PYTHONPATH },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const results: DriverResult[] = [];
    let buffered = '';
    let stderr = '';
    let next = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    const send = (): void => {
      if (next < commands.length) child.stdin.write(`${JSON.stringify({ id: next, ...commands[next++] })}\n`);
      else child.stdin.end();
    };
    child.stdout.on('data', (c: Buffer) => {
      buffered += c.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (msg['event'] === 'ready') send();
        else if (typeof msg['id'] === 'number') {
          results.push(msg as unknown as DriverResult);
          send();
        }
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      if (results.length === commands.length) resolve(results);
      else reject(new Error(`driver gave ${results.length}/${commands.length} results; stderr: ${stderr}`));
    });
  });
}

describe('Hub plugins: seen from the Python comm-ipc client', function () {
  this.timeout(30000);
  before(needsPython('msgpack'));
  let fx: PluginFixture;

  beforeEach(async () => {
    fx = new PluginFixture();
    await fx.start();
  });
  afterEach(() => fx.stop());

  it('calls a line-mode plugin, streams from an rpc plugin, and sees plugin errors as comm-ipc errors', async function () {
    needsTools('jq').call(this);
    await fx.bash('while IFS= read -r line; do jq -c "ascii_upcase" <<<"$line"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"', { channel: 'text', event: 'upper' });
    await fx.attach(
      PYTHON,
      [
        '-c',
        `import sys; sys.path.insert(0, ${JSON.stringify(KIT)})
from hub_plugin import HubPlugin
hub = HubPlugin()
def handle(data, msg):
    if msg["event"] == "count":
        return (i for i in range(data))
    raise ValueError("intentional fail")
hub.provide("nums", "boom")
hub.serve(handle)`,
      ],
      { channel: 'nums', event: 'count', mode: 'rpc', stream: true },
    );
    await waitFor(() => fx.hub.routingCore.providers.get('nums', 'boom'), 'the plugin to provide nums:boom');
    const results = await driver(fx.socketPath, [
      { op: 'call', channel: 'text', event: 'upper', data: 'from python' },
      { op: 'open', channel: 'nums' },
      { op: 'stream', channel: 'nums', event: 'count', data: 4, timeout: 10 },
      { op: 'call', channel: 'nums', event: 'boom', data: null },
    ]);
    expect(results[0]).to.deep.include({ ok: true, result: 'FROM PYTHON' });
    expect(results[2]).to.deep.include({ ok: true, result: [0, 1, 2, 3] });
    expect(results[3]).to.deep.include({ ok: false, error: 'intentional fail' });
  });
});
