/**
 * The Python re-creation of comm-ipc (test/fixtures/python/comm_ipc) as a
 * child process: `client` reads JSON-lines commands and prints results and
 * events; `server` prints `READY <json>`. Values cross as JSON with
 * {"$bytes": base64} and {"$float": x} tags (see that folder's cli.py).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { killChild } from '../fixtures/helpers';
import { PYTHON } from '../fixtures/python-env';

const PY_ROOT = path.join(__dirname, '..', 'fixtures', 'python');

export type PyLine = Record<string, unknown>;

function spawnPython(args: string[]): ChildProcess {
  return spawn(PYTHON, ['-m', 'comm_ipc.cli', ...args], {
    cwd: PY_ROOT,
    env: { ...process.env, PYTHONPATH: [PY_ROOT, process.env['PYTHONPATH']].filter(Boolean).join(path.delimiter), PYTHONUNBUFFERED: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export class PyClient {
  readonly child: ChildProcess;
  readonly lines: PyLine[] = [];
  stderr = '';
  private nextId = 1;
  private waiters: Array<() => void> = [];
  exited = false;

  constructor(args: string[]) {
    this.child = spawnPython(['client', ...args]);
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as PyLine);
      } catch {
        this.lines.push({ event: 'unparsed', text: line });
      }
      this.wake();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    this.child.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  /** Starts a client connected to `where`; resolves after its `ready` event. */
  static async start(where: { path: string } | { host: string; port: number }, clientId: string, extra: string[] = []): Promise<PyClient> {
    const addr = 'path' in where ? ['--socket', where.path] : ['--host', where.host, '--port', String(where.port)];
    const c = new PyClient([...addr, '--client-id', clientId, ...extra]);
    const first = await c.waitLine((l) => l['event'] === 'ready' || l['event'] === 'connect_error');
    if (first['event'] !== 'ready') {
      await c.stop();
      throw new Error(`python client failed to connect: ${String(first['error'])}`);
    }
    return c;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async waitLine(match: (l: PyLine) => boolean, timeout = 10000): Promise<PyLine> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const i = this.lines.findIndex(match);
      if (i >= 0) return this.lines.splice(i, 1)[0]!;
      if (this.exited) throw new Error(`python client exited; stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`python client: no matching line within ${timeout} ms; stderr: ${this.stderr}; lines: ${JSON.stringify(this.lines)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a command without waiting; returns its id. */
  post(cmd: PyLine): number {
    const id = this.nextId++;
    this.child.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`);
    return id;
  }

  /** Waits for the result line of command `id`. */
  result(id: number, timeout?: number): Promise<PyLine> {
    return this.waitLine((l) => l['id'] === id, timeout);
  }

  /** Runs a command; resolves with `result`, rejects with the Python error text. */
  async run(cmd: PyLine, timeout?: number): Promise<unknown> {
    const res = await this.result(this.post(cmd), timeout);
    if (res['ok'] !== true) throw Object.assign(new Error(String(res['error'])), { chunks: res['chunks'] });
    return res['result'];
  }

  /** Runs a command expected to fail; resolves with the error text. */
  async fails(cmd: PyLine, timeout?: number): Promise<string> {
    const res = await this.result(this.post(cmd), timeout);
    if (res['ok'] === true) throw new Error(`expected ${JSON.stringify(cmd)} to fail, got ${JSON.stringify(res['result'])}`);
    return String(res['error']);
  }

  async stop(): Promise<void> {
    await killChild(this.child);
  }
}

/** Starts the Python comm-ipc server; resolves with its READY info. */
export async function startPyServer(args: string[]): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const child = spawnPython(['server', ...args]);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`python server not READY in 10 s; stderr: ${stderr}`)), 10000);
    rl.on('line', (line) => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(6)) as Record<string, unknown>);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`python server exited with ${code}; stderr: ${stderr}`));
    });
  });
  return { child, ready };
}
