/**
 * A Node app with a Python plugin speaking JSON lines over the two FIFOs.
 * Run:  node -r ts-node/register/transpile-only examples/python-plugin/main.ts
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipeIOServer } from 'pipe-io-server';

const REPLY_TIMEOUT_MS = 30000; // generous: a loaded CI machine can be slow to start a plugin

/** Resolves with the next `count` messages the server receives, or rejects after `ms`. */
function nextReplies(server: PipeIOServer, count: number, ms: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const onMessage = (message: Buffer): void => {
      got.push(message);
      if (got.length < count) return;
      clearTimeout(timer);
      server.off('message', onMessage);
      resolve(got);
    };
    const timer = setTimeout(() => {
      server.off('message', onMessage);
      reject(new Error(`only ${got.length} of ${count} replies within ${ms} ms`));
    }, ms);
    server.on('message', onMessage);
  });
}

interface Reply {
  id?: number;
  words?: number;
  longest?: string;
  error?: string;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pio-python-'));
  try {
    await using server = new PipeIOServer(join(dir, 'in'), join(dir, 'out'));
    const requests = [
      JSON.stringify({ id: 1, text: 'named pipes talk to anything' }),
      JSON.stringify({ id: 2, text: '' }),
      'not json',
    ];
    await server.start();

    const plugin = spawn('python3', [join(__dirname, 'plugin.py')], {
      env: { ...process.env, PIPE_IO_READ_PIPE: server.outPipe, PIPE_IO_WRITE_PIPE: server.inPipe },
      stdio: 'inherit',
    });
    const exited = once(plugin, 'exit'); // listen now: it may exit before stop() resolves
    const replies = nextReplies(server, requests.length, REPLY_TIMEOUT_MS);
    for (const request of requests) server.sendMessage(request);
    for (const line of await replies) console.log(`reply: ${JSON.stringify(JSON.parse(line.toString()) as Reply)}`);

    await server.stop(); // end of stream: receive_json() raises EOFError, the plugin returns 0
    const [code] = await exited;
    console.log(`plugin exited with code ${code}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
