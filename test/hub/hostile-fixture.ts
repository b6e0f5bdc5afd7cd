/**
 * The stage of the hostile tests (issue 21): a Hub alone in a child process
 * (test/hub/fixtures/hostile-hub.ts), a well-behaved provider + caller pair
 * in another (fixtures/good-pair.ts) calling every 10 ms, and hostile
 * clients beside them: raw wire clients in this process, and a Python writer
 * that sends bytes in tiny writes (fixtures/trickle_writer.py, standard
 * library only). Everything is removed by stop().
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { decodeClientFrame } from '../../lib/hub/protocol/codec';
import { FrameReader } from '../../lib/hub/protocol/frame-reader';
import type { HubOptions, HubStats } from '../../lib/hub/server/hub';
import { killChild, makeTempDir, removeTempDir, spawnJs, transpileForChildren, waitFor, waitForExit } from '../fixtures/helpers';
import { importClosure } from './cluster-fixture';
import { RawClient, type Frame } from './raw-client';
import { PYTHON } from '../fixtures/python-env';

/** How often expectPairFine asks the pair for its progress until enough calls were made (a poll with a deadline). */
const PAIR_POLL_MS = 50;

const REPO = path.resolve(__dirname, '..', '..');
const WRITER = path.join(__dirname, 'fixtures', 'trickle_writer.py');

/** What the hub process reports (fixtures/hostile-hub.ts). */
export interface HubReport {
  hub: HubStats;
  clientErrors: Record<string, number>;
  /** CPU time of the hub process (user + system), and each part. */
  cpuMs: number;
  userMs: number;
  systemMs: number;
  rss: number;
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}

/** What the good pair reports (fixtures/good-pair.ts). */
export interface PairReport {
  calls: number;
  failures: string[];
  maxMs: number;
  p99Ms: number;
  /** Calls that took 100 ms or more. */
  over100: number;
}

let built: { dir: string; hub: string; pair: string } | undefined;

/** Both child scripts, transpiled once per run (plain node starts fast; ts-node does not). */
function scripts(): { hub: string; pair: string } {
  if (!built) {
    const dir = makeTempDir('hostile-build');
    const hub = transpileForChildren(dir, importClosure('test/hub/fixtures/hostile-hub.ts'));
    const pair = transpileForChildren(dir, importClosure('test/hub/fixtures/good-pair.ts'));
    built = { dir, hub, pair };
    process.once('exit', () => removeTempDir(dir));
  }
  return built;
}

/** A child that answers stdin commands with one `TAG <json>` line each. */
class LineChild {
  readonly child: ChildProcess;
  stderr = '';
  private buffered = '';
  private readonly lines: string[] = [];

  constructor(script: string, cfg: object, flags: string[] = []) {
    const env = { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') };
    this.child = flags.length === 0 ? spawnJs(script, [JSON.stringify(cfg)], { env }) : spawn(process.execPath, [...flags, script, JSON.stringify(cfg)], { cwd: REPO, env });
    this.child.stdout?.on('data', (d: Buffer) => {
      this.buffered += d.toString();
      const lines = this.buffered.split('\n');
      this.buffered = lines.pop() ?? '';
      this.lines.push(...lines);
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
  }

  /** The next line starting with `tag` (removed), within `timeout` ms. */
  async line(tag: string, timeout = 20_000): Promise<string> {
    const found = await waitFor(
      () => {
        if (this.child.exitCode !== null) throw new Error(`child exited (${this.child.exitCode}): ${this.stderr}`);
        const i = this.lines.findIndex((l) => l.startsWith(tag));
        return i >= 0 ? this.lines.splice(i, 1) : undefined;
      },
      `a ${tag} line`,
      timeout,
    );
    return found![0]!;
  }

  async ask<T>(command: string, tag: string): Promise<T> {
    this.child.stdin?.write(`${command}\n`);
    return JSON.parse((await this.line(tag)).slice(tag.length + 1)) as T;
  }
}

/** A running trickle writer (see fixtures/trickle_writer.py). */
export interface Trickle {
  child: ChildProcess;
  /** Resolves once it exits: how the sending ended, and the frames the hub sent it. */
  done: Promise<{ sent: number; closedEarly: boolean; frames: Frame[] }>;
}

export class HostileStage {
  dir = '';
  socketPath = '';
  private hub: LineChild | undefined;
  private pair: LineChild | undefined;
  private readonly raws: RawClient[] = [];
  private readonly writers: ChildProcess[] = [];

  /** Starts the hub process with `options` (serverId 'HX'), and the good pair unless `pair` is false. */
  async start(options: HubOptions = {}, pair = true): Promise<void> {
    const { hub, pair: pairScript } = scripts();
    this.dir = makeTempDir('hostile');
    this.socketPath = path.join(this.dir, 'hub.sock');
    // PIPEIO_HOSTILE_HUB_FLAGS='--cpu-prof ...': node flags for the hub process (profiling).
    const flags = (process.env['PIPEIO_HOSTILE_HUB_FLAGS'] ?? '').split(' ').filter(Boolean);
    this.hub = new LineChild(hub, { socket: this.socketPath, options }, flags);
    await this.hub.line('READY');
    if (pair) {
      this.pair = new LineChild(pairScript, { socket: this.socketPath, intervalMs: 10, secret: options.secret });
      await this.pair.line('READY');
    }
  }

  get hubPid(): number {
    return this.hub!.child.pid!;
  }

  stats(): Promise<HubReport> {
    return this.hub!.ask<HubReport>('stats', 'STATS');
  }

  /** The good pair's figures since the previous report. */
  report(): Promise<PairReport> {
    return this.pair!.ask<PairReport>('report', 'REPORT');
  }

  /**
   * The good pair's verdict since the previous report, over at least
   * `minCalls` calls (waiting for them, so that a short test still judges a
   * stretch of 2 s): none of its calls failed, 99 % took under 100 ms, and
   * none stalled (under 300 ms: one slow call on a busy machine is the
   * scheduler's; a stalled hub delays every call of a stretch).
   */
  async expectPairFine(what: string, minCalls = 200): Promise<void> {
    const all: PairReport = { calls: 0, failures: [], maxMs: 0, p99Ms: 0, over100: 0 };
    const deadline = Date.now() + 20_000;
    while (all.calls < minCalls && Date.now() < deadline) {
      const r = await this.report();
      all.calls += r.calls;
      all.failures.push(...r.failures);
      all.maxMs = Math.max(all.maxMs, r.maxMs);
      all.over100 += r.over100;
      if (all.calls < minCalls) await new Promise((resolve) => setTimeout(resolve, PAIR_POLL_MS)); // polling the pair's progress
    }
    const figures = `${all.calls} calls, ${all.over100} of them >= 100 ms, slowest ${all.maxMs.toFixed(0)} ms`;
    expect(all.failures, `${what}: the good pair's failures`).to.deep.equal([]);
    expect(all.calls, `${what}: the good pair kept calling`).to.be.at.least(minCalls);
    expect(all.over100, `${what}: the good pair's calls of 100 ms or more (${figures})`).to.be.at.most(Math.floor(all.calls / 100));
    expect(all.maxMs, `${what}: the good pair's slowest call (${figures})`).to.be.below(300);
  }

  /** A raw client that identified as `id` (optionally with a mode). */
  async client(id: string, mode?: string): Promise<RawClient> {
    const c = await RawClient.identified({ path: this.socketPath }, id, mode);
    this.raws.push(c);
    return c;
  }

  /** A raw connection that has sent nothing yet. */
  async raw(): Promise<RawClient> {
    const c = await RawClient.connect({ path: this.socketPath });
    this.raws.push(c);
    return c;
  }

  /**
   * Sends `bytes` from a separate process in writes of `chunk` bytes (so this
   * process's event loop, and the pair's, stay out of it).
   */
  trickle(bytes: Buffer, chunk: number, pauseMs = 0): Trickle {
    const file = path.join(this.dir, `w-${this.writers.length}.bin`);
    const out = `${file}.out`;
    fs.writeFileSync(file, bytes);
    const child = spawn(PYTHON, [WRITER, this.socketPath, file, String(chunk), String(pauseMs), out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.writers.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<{ sent: number; closedEarly: boolean; frames: Frame[] }>((resolve, reject) => {
      child.on('exit', (code) => {
        const m = /(SENT|CLOSED) (\d+)/.exec(stdout);
        if (code !== 0 || !m) {
          reject(new Error(`trickle writer failed (${code}): ${stdout} ${stderr}`));
          return;
        }
        const frames: Frame[] = [];
        if (fs.existsSync(out)) {
          const reader = new FrameReader(1 << 30);
          for (const p of reader.push(fs.readFileSync(out))) frames.push(decodeClientFrame(p));
        }
        resolve({ sent: Number(m[2]), closedEarly: m[1] === 'CLOSED', frames });
      });
    });
    return { child, done };
  }

  async stop(): Promise<void> {
    for (const c of this.raws.splice(0)) c.close();
    await Promise.all(this.writers.splice(0).map((w) => killChild(w)));
    if (this.pair) {
      this.pair.child.stdin?.end();
      await killChild(this.pair.child);
      this.pair = undefined;
    }
    if (this.hub) {
      // SIGTERM first: the hub stops cleanly (and a --cpu-prof profile gets written).
      this.hub.child.kill('SIGTERM');
      await waitForExit(this.hub.child, 5000).catch(() => undefined);
      await killChild(this.hub.child);
      this.hub = undefined;
    }
    removeTempDir(this.dir);
  }
}

/** `encodeFrame`'s length header alone, for a frame of `length` payload bytes. */
export function headerOf(length: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(length, 0);
  return h;
}

/** CPU time of process `pid` in ms, from /proc (user + system; 10 ms resolution). */
export function procCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
