'use strict';
/**
 * Child process of bench/pool-starvation.bench.js.
 * Usage: node bench/servers/pool-child.js MODE DIR COUNT CLIENTS WINDOW_MS
 *   MODE     none | naive (fs.createReadStream/createWriteStream per FIFO pair) | ours (PipeIOServer)
 *   COUNT    number of servers (FIFO pairs under DIR)
 *   CLIENTS  1: attach one idle bash client per pair (holds both ends, sends nothing); 0: none
 * Then, after 250 ms to settle, for WINDOW_MS: a 10 ms setTimeout chain (lateness of each tick), one
 * fs.promises.readFile and one crypto.pbkdf2 (both need libuv's thread pool).
 * Prints one line "RESULT <json>". It does not clean up: the parent kills its process group.
 */
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const [mode, dir, countArg, clientsArg, windowArg] = process.argv.slice(2);
const count = Number(countArg);
const windowMs = Number(windowArg);
const TICK_MS = 10;
const SETTLE_MS = 250;

function pairPaths(i) {
  return [path.join(dir, `in${i}`), path.join(dir, `out${i}`)];
}

function startNaive(inPipe, outPipe) {
  spawnSync('mkfifo', ['-m', '600', inPipe, outPipe]);
  const input = fs.createReadStream(inPipe);
  const output = fs.createWriteStream(outPipe);
  readline.createInterface({ input }).on('line', (l) => output.write(l + '\n'));
  output.on('error', () => {});
  input.on('error', () => {});
}

async function startServers() {
  if (mode === 'naive') {
    for (let i = 0; i < count; i++) startNaive(...pairPaths(i));
  } else if (mode === 'ours') {
    const { PipeIOServer } = require('../lib/util').loadPackage();
    await Promise.all(Array.from({ length: count }, (_, i) => {
      const server = new PipeIOServer(...pairPaths(i));
      server.handleMessage = (m) => { server.sendMessage(m); };
      server.on('error', (err) => console.error(`pool-child: ${err.code}: ${err.message}`));
      return server.start();
    }));
  }
}

/** Spawns the idle clients; resolves with how many had both ends open within 5 s. */
function attachClients() {
  if (mode === 'none' || clientsArg !== '1') return Promise.resolve(0);
  return new Promise((resolve) => {
    let held = 0;
    const timer = setTimeout(() => resolve(held), 5000);
    for (let i = 0; i < count; i++) {
      const [inPipe, outPipe] = pairPaths(i);
      const c = spawn('bash', ['-c', 'exec 3>"$1"; exec 4<"$0"; echo HELD; exec sleep 600', outPipe, inPipe], { stdio: ['ignore', 'pipe', 'inherit'] });
      c.stdout.once('data', () => {
        if (++held === count) {
          clearTimeout(timer);
          resolve(held);
        }
      });
    }
  });
}

function measure() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const r = { readFileMs: null, pbkdf2Ms: null, ticks: 0, ticksOver10Ms: 0, maxLateMs: 0, sumLateMs: 0 };
    fs.promises.readFile(__filename).then(() => { r.readFileMs = performance.now() - t0; });
    crypto.pbkdf2('pw', 'salt', 1, 32, 'sha256', () => { r.pbkdf2Ms = performance.now() - t0; });
    let expected = t0 + TICK_MS;
    const tick = () => {
      const now = performance.now();
      const late = now - expected;
      r.ticks++;
      r.sumLateMs += late;
      r.maxLateMs = Math.max(r.maxLateMs, late);
      if (late > 10) r.ticksOver10Ms++;
      if (now - t0 >= windowMs) {
        r.meanLateMs = r.sumLateMs / r.ticks;
        delete r.sumLateMs;
        resolve(r);
        return;
      }
      expected = now + TICK_MS;
      setTimeout(tick, TICK_MS);
    };
    setTimeout(tick, TICK_MS);
  });
}

(async () => {
  const t0 = performance.now();
  await startServers();
  const startMs = performance.now() - t0;
  const clientsHeld = await attachClients();
  // Settle: let worker start-up and the naive streams' opens and first reads happen first.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const r = await measure();
  console.log(`RESULT ${JSON.stringify({ mode, count, clients: clientsArg === '1', clientsHeld, startMs, threadpool: process.env.UV_THREADPOOL_SIZE || '4 (default)', ...r })}`);
})().catch((err) => {
  console.log(`RESULT ${JSON.stringify({ mode, error: `${err.code || ''} ${err.message}` })}`);
});
