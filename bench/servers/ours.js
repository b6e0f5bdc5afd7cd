'use strict';
/**
 * PipeIOServer echo server for the benchmarks (the compiled engine, dist/pipe/server.js).
 * Usage: node bench/servers/ours.js [--batch] IN_PIPE OUT_PIPE
 * Creates the FIFOs (managePipes), echoes every message with the default per-message API,
 * `handleMessage = m => server.sendMessage(m)`, or with --batch the opt-in batch API,
 * `handleMessages = batch => server.sendMessages(batch)`; prints READY once start() resolved.
 * The echo ignores sendMessage()'s false (as the issue's one-liner does), so replies pile up
 * whenever the client reads slower than it writes: maxQueueBytes is 1 GiB here (the Python
 * original's queue is unbounded), and the client reports how much was in flight. A
 * PIPEIO_ERR_QUEUE_FULL still kills the process.
 * Prints "MAXGAP <ms>" (largest gap between 10 ms timer ticks) on SIGTERM.
 * On SIGTERM: stop(), print "STOPPED <ms>" on stdout, then exit by itself (no process.exit).
 */
const path = require('node:path');
const { ROOT_DIR } = require('../lib/util');

// The engine alone (dist/pipe/server.js), not the whole package; PIPEIO_DIST names another
// build's dist/ (a before/after comparison in one run: PIPEIO_BENCH_BEFORE in fifo-echo.bench.js).
const { PipeIOServer } = require(path.join(process.env.PIPEIO_DIST || path.join(ROOT_DIR, 'dist'), 'pipe', 'server.js'));
const argv = process.argv.slice(2);
const batch = argv[0] === '--batch';
const [inPipe, outPipe] = batch ? argv.slice(1) : argv;
if (!inPipe || !outPipe) {
  console.error('usage: node ours.js [--batch] IN_PIPE OUT_PIPE');
  process.exit(2);
}

let errors = 0;
const server = new PipeIOServer(inPipe, outPipe, { maxQueueBytes: 2 ** 30 });
if (batch) {
  server.handleMessages = (messages) => {
    server.sendMessages(messages);
  };
} else {
  server.handleMessage = (message) => {
    server.sendMessage(message);
  };
}
server.on('error', (err) => {
  if (errors++ < 5) console.error(`ours: ${err.code}: ${err.message}`);
  if (err.code === 'PIPEIO_ERR_QUEUE_FULL' || err.cause?.code === 'PIPEIO_ERR_QUEUE_FULL') {
    // A reply was dropped: end now so the client sees EOF and fails fast instead of
    // waiting for its deadline. SIGKILL, because exit would wait for blocked workers.
    process.kill(process.pid, 'SIGKILL');
  }
});

// A 10 ms ticker: measures the largest event-loop stall (gap between ticks) and keeps the
// process alive until SIGTERM whatever the engine refs; cleared before stop() so that the
// exit afterwards depends on the engine alone.
let lastTick = performance.now();
let maxGapMs = 0;
const keepAlive = setInterval(() => {
  const now = performance.now();
  maxGapMs = Math.max(maxGapMs, now - lastTick);
  lastTick = now;
}, 10);

process.once('SIGTERM', () => {
  clearInterval(keepAlive);
  console.log(`MAXGAP ${maxGapMs.toFixed(1)}`);
  const t0 = performance.now();
  server.stop().then(() => {
    console.log(`STOPPED ${(performance.now() - t0).toFixed(2)} ERRORS ${errors}`);
  }, (err) => {
    console.log(`STOPFAILED ${err.code} ${err.message}`);
  });
});

server.start().then(() => {
  console.log('READY');
}, (err) => {
  console.error(`ours: start failed: ${err.code}: ${err.message}`);
  process.exitCode = 1;
});
