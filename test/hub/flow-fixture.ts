/**
 * Flow-control tests in real processes: a hub and HubClient parties, each a
 * child running test/hub/fixtures/flow-process.ts (transpiled once per run, so
 * plain node starts it in ~0.3 s). Each child prints JSON lines; tests wait for
 * them with deadlines. stop() kills everything and removes the temp dir.
 */
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { killChild, makeTempDir, removeTempDir, spawnJs, transpileForChildren } from '../fixtures/helpers';
import { importClosure } from './cluster-fixture';

const REPO = path.resolve(__dirname, '..', '..');
const SCRIPT = 'test/hub/fixtures/flow-process.ts';

let built: { dir: string; file: string } | undefined;
function script(): string {
  if (!built) {
    const dir = makeTempDir('flow-build');
    built = { dir, file: transpileForChildren(dir, importClosure(SCRIPT)) };
    process.once('exit', () => removeTempDir(dir));
  }
  return built.file;
}

export type FlowLine = Record<string, unknown> & { ev: string };

export class FlowProc {
  readonly lines: FlowLine[] = [];
  stderr = '';
  private waiters: Array<() => void> = [];
  exited = false;

  constructor(
    readonly role: string,
    readonly child: ChildProcess,
  ) {
    let buffered = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const p of parts) if (p) this.lines.push(JSON.parse(p) as FlowLine);
      this.wake();
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The first line matching `match` (left in place), waiting up to `timeout` ms. */
  async waitLine(match: (l: FlowLine) => boolean, timeout = 10000): Promise<FlowLine> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (this.exited) throw new Error(`${this.role} exited; stderr: ${this.stderr}; lines: ${JSON.stringify(this.lines)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.role}: no matching line within ${timeout} ms; lines: ${JSON.stringify(this.lines.slice(-10))}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The first line of event `ev`. */
  waitEvent(ev: string, timeout?: number): Promise<FlowLine> {
    return this.waitLine((l) => l.ev === ev, timeout);
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the process: a client that stops reading altogether. */
  freeze(on: boolean): void {
    this.child.kill(on ? 'SIGSTOP' : 'SIGCONT');
  }
}

export class FlowFixture {
  dir = '';
  socket = '';
  readonly procs: FlowProc[] = [];

  /** Starts a party and waits for its `ready` line. */
  async start(role: string, cfg: Record<string, unknown> = {}, timeout = 20000): Promise<FlowProc> {
    if (!this.dir) {
      this.dir = makeTempDir('flow');
      this.socket = path.join(this.dir, 'hub.sock');
    }
    const child = spawnJs(script(), [role, JSON.stringify({ socket: this.socket, ...cfg })], {
      env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') },
    });
    const p = new FlowProc(role, child);
    this.procs.push(p);
    await p.waitEvent('ready', timeout);
    return p;
  }

  async stop(): Promise<void> {
    for (const p of this.procs.splice(0)) {
      if (!p.exited) p.child.kill('SIGCONT');
      await killChild(p.child);
    }
    removeTempDir(this.dir);
    this.dir = '';
  }
}
