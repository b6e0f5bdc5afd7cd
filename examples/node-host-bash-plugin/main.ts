/**
 * A Node app hosting a bash plugin: the app owns a PipeIOServer, starts
 * plugin.sh with child_process.spawn and tells it where the pipes are through
 * PIPE_IO_READ_PIPE / PIPE_IO_WRITE_PIPE. Requests and replies are matched in
 * order (the plugin answers each request with exactly one line). Run:
 *   node -r ts-node/register/transpile-only examples/node-host-bash-plugin/main.ts
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipeIOServer } from 'pipe-io-server';

const REPLY_TIMEOUT_MS = 30000; // generous: a loaded CI machine can be slow to start a plugin

/** Sends requests one at a time and resolves each with the next reply line. */
class BashPlugin {
  private readonly waiting: Array<(reply: string) => void> = [];

  constructor(private readonly server: PipeIOServer) {
    server.on('message', (reply) => this.waiting.shift()?.(reply.toString()));
  }

  ask(request: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to "${request}" within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
      this.waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.server.sendMessage(request);
    });
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pio-host-'));
  try {
    await using server = new PipeIOServer(join(dir, 'in'), join(dir, 'out'));
    const plugin = new BashPlugin(server);
    await server.start();

    const child = spawn('bash', [join(__dirname, 'plugin.sh')], {
      env: { ...process.env, PIPE_IO_READ_PIPE: server.outPipe, PIPE_IO_WRITE_PIPE: server.inPipe },
      stdio: 'inherit',
    });
    const exited = once(child, 'exit'); // listen now: it may exit before stop() resolves

    for (const request of ['add 2 3', 'mul 6 7', 'pow 2 8', 'add x 1']) {
      console.log(`${request} -> ${await plugin.ask(request)}`);
    }

    await server.stop(); // end of stream for the plugin: pipe_io_loop returns
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
