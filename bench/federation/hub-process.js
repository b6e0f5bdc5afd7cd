'use strict';
/**
 * One Hub of the federation benchmark in its own process (compiled package, dist/):
 *   node bench/federation/hub-process.js '<json: { serverId, socket, nats? }>'
 * Prints READY once listening and, when federated, PEERS <n> on every peer change.
 */
const path = require('node:path');
const { Hub } = require(path.resolve(__dirname, '..', '..', 'dist', 'index.js'));

async function main() {
  const cfg = JSON.parse(process.argv[2]);
  const hub = new Hub({ serverId: cfg.serverId, lbPolicy: 'round-robin', ...(cfg.nats ? { nats: { servers: [cfg.nats] } } : {}) });
  hub.on('clientError', () => undefined);
  const peers = new Set();
  hub.on('cluster', (ev) => {
    if (ev.type !== 'peer') return;
    if (ev.up) peers.add(ev.hub);
    else peers.delete(ev.hub);
    process.stdout.write(`PEERS ${peers.size}\n`);
  });
  process.on('SIGTERM', () => void hub.stop().then(() => process.exit(0)));
  process.on('disconnect', () => void hub.stop().then(() => process.exit(0)));
  await hub.listen({ path: cfg.socket });
  process.stdout.write('READY\n');
}
main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
