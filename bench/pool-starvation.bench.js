'use strict';
/**
 * libuv thread-pool starvation (issue 2, behaviour 7): 8 FIFO servers in one process with idle
 * clients attached (or none yet), naive fs streams vs PipeIOServer, plus a baseline with no
 * server. Measured over a 2 s window in that process: does fs.promises.readFile complete
 * (and crypto.pbkdf2, also on the pool), and how late do 10 ms timers fire.
 * Each case is a child process (bench/servers/pool-child.js) killed with its clients after
 * WINDOW + 15 s at most: a starved naive process cannot even exit by itself.
 *
 * Standalone: node bench/pool-starvation.bench.js
 */
const path = require('node:path');
const u = require('./lib/util');

const CHILD = path.join(__dirname, 'servers', 'pool-child.js');
const WINDOW_MS = 2000;
const COUNT = 8;

const CASES = [
  { name: 'no server (baseline)', mode: 'none', clients: 0 },
  { name: 'naive fs streams, idle clients attached', mode: 'naive', clients: 1 },
  { name: 'naive fs streams, no client yet', mode: 'naive', clients: 0 },
  { name: 'PipeIOServer, idle clients attached', mode: 'ours', clients: 1 },
  { name: 'PipeIOServer, no client yet', mode: 'ours', clients: 0 },
];

async function runCase(c) {
  const dir = u.makeTmpDir('pool');
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE;
  const child = u.run(process.execPath, [CHILD, c.mode, dir, String(COUNT), String(c.clients), String(WINDOW_MS)], { timeoutMs: WINDOW_MS + 15000, env });
  try {
    const m = await u.waitForLine(child.child, /^RESULT (.*)$/m, WINDOW_MS + 14000, 'RESULT');
    return { case: c.name, ...JSON.parse(m[1]) };
  } catch (err) {
    return { case: c.name, mode: c.mode, error: err.message };
  } finally {
    u.killGroup(child.child);
    await child.exited;
    u.rmTmpDir(dir);
  }
}

/** Runs every case once (set `modes` to skip some). */
async function poolStarvation({ log = console.error, modes = ['none', 'naive', 'ours'] } = {}) {
  const notes = [];
  if (modes.includes('ours') && !u.oursAvailable()) {
    notes.push('PipeIOServer skipped: dist/ does not export it (run `npm run build`)');
    modes = modes.filter((m) => m !== 'ours');
  }
  const results = [];
  for (const c of CASES.filter((x) => modes.includes(x.mode))) {
    const r = await runCase(c);
    log(`  pool-starvation ${c.name}: ${r.error ? 'ERROR ' + r.error : `readFile ${r.readFileMs === null ? 'NOT DONE' : r.readFileMs.toFixed(1) + ' ms'}, max late ${r.maxLateMs.toFixed(1)} ms`}`);
    results.push(r);
  }
  return { windowMs: WINDOW_MS, count: COUNT, results, notes };
}

function poolStarvationTable({ windowMs, count, results, notes = [] }) {
  const done = (ms) => (ms === null || ms === undefined ? `**no** (not within ${windowMs / 1000} s)` : `yes, ${ms.toFixed(1)} ms`);
  const rows = [
    `| ${count} servers, libuv pool of 4 | clients attached | fs.promises.readFile | crypto.pbkdf2 | 10 ms timers: max late ms | mean late ms | ticks > 10 ms late |`,
    '|---|---:|---|---|---:|---:|---:|',
  ];
  for (const r of results) {
    if (r.error) {
      rows.push(`| ${r.case} | - | error: ${r.error} | | | | |`);
      continue;
    }
    rows.push(`| ${r.case} | ${r.clients ? `${r.clientsHeld}/${r.count}` : '-'} | ${done(r.readFileMs)} | ${done(r.pbkdf2Ms)} | ${r.maxLateMs.toFixed(1)} | ${r.meanLateMs.toFixed(2)} | ${r.ticksOver10Ms}/${r.ticks} |`);
  }
  return rows.concat(notes.map((n) => `\n_${n}_`)).join('\n');
}

module.exports = { poolStarvation, poolStarvationTable };

if (require.main === module) {
  poolStarvation().then((r) => console.log(poolStarvationTable(r)), (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
