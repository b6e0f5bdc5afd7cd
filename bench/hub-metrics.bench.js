'use strict';
/**
 * The cost of the hub's metrics (issue 19: at most 3% of calls/s): two hubs from the same
 * dist/, one with metrics on (the default), one with `metrics: false`, each in its own process
 * with its own provider and caller processes (bench/hub/ raw-wire workers). The workloads run
 * on one hub, then the other, alternating which goes first, for --rounds rounds, so both see the
 * same machine load; reported: calls/s and the hub's CPU µs per call (from /proc), their medians
 * and the on/off ratios.
 *
 *   npm run build && node bench/hub-metrics.bench.js [--rounds 6] [--calls 100000] [--chunks 100000] [--out FILE]
 *
 * Workloads: one connection pipelined (256 calls outstanding: the path every counter is on),
 * and a stream of --chunks chunks (one count per chunk). Never part of `npm test`.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('./hub/procs');

function parseArgs(argv) {
  const o = { rounds: 6, calls: 100_000, chunks: 100_000, out: path.join(__dirname, 'results', 'hub-metrics.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--calls') o.calls = Number(argv[++i]);
    else if (a === '--chunks') o.chunks = Number(argv[++i]);
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const log = (...a) => console.error('hub-metrics-bench:', ...a);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function setup(label, metrics) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeio-metrics-bench-'));
  const hub = new Worker('hub-server.js', `hub-${label}`);
  const addr = await hub.cmd('listen', { transport: 'tcp', path: path.join(tmp, 'hub.sock'), options: { metrics } });
  const mk = async (name) => {
    const w = new Worker('hub-worker.js', `${label}-${name}`);
    await w.cmd('init', { addr, name: `${label}-${name}` });
    return w;
  };
  const p = await mk('P1');
  await p.cmd('provide', { events: [{ event: 'echo' }, { event: 'stream', stream: true }] });
  const c = await mk('C0');
  await c.cmd('connect');
  return { label, hub, p, c, tmp };
}

/** The hub process's CPU seconds (process.cpuUsage(): µs resolution, unlike /proc's 10 ms ticks). */
async function hubCpu(sys) {
  const { cpu } = await sys.hub.cmd('stats');
  return (cpu.user + cpu.system) / 1e6;
}

async function measure(sys, what, fn) {
  const c0 = await hubCpu(sys);
  const r = await fn();
  const cpu = (await hubCpu(sys)) - c0;
  return { ...r, hubCpuSec: cpu, what };
}

/**
 * What the metrics add to one routed call, in-process and without the machine's noise: the
 * observer calls the hub makes per call (a read, a final response with its histogram, a write,
 * plus the performance.now() the request table takes), on HubMetrics and on the no-op observer.
 */
async function observerCost(n = 2_000_000) {
  const dist = process.env.PIPEIO_BENCH_HUB_DIST || path.join(__dirname, '..', 'dist');
  const { HubMetrics } = require(path.join(dist, 'metrics', 'hub-metrics.js'));
  const { NO_OBSERVER } = require(path.join(dist, 'hub', 'server', 'observer.js'));
  const fields = new Map([['type', 'response'], ['data', 1], ['is_final', true]]);
  const calls = Array.from({ length: 16 }, (_, i) => ({ channel: 'bench', event: `e${i}`, stream: false, startedAt: 0, observed: undefined }));
  // Frames arrive in reads of several (256 calls outstanding); `perRead` calls per turn of the loop.
  const run = async (obs, perRead) => {
    let ns = 0;
    for (let done = 0; done < n; done += perRead) {
      const t0 = process.hrtime.bigint();
      obs.received(120 * perRead, perRead);
      for (let i = 0; i < perRead; i++) {
        const c = calls[i & 15];
        c.startedAt = obs.now();
        c.observed = undefined; // a new call: the observer looks its series up again
        obs.response(c, fields, true);
      }
      obs.sent(130 * perRead, perRead);
      ns += Number(process.hrtime.bigint() - t0);
      await null; // the turn ends: the clock goes stale
    }
    return ns / n;
  };
  const metrics = new HubMetrics({ maxSeries: 1000, registry: undefined, systemStats: true });
  const on = [];
  const off = [];
  const one = [];
  for (let r = 0; r < 5; r++) {
    on.push(await run(metrics, 16));
    off.push(await run(NO_OBSERVER, 16));
    one.push(await run(metrics, 1));
  }
  return { nsPerCallOn: +median(on).toFixed(1), nsPerCallOff: +median(off).toFixed(1), nsPerCallOneByOne: +median(one).toFixed(1) };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const micro = await observerCost();
  log(`observer per call: ${micro.nsPerCallOn} ns with metrics (16 calls per read; ${micro.nsPerCallOneByOne} ns one per read), ${micro.nsPerCallOff} ns with the no-op observer`);
  const on = await setup('on', true);
  const off = await setup('off', false);
  const rows = { on: { calls: [], cpuPerCall: [], chunks: [], cpuPerChunk: [] }, off: { calls: [], cpuPerCall: [], chunks: [], cpuPerChunk: [] } };
  try {
    log('warm-up');
    for (const s of [on, off]) await s.c.cmd('pipeline', { n: o.calls, window: 256 }, 600000);
    for (let r = 0; r < o.rounds; r++) {
      const order = r % 2 === 0 ? [on, off] : [off, on];
      for (const s of order) {
        const p = await measure(s, 'pipeline', () => s.c.cmd('pipeline', { n: o.calls, window: 256 }, 600000));
        if (p.errors) throw new Error(`${s.label}: ${p.errors} calls failed: ${p.firstError}`);
        rows[s.label].calls.push(p.perSec);
        rows[s.label].cpuPerCall.push((p.hubCpuSec / o.calls) * 1e6);
        const st = await measure(s, 'stream', () => s.c.cmd('stream', { n: o.chunks, rid: `s${r}` }, 600000));
        rows[s.label].chunks.push(st.perSec);
        rows[s.label].cpuPerChunk.push((st.hubCpuSec / o.chunks) * 1e6);
        log(`round ${r + 1} ${s.label}: ${p.perSec} calls/s (${rows[s.label].cpuPerCall.at(-1).toFixed(2)} µs CPU/call), ${st.perSec} chunks/s`);
      }
    }
  } finally {
    for (const s of [on, off]) {
      await s.hub.cmd('stop').catch(() => undefined);
      for (const w of [s.p, s.c]) w.child.kill('SIGKILL');
      fs.rmSync(s.tmp, { recursive: true, force: true });
    }
  }
  const m = (label, k) => median(rows[label][k]);
  const result = {
    rounds: o.rounds,
    calls: o.calls,
    chunks: o.chunks,
    node: process.version,
    on: { callsPerSec: m('on', 'calls'), cpuUsPerCall: m('on', 'cpuPerCall'), chunksPerSec: m('on', 'chunks'), cpuUsPerChunk: m('on', 'cpuPerChunk') },
    off: { callsPerSec: m('off', 'calls'), cpuUsPerCall: m('off', 'cpuPerCall'), chunksPerSec: m('off', 'chunks'), cpuUsPerChunk: m('off', 'cpuPerChunk') },
    observer: micro,
    raw: rows,
  };
  result.ratio = {
    callsPerSec: +(result.on.callsPerSec / result.off.callsPerSec).toFixed(4),
    cpuPerCall: +(result.on.cpuUsPerCall / result.off.cpuUsPerCall).toFixed(4),
    chunksPerSec: +(result.on.chunksPerSec / result.off.chunksPerSec).toFixed(4),
    cpuPerChunk: +(result.on.cpuUsPerChunk / result.off.cpuUsPerChunk).toFixed(4),
  };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, `${JSON.stringify(result, null, 2)}\n`);
  const f = (x, d = 0) => x.toFixed(d);
  console.log('| metrics | calls/s (median) | hub CPU µs/call | chunks/s | hub CPU µs/chunk |');
  console.log('|---|---|---|---|---|');
  for (const k of ['on', 'off']) console.log(`| ${k} | ${f(result[k].callsPerSec)} | ${f(result[k].cpuUsPerCall, 2)} | ${f(result[k].chunksPerSec)} | ${f(result[k].cpuUsPerChunk, 3)} |`);
  console.log(`| on/off | ${result.ratio.callsPerSec} | ${result.ratio.cpuPerCall} | ${result.ratio.chunksPerSec} | ${result.ratio.cpuPerChunk} |`);
  const share = (micro.nsPerCallOn - micro.nsPerCallOff) / 1000 / result.off.cpuUsPerCall;
  console.log(`\nobserver, in-process: ${micro.nsPerCallOn} ns per call with metrics vs ${micro.nsPerCallOff} ns no-op: ${(share * 100).toFixed(2)}% of the hub's ${f(result.off.cpuUsPerCall, 2)} µs CPU per call`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
