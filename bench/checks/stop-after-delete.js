'use strict';
/**
 * Check (not a benchmark): delete both managed FIFO paths of a running PipeIOServer, call
 * stop() DELAY ms later (default 2), 60 times. Reports how often a FIFO path still exists when
 * stop() resolves (the contract: removed when stop() resolves) and how many 'error' events
 * arrive, and how many after 'close'. Usage: node bench/checks/stop-after-delete.js [DELAY_MS]
 * Hard deadline: 60 s.
 */
setTimeout(() => {
  console.error('stop-after-delete: not done within 60 s');
  process.exit(1);
}, 60000).unref();
const fs = require('fs'), os = require('os'), path = require('path'), crypto = require('crypto');
const { PipeIOServer } = require('../lib/util').loadPackage();
const delayMs = Number(process.argv[2] || 2), runs = 60;
(async () => {
  let left = 0, errAfterClose = 0, errs = 0;
  for (let i = 0; i < runs; i++) {
    const dir = path.join(os.tmpdir(), 'repro-' + crypto.randomBytes(4).toString('hex'));
    fs.mkdirSync(dir);
    const s = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'));
    let closed = false;
    s.on('close', () => { closed = true; });
    s.on('error', (e) => { errs++; if (closed) errAfterClose++; });
    await s.start();
    fs.unlinkSync(s.inPipe); fs.unlinkSync(s.outPipe);
    await new Promise((r) => setTimeout(r, delayMs));
    await s.stop();
    if (fs.readdirSync(dir).length) left++;
    await new Promise((r) => setTimeout(r, 100));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`delay ${delayMs} ms, ${runs} runs: path still present when stop() resolved: ${left}; 'error' events: ${errs} (${errAfterClose} after 'close')`);
})();
