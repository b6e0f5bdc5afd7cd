'use strict';
/**
 * Check (not a benchmark): the largest gap between 10 ms timer ticks on the main thread of a
 * PipeIOServer echo server while the C client pushes N pipelined messages of SIZE bytes
 * (default 2,000,000 x 100). Hard deadline 60 s.
 * Usage: npm run build && node bench/checks/loop-stall.js [N] [SIZE]
 */
const fs = require('node:fs');
const path = require('node:path');
const u = require('../lib/util');

setTimeout(() => {
  console.error('loop-stall: not done within 60 s');
  u.killAll();
  process.exit(1);
}, 60000).unref();

(async () => {
  u.buildC();
  const { PipeIOServer } = u.loadPackage();
  const [n = '2000000', size = '100'] = process.argv.slice(2);
  const dir = u.makeTmpDir('check');
  const s = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'), { maxQueueBytes: 1 << 30 });
  s.handleMessage = (m) => {
    s.sendMessage(m);
  };
  await s.start();
  let last = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 10);
  const c = await u.run(u.CLIENT, [s.outPipe, s.inPipe, 'throughput', n, size], { timeoutMs: 50000 }).exited;
  clearInterval(ticker);
  console.log(`${n} x ${size} B: client ${(c.stdout || c.stderr).trim()}`);
  console.log(`largest gap between 10 ms ticks: ${maxGap.toFixed(1)} ms`);
  await s.stop();
  fs.rmSync(dir, { recursive: true, force: true });
})();
