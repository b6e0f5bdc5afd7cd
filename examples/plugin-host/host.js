#!/usr/bin/env node
// A Node app hosting two plugins, one in bash and one in Python, each on its
// own pipe pair. Run: npm run build && node examples/plugin-host/host.js
'use strict';
const path = require('node:path');
const { once } = require('node:events');
const { PluginHost } = require('pipe-io-server');

/** Sends `text` and resolves with the plugin's next reply (one request at a time). */
async function ask(plugin, text) {
  const reply = once(plugin, 'message');
  plugin.send(text);
  const [message] = await reply;
  return message.toString('utf8');
}

/** Logs a plugin's stderr lines and exits. Attach listeners right after spawnPlugin() resolves. */
function watch(plugin) {
  plugin.on('stderr', (line) => console.log(`[${plugin.name} stderr] ${line}`));
  plugin.on('exit', (code, signal) => console.log(`[${plugin.name}] exited (${signal ?? code})`));
  plugin.on('error', (err) => console.error(`[${plugin.name}] ${err.code}: ${err.message}`));
  return plugin;
}

async function main() {
  const host = new PluginHost({ gracePeriod: 1000 });
  process.once('SIGINT', () => void host.stop());
  try {
    const upper = watch(await host.spawnPlugin('bash', [path.join(__dirname, 'plugins', 'upper.sh')], { name: 'upper' }));
    const words = watch(
      await host.spawnPlugin('python3', [path.join(__dirname, 'plugins', 'wordcount.py')], {
        name: 'wordcount',
        restart: { maxRestarts: 3 }, // crash -> restarted with backoff; the pair stays
      }),
    );

    for (const text of ['hello from node', 'pipes all the way down']) {
      console.log(`[upper] ${await ask(upper, text)}`);
      console.log(`[wordcount] ${await ask(words, text)}`);
    }
  } finally {
    await host.stop(); // SIGTERM to both (SIGKILL after 1 s), pipes and private dir removed
    console.log('host stopped');
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
