/**
 * A Node app with a C plugin: compiles plugin.c with `cc` (into a temp dir),
 * then hosts it over the two FIFOs. Run:
 *   node -r ts-node/register/transpile-only examples/c-plugin/main.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipeIOServer } from 'pipe-io-server';

const CLIENT_DIR = join(__dirname, '..', '..', 'clients', 'c');

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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pio-c-plugin-'));
  try {
    const binary = join(dir, 'plugin');
    execFileSync('cc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O2', `-I${CLIENT_DIR}`, '-o', binary,
      join(__dirname, 'plugin.c'), join(CLIENT_DIR, 'pipe_io.c'), '-pthread'], { stdio: 'inherit' });
    console.log('built plugin with cc');

    await using server = new PipeIOServer(join(dir, 'in'), join(dir, 'out'));
    const messages = ['stressed', 'level', ''];
    await server.start();

    const plugin = spawn(binary, [], {
      env: { ...process.env, PIPE_IO_READ_PIPE: server.outPipe, PIPE_IO_WRITE_PIPE: server.inPipe },
      stdio: 'inherit',
    });
    const exited = once(plugin, 'exit'); // listen now: it may exit before stop() resolves
    const replies = nextReplies(server, messages.length, REPLY_TIMEOUT_MS);
    for (const message of messages) server.sendMessage(message);
    (await replies).forEach((reply, i) => console.log(`${JSON.stringify(messages[i])} -> ${JSON.stringify(reply.toString())}`));

    await server.stop();
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
