/**
 * Walks through the daemon: start it, see the pidfile refuse a second owner,
 * query it over its control socket with the Python SocketClient (ctl.py),
 * stop it with a request, check it cleaned up. Run:
 *   node -r ts-node/register/transpile-only examples/daemon-socket-pidfile/main.ts
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pidfile, PipeIOError } from 'pipe-io-server';

const STEP_TIMEOUT_MS = 30000; // generous: a loaded CI machine can be slow to start node

/** Runs ctl.py with one request; resolves with its output line and exit code. */
function ctl(socket: string, request: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', [join(__dirname, 'ctl.py'), socket, JSON.stringify(request)], { timeout: STEP_TIMEOUT_MS },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve(`${stdout.trim()}${stderr.trim()} (exit ${err ? err.code : 0})`);
      });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pio-daemon-'));
  try {
    const daemon = spawn(process.execPath, [...process.execArgv, join(__dirname, 'daemon.ts'), dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(daemon, 'exit'); // listen now: it may exit at any time
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`the daemon did not start within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      daemon.on('exit', (code) => reject(new Error(`the daemon exited with code ${code}: ${output}`)));
      daemon.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        if (!output.includes('ready pid=')) return;
        clearTimeout(timer);
        resolve();
      });
    });
    console.log('daemon is ready');
    const pidfile = join(dir, 'daemon.pid');
    console.log(`pidfile holds the daemon's pid: ${readFileSync(pidfile, 'utf8').trim() === String(daemon.pid)}`);

    try {
      await Pidfile.acquire(pidfile); // a second owner is refused at once
      console.log('second owner: acquired (unexpected)');
    } catch (err) {
      if (!(err instanceof PipeIOError)) throw err;
      console.log(`second owner: ${err.code}, holder is the daemon: ${err.pid === daemon.pid}`);
    }

    const socket = join(dir, 'control.sock');
    const status = await ctl(socket, { cmd: 'status' });
    console.log(`status: ${status.includes(`"pid": ${daemon.pid}`) ? 'ok' : status}`);
    console.log(`echo: ${await ctl(socket, { cmd: 'echo', text: 'hi' })}`);
    console.log(`bogus: ${await ctl(socket, { cmd: 'bogus' })}`);
    console.log(`stop: ${await ctl(socket, { cmd: 'stop' })}`);

    const [code] = await exited;
    console.log(`daemon exited with code ${code}`);
    console.log(`pidfile removed: ${!existsSync(pidfile)}, socket removed: ${!existsSync(socket)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
