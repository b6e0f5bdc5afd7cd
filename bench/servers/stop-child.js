'use strict';
/**
 * Child process of bench/stop-latency.bench.js: one PipeIOServer (compiled dist/) with an
 * echo handler, driven by its parent.
 * Usage: node bench/servers/stop-child.js IN_PIPE OUT_PIPE [--no-start]
 * stdout protocol (one line each):
 *   READY                  start() resolved (or, with --no-start, the server was constructed)
 *   CONNECT / DISCONNECT   the server's 'connect' / 'disconnect' events
 *   MSG <bytes>            a message of 1 MiB or more arrived
 *   STOPPED <ms> <left>    SIGUSR2 ran stop(); <ms> its latency; <left> FIFO paths still present
 *   ERRORS <json>          'error' events so far, counted by code and message head
 *   STOPFAILED <code>      stop() rejected
 * After STOPPED nothing holds the process: it must exit by itself (the parent checks).
 */
const fs = require('node:fs');
const { loadPackage } = require('../lib/util');

const { PipeIOServer } = loadPackage();
const [inPipe, outPipe, flag] = process.argv.slice(2);

const server = new PipeIOServer(inPipe, outPipe);
server.handleMessage = (message) => {
  if (message.length >= 1 << 20) console.log(`MSG ${message.length}`);
  server.sendMessage(message);
};
// Errors are counted by code and message head, printed after STOPPED (a flood of them must not
// slow the child down through its stderr).
const errors = {};
server.on('error', (err) => {
  const key = `${err.code}: ${err.message.slice(0, 70)}`;
  errors[key] = (errors[key] || 0) + 1;
});
server.on('connect', () => console.log('CONNECT'));
server.on('disconnect', () => console.log('DISCONNECT'));

// Alive until SIGUSR2 whatever the engine refs; cleared before stop() so that the exit check
// afterwards measures only what the engine leaves behind.
const keepAlive = setInterval(() => {}, 1 << 30);

process.once('SIGUSR2', () => {
  clearInterval(keepAlive);
  const t0 = performance.now();
  server.stop().then(() => {
    const ms = performance.now() - t0;
    const left = [inPipe, outPipe].filter((p) => fs.lstatSync(p, { throwIfNoEntry: false })).length;
    console.log(`STOPPED ${ms.toFixed(3)} ${left}`);
    setImmediate(() => console.log(`ERRORS ${JSON.stringify(errors)}`)); // also those emitted right after
  }, (err) => {
    console.log(`STOPFAILED ${err.code} ${err.message}`);
  });
});

if (flag === '--no-start') {
  console.log('READY');
} else {
  server.start().then(() => console.log('READY'), (err) => {
    console.log(`STARTFAILED ${err.code} ${err.message}`);
    clearInterval(keepAlive);
  });
}
