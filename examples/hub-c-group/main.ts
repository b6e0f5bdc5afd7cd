/**
 * A C plugin serving a group of 4 on a Hub: four processes of worker.c, each
 * a member providing `jobs:workers.square` (comm-ipc's `group("workers")`),
 * load-balanced by the hub. A Node app sends 100 calls at once.
 *
 *   node -r ts-node/register/transpile-only examples/hub-c-group/main.ts     (needs cc)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Hub, HubClient } from 'pipe-io-server';

const ROOT = path.resolve(__dirname, '..', '..');
const KIT = path.join(ROOT, 'clients', 'c');

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-c-group-'));
  const hub = new Hub({ serverId: 'example' });
  try {
    const worker = path.join(dir, 'worker');
    const cc = spawnSync('cc', ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', `-I${KIT}`, '-o', worker, path.join(__dirname, 'worker.c'), path.join(KIT, 'hub_plugin.c'), path.join(KIT, 'pipe_io.c'), '-pthread'], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
    const socket = path.join(dir, 'hub.sock');
    await hub.listen({ path: socket });

    const group = await hub.attachPlugin(worker, [], { channel: 'jobs', group: 'workers', event: 'square', instances: 4, id: 'c-worker' });
    console.log(`${group.ids.length} instances (${group.ids.join(', ')}) provide jobs:${group.event}`);

    const client = new HubClient({ path: socket }, { clientId: 'node-app', autoReconnect: false });
    await client.connect();
    const jobs = await client.open('jobs');
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => jobs.call('workers.square', i, { timeout: 10000 })));
    const byPid = new Map<number, number>();
    let correct = 0;
    replies.forEach((r, i) => {
      const { square, pid } = r.data as { square: number; pid: number };
      if (square === i * i) correct++;
      byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
    });
    console.log(`100 calls: ${correct} correct, answered by ${byPid.size} processes`);
    try {
      await jobs.call('workers.square', 'seven', { timeout: 10000 });
    } catch (err) {
      console.log(`a bad call fails: ${(err as Error).message}`);
    }
    await client.close();
    await group.stop();
  } finally {
    await hub.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
