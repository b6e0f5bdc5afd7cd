/**
 * A contract shared by two packages: math-contract/ (the contract),
 * math-service/ (implements it), and this caller. Run:
 *   node -r ts-node/register examples/typed-contract/main.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hub, HubClient, PipeIOError, typedChannel } from '../../lib';
import { mathContract } from './math-contract';
import { serve } from './math-service';

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'typed-contract-'));
  const socket = join(dir, 'hub.sock');
  const hub = new Hub();
  await hub.listen({ path: socket });
  const service = new HubClient({ path: socket }, { clientId: 'math-service' });
  const app = new HubClient({ path: socket }, { clientId: 'app' });
  try {
    await service.connect();
    const published = await serve(await service.open('math'), (event) => void published.publish('results', { event, ms: 0 }));

    await app.connect();
    const math = typedChannel(await app.open('math'), mathContract);
    const served: string[] = [];
    await math.subscribe('results', (r) => void served.push(r.event));
    console.log(`add: ${await math.call('add', { a: 1, b: 2 })}`);
    const range: number[] = [];
    for await (const i of math.stream('range', { n: 4 })) range.push(i);
    console.log(`range: ${range.join(' ')}`);
    console.log(`centroid: ${JSON.stringify(await math.call('centroid', [{ x: 0, y: 0 }, { x: 2, y: 4 }]))}`);
    try {
      await math.call('add', { a: 1, b: 'two' } as never); // what tsc refuses, a JavaScript caller may still send
    } catch (err) {
      console.log(`refused: ${(err as PipeIOError).code}: ${(err as PipeIOError).message}`);
    }
    const view = math.schema('centroid');
    console.log(`centroid announced by ${view.announced?.owner}, matches the contract: ${view.matches}`);
    await waitFor(() => served.length >= 3);
    console.log(`published results: ${served.join(', ')}`);
  } finally {
    await app.close();
    await service.close();
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls until `done()` (publications arrive asynchronously), at most 10 s. */
async function waitFor(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
