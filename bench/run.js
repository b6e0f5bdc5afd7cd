'use strict';
/**
 * Benchmark runner (`npm run bench` = build + `node bench/run.js`).
 * Builds bench/c/*.c with cc, runs fifo-echo, stop-latency, pool-starvation and the hub
 * against nats-server (bench/hub.bench.js, which also writes bench/results/hub.json), prints
 * Markdown tables on stdout (progress on stderr) and writes bench/results/latest.json.
 *
 * Options: --only fifo,stop,pool,hub   --reps N (fifo-echo, default 3)   --runs N (stop, default 5)
 *          --servers c,python,ours,ours-batch  --out FILE (default bench/results/latest.json)
 * A watchdog ends everything after 20 minutes (the Python original takes about 40 s per warm
 * fifo-echo run) (plus 600 s when the hub bench runs).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const u = require('./lib/util');
const { fifoEcho, fifoEchoTable } = require('./fifo-echo.bench');
const { stopLatency, stopLatencyTable } = require('./stop-latency.bench');
const { poolStarvation, poolStarvationTable } = require('./pool-starvation.bench');
const { hubBench, hubBenchTable } = require('./hub.bench');
const hubProcs = require('./hub/procs');

const WATCHDOG_MS = 20 * 60 * 1000;
const HUB_WATCHDOG_MS = 600000;

function parseArgs(argv) {
  const o = { only: ['fifo', 'stop', 'pool', 'hub'], out: path.join(__dirname, 'results', 'latest.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') o.only = argv[++i].split(',');
    else if (a === '--reps') o.reps = Number(argv[++i]);
    else if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--servers') o.servers = argv[++i].split(',');
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function meta() {
  const pipeMax = fs.readFileSync('/proc/sys/fs/pipe-max-size', 'utf8').trim();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}`,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    pipeMaxSize: Number(pipeMax),
    loadavg: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const watchdogMs = WATCHDOG_MS + (opts.only.includes('hub') ? HUB_WATCHDOG_MS : 0);
  const watchdog = setTimeout(() => {
    console.error(`bench: watchdog: not done after ${watchdogMs / 1000} s, killing children`);
    u.killAll();
    hubProcs.killAll();
    process.exit(1);
  }, watchdogMs);
  watchdog.unref();

  u.buildC();
  const t0 = performance.now();
  const results = { meta: meta() };
  const out = [`# pipe-io-server benchmarks\n`, `${results.meta.date}, Node ${results.meta.node}, ${results.meta.platform}, ${results.meta.cpus}\n`];
  if (opts.only.includes('fifo')) {
    console.error('fifo-echo ...');
    const r = await fifoEcho({ reps: opts.reps, servers: opts.servers });
    results.fifoEcho = r;
    out.push(`## FIFO echo (same C client; median of ${opts.reps ?? 3} interleaved runs)\n`, fifoEchoTable(r.summary), ...r.notes.map((n) => `\n_${n}_`), '');
  }
  if (opts.only.includes('stop')) {
    if (u.oursAvailable()) {
      console.error('stop-latency ...');
      const r = await stopLatency({ runs: opts.runs });
      results.stopLatency = r;
      out.push(`## PipeIOServer stop() latency per state (${opts.runs ?? 5} runs each)\n`, stopLatencyTable(r.summary), '');
    } else {
      out.push('## stop() latency\n', '_skipped: dist/ does not export PipeIOServer_', '');
    }
  }
  if (opts.only.includes('pool')) {
    console.error('pool-starvation ...');
    const r = await poolStarvation();
    results.poolStarvation = r;
    out.push(`## libuv pool starvation (${r.windowMs / 1000} s window)\n`, poolStarvationTable(r), '');
  }
  if (opts.only.includes('hub')) {
    console.error('hub vs nats-server ...');
    const r = await hubBench();
    results.hub = r;
    const hubOut = path.join(__dirname, 'results', 'hub.json');
    fs.mkdirSync(path.dirname(hubOut), { recursive: true });
    fs.writeFileSync(hubOut, JSON.stringify(r, null, 2) + '\n');
    out.push(`## Hub vs nats-server ${r.meta.natsServer.replace(/^nats-server:\s*/, '')} (separate processes, hub over ${r.meta.hubTransport}; JSON: bench/results/hub.json)\n`, hubBenchTable(r), ...r.notes.map((n) => `\n_${n}_`), '');
  }
  results.meta.totalSeconds = +((performance.now() - t0) / 1000).toFixed(1);
  results.meta.loadavgAtEnd = os.loadavg().map((x) => +x.toFixed(2));
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
  out.push(`_Total ${results.meta.totalSeconds} s. Load average (1/5/15 min) at start ${results.meta.loadavg.join(' ')}, at end ${results.meta.loadavgAtEnd.join(' ')} on ${os.cpus().length} CPUs. JSON: ${path.relative(process.cwd(), opts.out)}_`);
  console.log(out.join('\n'));
}

main().catch((err) => {
  console.error(err);
  u.killAll();
  hubProcs.killAll();
  process.exitCode = 1;
});
