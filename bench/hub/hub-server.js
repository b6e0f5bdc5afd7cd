'use strict';
/**
 * The hub under test, alone in its process: the compiled `Hub` (dist/) listening on
 * 127.0.0.1 with a random port (args.transport 'tcp') or a Unix socket (args.path).
 * Commands: listen { transport, path, options } -> address; stats -> hub.stats() + clientError
 * counts, memory, CPU time (ms) and the event loop's longest delay since the previous stats;
 * gc (with --expose-gc); stop. Run with `node --cpu-prof` by the driver to profile it.
 */
const path = require('node:path');
const { ROOT, serveCommands } = require('./common');

// PIPEIO_BENCH_HUB_DIST=/path/to/dist: another build of the hub (a before/after comparison).
const { Hub } = require(path.join(process.env.PIPEIO_BENCH_HUB_DIST || path.join(ROOT, 'dist'), 'index.js'));

let hub;
const clientErrors = {};
// The longest waits of the event loop (bench/hub-hostile.bench.js): reset by each `stats`.
const loopDelay = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

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
    const cpu = process.cpuUsage();
    const loop = { maxMs: loopDelay.max / 1e6, p99Ms: loopDelay.percentile(99) / 1e6 };
    loopDelay.reset();
    return { ...hub.stats(), clientErrors: { ...clientErrors }, memory: process.memoryUsage(), cpu, cpuMs: (cpu.user + cpu.system) / 1000, loop };
  },
  /** A full collection, when the process runs with --expose-gc (RSS after what is really freed). */
  gc() {
    if (typeof global.gc !== 'function') return false;
    global.gc();
    return true;
  },
  async stop() {
    await hub.stop();
    // Let the driver read the final figures, then leave (writes the --cpu-prof file on exit).
    setTimeout(() => process.exit(0), 50);
    return true;
  },
});
