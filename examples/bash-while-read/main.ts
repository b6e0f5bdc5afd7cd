/**
 * A PipeIOServer talking to a bash `while read` loop (loop.sh). Run:
 *   node -r ts-node/register/transpile-only examples/bash-while-read/main.ts
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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pio-while-read-'));
  try {
    await using server = new PipeIOServer(join(dir, 'in'), join(dir, 'out'));
    const questions = ['hello', 'while read', 'bye'];
    await server.start();

    // loop.sh reads the server's out pipe and writes its in pipe.
    const loop = spawn('bash', [join(__dirname, 'loop.sh'), server.outPipe, server.inPipe], { stdio: 'inherit' });
    const exited = once(loop, 'exit'); // listen now: it may exit before stop() resolves
    const replies = nextReplies(server, questions.length, REPLY_TIMEOUT_MS);
    for (const question of questions) server.sendMessage(question);
    for (const reply of await replies) console.log(`reply: ${reply.toString()}`);

    await server.stop(); // loop.sh sees end of stream and exits
    const [code] = await exited;
    console.log(`loop.sh exited with code ${code}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
