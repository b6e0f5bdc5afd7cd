/**
 * A Python plugin (rpc mode) on a Hub: it calls another plugin (bash, line
 * mode), publishes, streams, and returns bytes; a Node app uses it.
 *
 *   node -r ts-node/register/transpile-only examples/hub-python-plugin/main.ts
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Hub, HubClient } from 'pipe-io-server';

/** Waits (polling each turn of the event loop) until `check()` holds; throws after 10 s. */
async function until(check: () => unknown, what: string): Promise<void> {
  const deadline = Date.now() + 10000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-python-plugin-'));
  const socket = path.join(dir, 'hub.sock');
  const hub = new Hub({ serverId: 'example' });
  await hub.listen({ path: socket });
  try {
    const upper = await hub.attachPlugin('bash', [path.join(__dirname, '..', 'hub-bash-upper', 'upper.sh')], { channel: 'text', event: 'upper' });
    const words = await hub.attachPlugin('python3', [path.join(__dirname, 'plugin.py')], { channel: 'words', event: 'shout', mode: 'rpc', id: 'py-words' });

    const client = new HubClient({ path: socket }, { clientId: 'node-app', autoReconnect: false });
    await client.connect();
    const ch = await client.open('words');
    const published: unknown[] = [];
    await ch.subscribe('shouted', (msg) => void published.push(msg.data));
    // the plugin registers letters and stats itself (provide lines): wait until it has
    await until(() => hub.routingCore.providers.get('words', 'stats'), 'the plugin to provide words:stats');

    const loud = await ch.call('shout', 'quiet please', { timeout: 10000 });
    console.log(`shout: ${JSON.stringify(loud.data)}`);
    const letters: unknown[] = [];
    for await (const chunk of ch.stream('letters', 'a-b c!', { timeout: 10000 })) letters.push(chunk.data);
    console.log(`letters (a stream): ${JSON.stringify(letters)}`);
    const stats = (await ch.call('stats', 'two words', { timeout: 10000 })).data as { words: number; bytes: Uint8Array };
    console.log(`stats: ${stats.words} words, bytes ${JSON.stringify(Buffer.from(stats.bytes).toString())}`);
    await until(() => published.length > 0, 'the publication');
    console.log(`published on words/shouted: ${JSON.stringify(published[0])}`);
    try {
      await ch.call('stats', 42, { timeout: 10000 });
    } catch (err) {
      console.log(`a bad call fails: ${(err as Error).message}`);
    }

    await client.close();
    await words.stop();
    await upper.stop();
  } finally {
    await hub.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
