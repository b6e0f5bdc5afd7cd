/**
 * A bash plugin provides `text:upper` on a Hub; a Node app (HubClient) and a
 * Python comm-ipc client call it.
 *
 *   node -r ts-node/register/transpile-only examples/hub-bash-upper/main.ts
 *
 * The Python caller is the comm-ipc re-creation of the hub's tests
 * (test/fixtures/python/comm_ipc, needs the `msgpack` module); it is skipped
 * with a note when it cannot run.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Hub, HubClient } from 'pipe-io-server';

const ROOT = path.resolve(__dirname, '..', '..');

/** Runs one command of the comm-ipc JSON-lines driver; resolves with its result line. */
function pythonCall(socket: string, command: object): Promise<{ ok: boolean; result?: unknown; error?: string }> {
  return new Promise((resolve) => {
    // comm-ipc's client needs Python's msgpack: PIO_PYTHON names an interpreter that has it
    // (the tests pass their own, .tmp/pyenv/bin/python).
    const child = spawn(process.env['PIO_PYTHON'] ?? 'python3', ['-m', 'comm_ipc.cli', 'client', '--socket', socket, '--client-id', 'python-app', '--no-reconnect'], {
      env: { ...process.env, PYTHONPATH: path.join(ROOT, 'test', 'fixtures', 'python') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) => resolve({ ok: false, error: e.message }));
    child.on('close', () => {
      clearTimeout(timer);
      const line = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { id?: number; ok?: boolean; result?: unknown; error?: string })
        .find((l) => l.id === 1);
      resolve(line ? { ok: line.ok === true, result: line.result, error: line.error } : { ok: false, error: err.trim().split('\n').pop() ?? 'no output' });
    });
    child.stdin.end(`${JSON.stringify(command)}\n`);
  });
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-bash-upper-'));
  const socket = path.join(dir, 'hub.sock');
  const hub = new Hub({ serverId: 'example' });
  await hub.listen({ path: socket });
  try {
    // the plugin: bash upper.sh, one member of the hub providing text:upper
    const plugin = await hub.attachPlugin('bash', [path.join(__dirname, 'upper.sh')], { channel: 'text', event: 'upper', id: 'bash-upper' });
    console.log(`plugin ${plugin.ids[0]} provides ${plugin.channel}:${plugin.event}`);

    // a Node app calls it
    const client = new HubClient({ path: socket }, { clientId: 'node-app', autoReconnect: false });
    await client.connect();
    const text = await client.open('text');
    const reply = await text.call('upper', 'hello from node', { timeout: 5000 });
    console.log(`node-app got: ${JSON.stringify(reply.data)} (from ${reply.sender_id})`);
    try {
      await text.call('upper', 42, { timeout: 5000 });
    } catch (err) {
      console.log(`node-app got an error: ${(err as Error).message.split('\n')[0]}`);
    }
    await client.close();

    // a Python comm-ipc client calls it (JSON-lines driver of test/fixtures/python/comm_ipc)
    // (asynchronously: the hub runs in this process and must keep serving meanwhile)
    const result = await pythonCall(socket, { id: 1, op: 'call', channel: 'text', event: 'upper', data: 'hello from python' });
    if (result.ok) console.log(`python-app got: ${JSON.stringify(result.result)}`);
    else console.log(`python-app could not run: ${result.error}`);

    await plugin.stop();
  } finally {
    await hub.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
