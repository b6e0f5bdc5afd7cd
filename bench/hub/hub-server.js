'use strict';
/**
 * The hub under test, alone in its process: the compiled `Hub` (dist/) listening on
 * 127.0.0.1 with a random port (args.transport 'tcp') or a Unix socket (args.path).
 * Commands: listen { transport, path } -> address; stats -> hub.stats() + clientError counts;
 * stop. Run with `node --cpu-prof` by the driver to profile it.
 */
const path = require('node:path');
const { ROOT, serveCommands } = require('./common');

// PIPEIO_BENCH_HUB_DIST=/path/to/dist: another build of the hub (a before/after comparison).
const { Hub } = require(path.join(process.env.PIPEIO_BENCH_HUB_DIST || path.join(ROOT, 'dist'), 'index.js'));

let hub;
const clientErrors = {};

serveCommands({
  async listen({ transport = 'tcp', path: socketPath, options = {} }) {
    hub = new Hub({ serverId: 'BENCH', ...options });
    hub.on('clientError', (err) => {
      const k = (err && err.code) || 'unknown';
      clientErrors[k] = (clientErrors[k] || 0) + 1;
    });
    return transport === 'unix' ? hub.listen({ path: socketPath }) : hub.listen({ host: '127.0.0.1', port: 0 });
  },
  stats() {
    return { ...hub.stats(), clientErrors: { ...clientErrors }, memory: process.memoryUsage(), cpu: process.cpuUsage() };
  },
  async stop() {
    await hub.stop();
    // Let the driver read the final figures, then leave (writes the --cpu-prof file on exit).
    setTimeout(() => process.exit(0), 50);
    return true;
  },
});
