'use strict';
/**
 * Check (not a benchmark): stop() of a PipeIOServer echo server while the C client streams
 * N pipelined 100-byte messages (default 2,000,000); stop() is called 200 ms after the client
 * started. Prints how long stop() took, how many messages reached handleMessage before and
 * after the call, and the 'error' events by code. Hard deadline 60 s.
 * Usage: npm run build && node bench/checks/stop-mid-stream.js [N]
 */
const fs = require('node:fs');
const path = require('node:path');
const u = require('../lib/util');

setTimeout(() => {
  console.error('stop-mid-stream: not done within 60 s');
  u.killAll();
  process.exit(1);
}, 60000).unref();

(async () => {
  u.buildC();
  const { PipeIOServer } = u.loadPackage();
  const n = process.argv[2] || '2000000';
  const dir = u.makeTmpDir('check');
  const s = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'));
  let msgs = 0;
  s.handleMessage = (m) => {
    msgs++;
    s.sendMessage(m);
  };
  const errs = {};
  s.on('error', (e) => {
    const k = `${e.code}: ${e.message.slice(0, 70)}`;
    errs[k] = (errs[k] || 0) + 1;
  });
  await s.start();
  const client = u.run(u.CLIENT, [s.outPipe, s.inPipe, 'throughput', n, '100'], { timeoutMs: 50000 });
  await u.delay(200);
  const before = msgs;
  const t0 = performance.now();
  await s.stop();
  const ms = performance.now() - t0;
  u.killGroup(client.child);
  const c = await client.exited;
  console.log(`stop() took ${ms.toFixed(1)} ms; handleMessage calls: ${before} before stop(), ${msgs - before} after`);
  console.log(`client: ${(c.stderr || c.stdout).trim().slice(0, 200) || `killed (${c.signal})`}`);
  console.log('error events:', errs);
  fs.rmSync(dir, { recursive: true, force: true });
})();
