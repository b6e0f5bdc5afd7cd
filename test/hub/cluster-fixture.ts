/**
 * Federated hubs for tests: one real nats-server, hubs in separate processes
 * (test/hub/fixtures/hub-process.ts), raw wire clients, all cleaned up by stop().
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { killChild, makeTempDir, removeTempDir, spawnJs, transpileForChildren, waitFor, waitForExit } from '../fixtures/helpers';
import { NatsFixture } from './nats-fixture';
import { RawClient, type Frame } from './raw-client';

export interface HubProcOptions {
  lbPolicy?: 'round-robin' | 'least-active';
  channelPolicy?: 'terminate' | 'promote';
  cluster?: Record<string, number>;
  /** false: a hub without NATS (a plain local hub). */
  federated?: boolean;
}

export interface HubProc {
  id: string;
  socket: string;
  child: ChildProcess;
  /** CLUSTER events printed so far, parsed. */
  events: Array<Record<string, unknown>>;
  stderr: string;
}

const REPO = path.resolve(__dirname, '..', '..');
const HUB_PROCESS = 'test/hub/fixtures/hub-process.ts';

/** The repo .ts files `entry` imports, transitively (relative imports only). */
export function importClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (rel: string): void => {
    if (seen.has(rel)) return;
    seen.add(rel);
    const src = fs.readFileSync(path.join(REPO, rel), 'utf8');
    for (const m of src.matchAll(/(?:from|import\(|require\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const base = path.join(path.dirname(rel), m[1]!);
      const file = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(path.join(REPO, f)));
      if (file) visit(file);
    }
  };
  visit(entry);
  return [...seen];
}

let built: { dir: string; file: string } | undefined;

/**
 * The hub process fixture transpiled once per test run (plain node starts in
 * ~0.3 s; ts-node takes 10+ s on a busy 2-core machine). Removed at exit.
 */
function hubProcessScript(): string {
  if (!built) {
    const dir = makeTempDir('fed-build');
    built = { dir, file: transpileForChildren(dir, importClosure(HUB_PROCESS)) };
    process.once('exit', () => removeTempDir(dir));
  }
  return built.file;
}

export class ClusterFixture {
  readonly nats = new NatsFixture();
  readonly hubs = new Map<string, HubProc>();
  readonly clients: RawClient[] = [];
  dir = '';

  private ensureDir(): string {
    if (!this.dir) this.dir = makeTempDir('fed');
    return this.dir;
  }

  /** Starts a hub process and waits for READY (not for the cluster: see waitPeers). */
  async startHub(id: string, opts: HubProcOptions = {}): Promise<HubProc> {
    const socket = path.join(this.ensureDir(), `${id}.sock`);
    const cfg = {
      serverId: id,
      socket,
      nats: opts.federated === false ? undefined : this.nats.url,
      lbPolicy: opts.lbPolicy,
      channelPolicy: opts.channelPolicy,
      cluster: opts.cluster,
    };
    const child = spawnJs(hubProcessScript(), [JSON.stringify(cfg)], {
      env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') },
    });
    const proc: HubProc = { id, socket, child, events: [], stderr: '' };
    let buffered = '';
    let ready = false;
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('READY ')) ready = true;
        else if (line.startsWith('CLUSTER ')) proc.events.push(JSON.parse(line.slice(8)) as Record<string, unknown>);
      }
    });
    child.stderr?.on('data', (d: Buffer) => (proc.stderr = (proc.stderr + d.toString()).slice(-4000)));
    this.hubs.set(id, proc);
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`hub ${id} exited (${child.exitCode}): ${proc.stderr}`);
        return ready;
      },
      `hub ${id} to print READY`,
      20_000,
    );
    return proc;
  }

  /** The hubs `id` currently sees as up (from its peer events, in order). */
  peersOf(id: string): Set<string> {
    const up = new Set<string>();
    for (const ev of this.hubs.get(id)?.events ?? []) {
      if (ev['type'] !== 'peer') continue;
      if (ev['up']) up.add(ev['hub'] as string);
      else up.delete(ev['hub'] as string);
    }
    return up;
  }

  /** Waits until every hub in `ids` sees every other one. */
  async waitMesh(ids: string[], timeout = 10_000): Promise<void> {
    await waitFor(() => ids.every((a) => ids.every((b) => a === b || this.peersOf(a).has(b))), `hubs ${ids.join(',')} to see each other`, timeout);
  }

  async client(hubId: string, clientId: string, mode?: string): Promise<RawClient> {
    const hub = this.hubs.get(hubId);
    if (!hub) throw new Error(`no hub ${hubId}`);
    const c = await RawClient.identified({ path: hub.socket }, clientId, mode);
    this.clients.push(c);
    return c;
  }

  /** SIGKILLs a hub process. */
  async kill(hubId: string): Promise<void> {
    await killChild(this.hubs.get(hubId)?.child);
  }

  /** SIGTERM (graceful hub.stop()), then waits for the exit. */
  async terminate(hubId: string): Promise<void> {
    const child = this.hubs.get(hubId)?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await waitForExit(child, 10_000).catch(() => killChild(child));
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    this.clients.length = 0;
    await Promise.all([...this.hubs.keys()].map((id) => this.terminate(id).catch(() => this.kill(id))));
    this.hubs.clear();
    await this.nats.stop();
    removeTempDir(this.dir);
    this.dir = '';
  }
}

let ridCounter = 0;
export function rid(prefix = 'r'): string {
  return `${prefix}-${++ridCounter}`;
}

/** Ids `c` sees as members of `channel` (list_members). */
export async function membersOf(c: RawClient, channel: string): Promise<string[]> {
  const res = await c.request({ type: 'list_members', channel, request_id: rid('lm') });
  const members = ((res['data'] as Frame)['members'] as Frame[]) ?? [];
  return members.map((m) => m['id'] as string);
}

/** Polls list_members on `c` until `id` is (or is no longer) a member of `channel`. */
export async function waitMember(c: RawClient, channel: string, id: string, present = true, timeout = 10_000): Promise<void> {
  await waitFor(async () => (await membersOf(c, channel)).includes(id) === present, `${id} ${present ? 'in' : 'gone from'} ${channel}`, timeout);
}

/**
 * Answers every `call` that reaches `c` with `answer(call)` (a list of
 * response bodies: several for a stream; none to hold the call). Runs until
 * `c` closes.
 */
export function serve(c: RawClient, answer: (call: Frame) => Array<Record<string, unknown>>): void {
  void (async () => {
    for (;;) {
      let call: Frame;
      try {
        call = await c.next((f) => f['type'] === 'call', 60_000);
      } catch {
        if (c.closed) return;
        continue;
      }
      for (const body of answer(call)) {
        c.send({ type: 'response', request_id: call['request_id'], target_id: call['sender_id'], ...body });
      }
    }
  })();
}

/** Sends a call and waits for its (first) response. */
export async function call(c: RawClient, channel: string, event: string, data: unknown, timeout = 10_000): Promise<Frame> {
  const id = rid('call');
  c.send({ type: 'call', channel, event, data, request_id: id, is_stream: false, is_final: true });
  return c.nextOf('response', id, timeout);
}
