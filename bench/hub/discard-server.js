'use strict';
/**
 * The floor of bench/hub-hostile.bench.js: a plain Node socket server that reads and drops
 * every byte, so the CPU that receiving one-byte writes costs any Node server (kernel and
 * libuv included) can be set beside the hub's. Commands: listen { path } -> true;
 * received -> bytes so far and CPU time (ms); stop.
 */
const net = require('node:net');
const { serveCommands } = require('./common');

let server;
let bytes = 0;

serveCommands({
  listen({ path: socketPath }) {
    return new Promise((resolve) => {
      server = net.createServer((s) => s.on('data', (d) => (bytes += d.length)));
      server.listen(socketPath, () => resolve(true));
    });
  },
  received() {
    const cpu = process.cpuUsage();
    return { bytes, cpuMs: (cpu.user + cpu.system) / 1000 };
  },
  stop() {
    server.close();
    setTimeout(() => process.exit(0), 50);
    return true;
  },
});
