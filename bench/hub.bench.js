'use strict';
/**
 * Hub benchmark (issue 8): the compiled `Hub` (dist/: `npm run build` first) against
 * nats-server with the @nats-io/transport-node client, the same workloads side by side in one
 * run, every party in its own process (bench/hub/*.js, forked; the hub's workers speak the raw
 * wire with the package's codec and FrameReader, so the figures are the hub's):
 *
 *   1. RPC echo, 100-byte payload: latency p50/p99 of sequential round trips; throughput of one
 *      connection pipelined (256 outstanding), also the RSS run (hub RSS sampled every 100 ms);
 *      8 caller processes (32 outstanding each).
 *   2. Group calls over 2 provider processes (least-active; NATS: a queue group): calls/s, split.
 *   3. A stream of 100,000 chunks: chunks/s, time to the final frame (median of 3).
 *   4. Pub/sub fan-out to 100 subscribers (4 processes x 25 connections): deliveries/s of
 *      5,000 messages with the publisher windowed by ping/pong (NATS: flush), median of 3, the
 *      latency of delivery under that load (information only: it is queueing in the subscriber
 *      processes), and paced at one message every 5 ms (the latency figure).
 *   5. RSS of the broker over the 1,000,000-call pipelined run: start, peak, end. That run
 *      follows a warm-up of as many calls (--rss-warmup N), sampled and reported apart: V8
 *      grows a busy process's young generation in steps up to a fixed cap, which is sizing,
 *      not growth with calls; the measured run then shows whether anything grows per call.
 *   + when dist/ has HubClient: the RPC and stream workloads with HubClient as provider and
 *     caller, next to NATS through nc.request() (client library against client library).
 *   + the floor: the same round trip through a plain Node byte relay (bench/hub/relay-floor.js).
 *   Both systems are set up at once and each workload runs on one, then the other, so both see
 *   the same machine load; broker CPU time per operation is reported next to the rates.
 *
 *   node bench/hub.bench.js [--quick] [--only hub,nats,client] [--transport tcp|unix]
 *                           [--rss-calls N] [--rss-warmup N] [--steps latency,pipeline,group,multi,stream,fanout]
 *                           [--profile] [--out FILE]
 *
 * Environment: PIPEIO_BENCH_HUB_DIST=DIR runs another build of the hub (before/after);
 * PIPEIO_BENCH_HUB_FLAGS='...' adds node flags to the hub process.
 *
 * --quick: every count / 5 but the stream's 100,000 chunks (a smoke run). --transport unix: the hub on a Unix socket (NATS
 * stays on TCP). --profile: the hub process runs under `node --cpu-prof`; its hottest
 * functions are printed (the figures of a profiled run are not comparable). --steps: only
 * these workloads (e.g. `--only hub --profile --steps pipeline` profiles pipelined RPC alone).
 * Prints a Markdown table on stdout (progress on stderr), writes JSON to --out
 * (default bench/results/hub.json). Never part of `npm test`.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Worker, startNats, stopNats, cpuSeconds, sampleRss, killAll } = require('./hub/procs');
const { latencySummary, sleep } = require('./hub/common');
const { summarizeProfile } = require('./hub/profile-summary');

const ROOT = path.resolve(__dirname, '..');
const NATS_BIN = '/usr/sbin/nats-server';

function parseArgs(argv) {
  const o = { only: ['hub', 'nats', 'client'], transport: 'tcp', quick: false, profile: false, out: path.join(__dirname, 'results', 'hub.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') o.only = argv[++i].split(',');
    else if (a === '--transport') o.transport = argv[++i];
    else if (a === '--quick') o.quick = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--steps') o.steps = argv[++i].split(',');
    else if (a === '--rss-calls') o.rssCalls = Number(argv[++i]);
    else if (a === '--rss-warmup') o.rssWarmup = Number(argv[++i]);
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** Workload sizes (scaled by --quick). */
function sizes(opts) {
  const k = opts.quick ? 0.2 : 1;
  return {
    latencyN: Math.round(20000 * k),
    warmup: 2000,
    pipelineN: opts.rssCalls ?? Math.round(1_000_000 * k),
    rssWarmupN: opts.rssWarmup ?? opts.rssCalls ?? Math.round(1_000_000 * k),
    window: 256,
    groupN: Math.round(200_000 * k),
    callers: 8,
    multiN: Math.round(400_000 * k),
    streamChunks: 100_000,
    streamReps: 3,
    subscribers: 100,
    subProcs: 4,
    fanN: Math.round(5_000 * k),
    fanReps: 3,
    fanBatch: 100,
    fanWindow: 2,
    pacedN: Math.round(1000 * k),
    pacedIntervalMs: 5,
    clientLatencyN: Math.round(10000 * k),
    clientPipelineN: Math.round(100_000 * k),
    clientMultiN: Math.round(100_000 * k),
    clientStreamReps: 1,
  };
}

const log = (...a) => console.error('hub-bench:', ...a);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** A workload whose calls failed measured nothing: stop with the first error. */
function checked(what, r) {
  if (r.errors) throw new Error(`${what}: ${r.errors} of ${r.n} calls failed, first: ${r.firstError}`);
  return r;
}

/** Live worker pids, for CPU accounting. */
const workerPids = new Set();

/** CPU% of the broker process and of all workers together over a workload (100 = one core). */
async function withCpu(pid, fn) {
  const pids = [...workerPids];
  const c0 = cpuSeconds(pid);
  const w0 = pids.map(cpuSeconds);
  const t0 = performance.now();
  const r = await fn();
  const wall = (performance.now() - t0) / 1000;
  r.brokerCpuSec = +(cpuSeconds(pid) - c0).toFixed(2);
  r.brokerCpuPct = Math.round((r.brokerCpuSec / wall) * 100);
  const w1 = pids.map(cpuSeconds);
  r.workersCpuPct = Math.round((w1.reduce((a, x, i) => a + (Number.isFinite(x) ? x - w0[i] : 0), 0) / wall) * 100);
  return r;
}

/** Starts the broker of `system` ('hub' | 'nats'); returns { addr, pid, stop(), version }. */
async function startBroker(system, opts, tmp) {
  if (system === 'nats') {
    const n = await startNats(NATS_BIN);
    return { addr: { host: n.host, port: n.port }, pid: n.pid, version: n.version, stop: () => stopNats(n) };
  }
  const execArgv = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', path.join(tmp, 'prof')] : [];
  // PIPEIO_BENCH_HUB_FLAGS='--min-semi-space-size=16': node flags for the hub process (e.g. to show
  // that RSS steps are V8 sizing its young generation, not growth with calls).
  if (process.env.PIPEIO_BENCH_HUB_FLAGS) execArgv.push(...process.env.PIPEIO_BENCH_HUB_FLAGS.split(' ').filter(Boolean));
  const w = new Worker('hub-server.js', 'hub', { execArgv });
  const addr = await w.cmd('listen', { transport: opts.transport, path: path.join(tmp, 'hub.sock') });
  return {
    addr,
    pid: w.pid,
    stats: () => w.cmd('stats'),
    stop: async () => {
      await w.cmd('stop').catch(() => undefined);
      await w.exited;
    },
  };
}

/**
 * One system under test, set up and idle: its broker, the echo/stream provider P1, the group
 * providers G1 and G2, the caller C0. `kind`: 'hub' (raw-wire workers), 'nats', 'client'
 * (HubClient workers on a hub), 'nats-request' (nc.request() callers on NATS).
 */
async function setupSystem(kind, opts, S) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeio-hub-bench-'));
  const brokerSystem = kind === 'hub' || kind === 'client' ? 'hub' : 'nats';
  const script = { hub: 'hub-worker.js', nats: 'nats-worker.js', client: 'client-worker.js', 'nats-request': 'nats-worker.js' }[kind];
  const x = { kind, opts, S, tmp, brokerSystem, workers: [], libRows: kind === 'client' || kind === 'nats-request' };
  x.res = { kind, broker: brokerSystem };
  x.latencyCmd = kind === 'nats-request' ? 'requestLatency' : 'latency';
  x.pipelineCmd = kind === 'nats-request' ? 'requestPipeline' : 'pipeline';
  x.broker = await startBroker(brokerSystem, opts, tmp);
  x.res.version = x.broker.version;
  x.mk = async (name) => {
    const w = new Worker(script, `${kind}-${name}`);
    x.workers.push(w);
    workerPids.add(w.pid);
    void w.exited.then(() => workerPids.delete(w.pid));
    await w.cmd('init', { addr: x.broker.addr, name });
    return w;
  };
  log(`${kind}: broker and providers`);
  x.p1 = await x.mk('P1');
  await x.p1.cmd('provide', { events: [{ event: 'echo' }, { event: 'stream', stream: true }] });
  x.g = [await x.mk('G1'), await x.mk('G2')];
  for (const w of x.g) await w.cmd('provide', { events: [{ event: 'gecho', group: true }] });
  x.c0 = await x.mk('C0');
  await x.c0.cmd('connect');
  return x;
}

/** The workloads, in run order; each fills x.res. */
const STEPS = {
  async latency(x) {
    const n = x.libRows ? x.S.clientLatencyN : x.S.latencyN;
    log(`${x.kind}: RPC latency, ${n} sequential calls`);
    x.res.latency = await withCpu(x.broker.pid, () => x.c0.cmd(x.latencyCmd, { n, warmup: x.S.warmup }));
    delete x.res.latency.samples; // the summary is enough for the JSON
  },
  async pipeline(x) {
    const n = x.libRows ? x.S.clientPipelineN : x.S.pipelineN;
    let warm;
    if (!x.libRows && x.S.rssWarmupN > 0) {
      // The same calls first, unmeasured: a broker's memory settles (V8 grows its young
      // generation in steps up to a fixed cap) before the measured run shows whether it is flat.
      log(`${x.kind}: ${x.S.rssWarmupN} pipelined calls of warm-up, broker RSS sampled`);
      const ws = sampleRss(x.broker.pid, 100);
      try {
        checked('pipeline warm-up', await x.c0.cmd(x.pipelineCmd, { n: x.S.rssWarmupN, window: x.S.window }, 600000));
      } finally {
        warm = ws.stop();
      }
    }
    log(`${x.kind}: ${n} pipelined calls, one connection${x.libRows ? '' : ', broker RSS sampled'}`);
    const sampler = sampleRss(x.broker.pid, 100);
    try {
      x.res.pipeline = checked('pipeline', await withCpu(x.broker.pid, () => x.c0.cmd(x.pipelineCmd, { n, window: x.S.window }, 600000)));
    } finally {
      const rss = sampler.stop();
      if (!x.libRows) x.res.rss = rssSummary(rss, n, warm && rssSummary(warm, x.S.rssWarmupN));
    }
  },
  async group(x) {
    const n = x.libRows ? x.S.clientPipelineN / 2 : x.S.groupN;
    log(`${x.kind}: ${n} group calls`);
    const before = await Promise.all(x.g.map((w) => w.cmd('counts')));
    x.res.group = checked('group', await withCpu(x.broker.pid, () => x.c0.cmd(x.pipelineCmd, { n, window: x.S.window, event: 'gecho' }, 300000)));
    const after = await Promise.all(x.g.map((w) => w.cmd('counts')));
    x.res.group.split = after.map((a, i) => a.calls - before[i].calls);
  },
  async multi(x) {
    const S = x.S;
    const per = Math.round((x.libRows ? S.clientMultiN : S.multiN) / S.callers);
    log(`${x.kind}: ${S.callers} caller processes x ${per} calls`);
    const callers = await Promise.all(Array.from({ length: S.callers }, (_, i) => x.mk(`C${i + 1}`)));
    try {
      await Promise.all(callers.map((w) => w.cmd('connect')));
      x.res.multi = await withCpu(x.broker.pid, async () => {
        const rs = await Promise.all(callers.map((w) => w.cmd(x.pipelineCmd, { n: per, window: S.window / S.callers }, 300000)));
        for (const r of rs) checked(`${S.callers} callers`, r);
        const start = Math.min(...rs.map((r) => r.startNs));
        const end = Math.max(...rs.map((r) => r.endNs));
        return { n: per * S.callers, callers: S.callers, errors: 0, perSec: Math.round((per * S.callers) / ((end - start) / 1e9)) };
      });
    } finally {
      await Promise.all(callers.map((w) => w.stop()));
    }
  },
  async stream(x) {
    const S = x.S;
    const repsN = x.libRows ? S.clientStreamReps : S.streamReps;
    log(`${x.kind}: stream of ${S.streamChunks} chunks x ${repsN}`);
    const reps = [];
    for (let i = 0; i < repsN; i++) reps.push(await withCpu(x.broker.pid, () => x.c0.cmd('stream', { n: S.streamChunks, rid: `s${i}` }, 120000)));
    x.res.stream = { chunks: S.streamChunks, reps, perSec: median(reps.map((r) => r.perSec)), ms: median(reps.map((r) => r.ms)), firstChunkMs: median(reps.map((r) => r.firstChunkMs)) };
  },
  async fanout(x) {
    if (x.libRows) return;
    log(`${x.kind}: fan-out to ${x.S.subscribers} subscribers`);
    x.res.fanout = await fanout(x.mk, x.broker, x.S);
  },
};

async function teardownSystem(x) {
  const res = x.res;
  try {
    if (x.broker?.stats) {
      res.hubStats = await x.broker.stats();
      const errs = Object.entries(res.hubStats.clientErrors || {});
      if (errs.length) (res.warnings ??= []).push(`hub reported client errors: ${errs.map(([k, v]) => `${k} x${v}`).join(', ')}`);
    }
  } catch {
    // the hub is gone; its figures are what they are
  }
  await Promise.all(x.workers.map((w) => w.stop()));
  await x.broker?.stop();
  if (x.opts.profile && x.brokerSystem === 'hub') {
    const dir = path.join(x.tmp, 'prof');
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (files.length) {
      const keepDir = path.join(os.tmpdir(), 'pipeio-hub-bench-profiles');
      fs.mkdirSync(keepDir, { recursive: true });
      const keep = path.join(keepDir, `hub-${x.kind}-${Date.now()}.cpuprofile`);
      fs.copyFileSync(path.join(dir, files[0]), keep);
      res.profile = { file: keep, ...summarizeProfile(keep, 30) };
    }
  }
  fs.rmSync(x.tmp, { recursive: true, force: true });
}

/**
 * Sets up every system of `kinds` at once, then runs each workload on each system in turn
 * (hub, NATS, hub, NATS...), so that both see the same machine load. A failed workload is
 * recorded (res.errors) and the others still run.
 */
async function runSide(kinds, opts, S) {
  const xs = [];
  try {
    for (const k of kinds) {
      try {
        xs.push(await setupSystem(k, opts, S));
      } catch (err) {
        log(`${k}: setup failed: ${err.stack || err}`);
        xs.push({ kind: k, workers: [], opts, res: { kind: k, failed: String(err.message || err) } });
      }
    }
    for (const [step, fn] of Object.entries(STEPS)) {
      if (opts.steps && !opts.steps.includes(step)) continue;
      for (const x of xs) {
        if (x.res.failed) continue;
        try {
          await fn(x);
        } catch (err) {
          log(`${x.kind}: ${step} failed: ${err.stack || err}`);
          (x.res.errors ??= {})[step] = String(err.message || err);
        }
      }
    }
  } finally {
    for (const x of xs) {
      if (x.tmp) await teardownSystem(x).catch((err) => log(`${x.kind}: teardown: ${err.message}`));
    }
  }
  return xs.map((x) => x.res);
}

async function fanout(mk, broker, S) {
  const owner = await mk('O');
  await owner.cmd('owner');
  const per = S.subscribers / S.subProcs;
  const subs = await Promise.all(Array.from({ length: S.subProcs }, (_, i) => mk(`S${i}`)));
  await Promise.all(subs.map((w) => w.cmd('subscribe', { conns: per }, 60000)));
  const waitAll = async (n, what) => {
    const deadline = Date.now() + 120000;
    for (;;) {
      const st = await Promise.all(subs.map((w) => w.cmd('subStats', { maxSamples: 0 })));
      const counts = st.flatMap((s) => s.counts);
      if (counts.every((c) => c >= n)) return;
      if (Date.now() > deadline) throw new Error(`${what}: subscribers got ${Math.min(...counts)}..${Math.max(...counts)} of ${n}`);
      await sleep(50);
    }
  };
  const collect = async () => {
    const st = await Promise.all(subs.map((w) => w.cmd('subStats', { reset: true, maxSamples: 5000 })));
    return { lastNs: Math.max(...st.map((s) => s.lastNs)), latency: latencySummary(st.flatMap((s) => s.samples)), delivered: st.flatMap((s) => s.counts).reduce((a, b) => a + b, 0) };
  };
  const reps = [];
  for (let i = 0; i < S.fanReps; i++) {
    reps.push(await withCpu(broker.pid, async () => {
      const p = await owner.cmd('publish', { n: S.fanN, batch: S.fanBatch, window: S.fanWindow }, 300000);
      await waitAll(S.fanN, 'fan-out');
      const c = await collect();
      const secs = (c.lastNs - p.startNs) / 1e9;
      return { messages: S.fanN, delivered: c.delivered, perSec: Math.round(c.delivered / secs), ms: Math.round(secs * 1000), latency: c.latency };
    }));
  }
  const loaded = { ...[...reps].sort((a, b) => a.perSec - b.perSec)[Math.floor((reps.length - 1) / 2)], reps: reps.map((x) => x.perSec) };
  const p = await owner.cmd('paced', { n: S.pacedN, intervalMs: S.pacedIntervalMs }, 120000);
  await waitAll(S.pacedN, 'paced fan-out');
  const c = await collect();
  const rate = Math.round(p.n / ((p.endNs - p.startNs) / 1e9));
  return { subscribers: S.subscribers, subscriberProcesses: S.subProcs, loaded, paced: { messages: p.n, msgPerSec: rate, delivered: c.delivered, latency: c.latency } };
}

/** start: before the run; peak: max; end: at the end; growth in the second half; warmUp: the same of the warm-up. */
function rssSummary(samples, calls, warmUp) {
  const v = samples.map((s) => s.rssMiB).filter((x) => Number.isFinite(x));
  const start = v[0];
  const end = v[v.length - 1];
  const peak = Math.max(...v);
  const mid = v[Math.floor(v.length / 2)];
  const quarter = v[Math.floor(v.length / 4)];
  // Flat: no growth over the last three quarters of the run beyond allocator noise.
  const flat = end - quarter <= 8 && peak - start <= 64;
  const r = { calls, startMiB: start, peakMiB: peak, endMiB: end, at25MiB: quarter, at50MiB: mid, growthLast75MiB: +(end - quarter).toFixed(1), flat, samples: samples.filter((_, i) => i % 5 === 0) };
  if (warmUp) r.warmUp = { calls: warmUp.calls, startMiB: warmUp.startMiB, peakMiB: warmUp.peakMiB, endMiB: warmUp.endMiB, samples: warmUp.samples };
  return r;
}

/** The side-by-side rows with ratios (hub slower by: > 1 means NATS is better) and targets. */
function compare(r) {
  const rows = [];
  const add = (workload, metric, h, n, lowerBetter, extra = {}) => {
    const ratio = h && n ? (lowerBetter ? h / n : n / h) : NaN;
    rows.push({ workload, metric, hub: h ?? null, nats: n ?? null, slowerBy: Number.isFinite(ratio) ? +ratio.toFixed(2) : null, within2x: Number.isFinite(ratio) ? ratio <= 2 : null, ...extra });
  };
  const rpcRows = (prefix, h, n) => {
    if (!h) return;
    n = n || {};
    const lib = prefix !== '';
    const p50 = h.latency?.p50us;
    const tput = h.pipeline?.perSec;
    add(`${prefix}RPC echo, sequential`, 'p50 µs', p50, n.latency?.p50us, true, lib ? {} : { target: 'p50 < 100 µs', targetMet: p50 < 100 });
    add(`${prefix}RPC echo, sequential`, 'p99 µs', h.latency?.p99us, n.latency?.p99us, true);
    add(`${prefix}RPC echo, 1 connection, ${r.sizes.window} outstanding`, 'calls/s', tput, n.pipeline?.perSec, false, lib ? {} : { target: '>= 50,000 calls/s', targetMet: tput >= 50000 });
    add(`${prefix}RPC echo, ${r.sizes.callers} caller processes`, 'calls/s', h.multi?.perSec, n.multi?.perSec, false);
    add(`${prefix}group, 2 providers`, 'calls/s', h.group?.perSec, n.group?.perSec, false, { split: `hub ${h.group?.split?.join('/') ?? '-'}${n.group ? `, NATS ${n.group.split.join('/')}` : ''}` });
    add(`${prefix}stream, ${r.sizes.streamChunks} chunks`, 'chunks/s', h.stream?.perSec, n.stream?.perSec, false);
    add(`${prefix}stream, ${r.sizes.streamChunks} chunks`, 'ms to final', h.stream?.ms, n.stream?.ms, true);
  };
  const hub = r.systems.hub;
  const nats = r.systems.nats;
  rpcRows('', hub, nats);
  if (hub) {
    const nf = nats?.fanout;
    hub.fanout ??= { loaded: { latency: {} }, paced: { latency: {} } };
    add(`fan-out, ${r.sizes.subscribers} subscribers`, 'deliveries/s', hub.fanout.loaded?.perSec, nf?.loaded?.perSec, false);
    add(`fan-out, ${r.sizes.subscribers} subscribers`, `latency p50 µs (1 msg every ${r.sizes.pacedIntervalMs} ms)`, hub.fanout.paced?.latency?.p50us, nf?.paced?.latency?.p50us, true);
    add(`fan-out, ${r.sizes.subscribers} subscribers`, 'latency p50 µs (saturated; info)', hub.fanout.loaded?.latency?.p50us, nf?.loaded?.latency?.p50us, true, { info: true });
  }
  rpcRows('HubClient vs nc.request(): ', r.systems.client, r.systems['nats-request']);
  return rows;
}

const fmt = (x) => (typeof x === 'number' ? (Number.isInteger(x) ? x.toLocaleString('en-US') : x.toLocaleString('en-US', { maximumFractionDigits: 1 })) : String(x ?? '-'));

function hubBenchTable(r) {
  const out = [];
  out.push('| workload | metric | hub | NATS | hub slower by | within 2x | target |', '|---|---|---:|---:|---:|:-:|---|');
  for (const row of r.rows) {
    const target = row.target ? `${row.target}: ${row.targetMet ? 'met' : 'MISSED'}` : row.split ? `split ${row.split}` : row.info ? 'not a target: queueing in the subscriber processes' : '';
    const w = row.within2x === null ? '-' : row.within2x ? 'yes' : 'NO';
    out.push(`| ${row.workload} | ${row.metric} | ${fmt(row.hub)} | ${fmt(row.nats)} | ${row.slowerBy === null ? '-' : `${row.slowerBy}x`} | ${w} | ${target} |`);
  }
  if (r.floor && !r.floor.failed) {
    out.push('', `_Floor: a plain Node byte relay (caller -> relay -> echo -> relay -> caller, 3 processes, no decoding) gives p50 ${r.floor.p50us} µs, p99 ${r.floor.p99us} µs for the same sequential round trip on this machine._`);
  }
  const warmCell = (w) => (w ? `${fmt(w.calls)} calls: ${w.startMiB} → ${w.endMiB} (peak ${w.peakMiB})` : '-');
  const rssRow = (name, s) => s && `| ${name} | ${warmCell(s.warmUp)} | ${fmt(s.calls)} | ${s.startMiB} | ${s.peakMiB} | ${s.endMiB} | ${s.growthLast75MiB} | ${s.flat ? 'yes' : 'NO'} |`;
  out.push('', '| broker RSS, MiB | warm-up (same calls, unmeasured) | measured calls | start | peak | end | growth over last 75% | flat |', '|---|---|---:|---:|---:|---:|---:|:-:|');
  if (r.systems.hub) out.push(rssRow('hub', r.systems.hub.rss));
  if (r.systems.nats) out.push(rssRow('nats-server', r.systems.nats.rss));
  const cols = ['latency', 'pipeline', 'multi', 'group', 'stream', 'fan-out'];
  const perOp = (x, ops) => (x && ops ? +((x.brokerCpuSec / ops) * 1e6).toFixed(1) : '-');
  const opsRows = [];
  for (const [k, s] of Object.entries(r.systems)) {
    const streamRep = s.stream ? s.stream.reps[Math.floor(s.stream.reps.length / 2)] : undefined;
    const lat = s.latency ? s.latency.n + r.sizes.warmup : 0;
    const fan = s.fanout?.loaded?.delivered;
    opsRows.push(`| ${k} | ${[perOp(s.latency, lat), perOp(s.pipeline, s.pipeline?.n), perOp(s.multi, s.multi?.n), perOp(s.group, s.group?.n), perOp(streamRep, streamRep?.chunks), perOp(s.fanout?.loaded, fan)].join(' | ')} |`);
  }
  out.push('', 'Broker CPU time per operation, µs (per call; per chunk; per delivery). Less sensitive to the machine\'s load than rates:', '', `| system | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`, ...opsRows);
  out.push('', 'CPU over each workload, broker % / all workers % (100% = one core):', '', `| system | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`);
  for (const [k, s] of Object.entries(r.systems)) {
    const cell = (x) => (x ? `${x.brokerCpuPct} / ${x.workersCpuPct}` : '-');
    const streamRep = s.stream ? s.stream.reps[Math.floor(s.stream.reps.length / 2)] : undefined;
    out.push(`| ${k} | ${[s.latency, s.pipeline, s.multi, s.group, streamRep, s.fanout?.loaded].map(cell).join(' | ')} |`);
  }
  const t = r.targets;
  if (t) out.push('', `**Targets:** every workload within 2x of NATS: ${t.within2x ? 'met' : `MISSED (${t.missed2x.join('; ')})`}; RPC p50 < 100 µs: ${t.p50 ? 'met' : 'MISSED'}; >= 50,000 calls/s on one connection: ${t.throughput ? 'met' : 'MISSED'}; RSS flat over ${fmt(r.sizes.pipelineN)} calls: ${t.rssFlat ? 'met' : 'MISSED'}.`);
  for (const [k, s] of Object.entries(r.systems)) {
    if (!s.profile) continue;
    out.push('', `Hub CPU profile (${k} run, ${s.profile.file}; self time, top functions):`, '', '| self % | function | where |', '|---:|---|---|');
    for (const f of s.profile.top) out.push(`| ${f.selfPct} | ${f.name} | ${f.where} |`);
    if (s.profile.byFile) out.push('', `By file: ${s.profile.byFile.slice(0, 12).map((f) => `${f.file} ${f.selfPct}%`).join(', ')}`);
  }
  return out.join('\n');
}

/** Sequential round trips through a plain Node byte relay (bench/hub/relay-floor.js). */
function relayFloor() {
  return new Promise((resolve, reject) => {
    const { fork } = require('node:child_process');
    const child = fork(path.join(__dirname, 'hub', 'relay-floor.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('relay floor: no result within 60 s'));
    }, 60000);
    child.once('message', (m) => {
      clearTimeout(t);
      resolve(m);
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`relay floor exited (${code})`));
    });
  });
}

function meta(opts, natsVersion) {
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}`,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    natsServer: natsVersion ?? (spawnSync(NATS_BIN, ['--version'], { encoding: 'utf8' }).stdout || '').trim(),
    natsClient: require('@nats-io/transport-node/package.json').version,
    hubTransport: opts.transport,
    quick: opts.quick,
    profiled: opts.profile,
    loadavg: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

function hubClientAvailable() {
  try {
    if (typeof require(path.join(ROOT, 'dist', 'index.js')).HubClient === 'function') return true;
    return typeof require(path.join(ROOT, 'dist', 'hub', 'client', 'index.js')).HubClient === 'function';
  } catch {
    return false;
  }
}

/** Runs everything asked for; returns the results object (see hubBenchTable). */
async function hubBench(options = {}) {
  const opts = { ...parseArgs([]), ...options };
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const S = sizes(opts);
  const t0 = performance.now();
  const r = { meta: meta(opts), sizes: S, systems: {}, notes: [] };
  log('floor: plain Node byte relay');
  r.floor = await relayFloor().catch((err) => ({ failed: String(err.message || err) }));
  const kinds = [];
  if (opts.only.includes('hub')) kinds.push('hub');
  if (opts.only.includes('nats')) kinds.push('nats');
  if (opts.only.includes('client')) {
    if (hubClientAvailable()) kinds.push('client', 'nats-request');
    else r.notes.push('HubClient rows skipped: dist/ has no HubClient');
  }
  const sides = [kinds.filter((k) => k === 'hub' || k === 'nats'), kinds.filter((k) => k === 'client' || k === 'nats-request')];
  for (const side of sides) {
    if (side.length === 0) continue;
    for (const res of await runSide(side, opts, S)) r.systems[res.kind] = res;
  }
  for (const [k, s] of Object.entries(r.systems)) {
    for (const w of s.warnings || []) r.notes.push(`${k}: ${w}`);
    for (const [step, e] of Object.entries(s.errors || {})) r.notes.push(`${k}: ${step} failed: ${e}`);
    if (s.failed) {
      r.notes.push(`${k} failed: ${s.failed}`);
      delete r.systems[k];
    }
  }
  r.rows = compare(r);
  const hub = r.systems.hub;
  if (hub && r.systems.nats) {
    r.targets = {
      within2x: r.rows.filter((x) => !x.workload.startsWith('HubClient') && !x.info).every((x) => x.within2x),
      missed2x: r.rows.filter((x) => !x.workload.startsWith('HubClient') && !x.info && !x.within2x).map((x) => `${x.workload} ${x.metric} ${x.slowerBy}x`),
      p50: hub.latency?.p50us < 100,
      throughput: hub.pipeline?.perSec >= 50000,
      rssFlat: !!hub.rss?.flat,
    };
  }
  r.meta.totalSeconds = +((performance.now() - t0) / 1000).toFixed(1);
  r.meta.loadavgAtEnd = os.loadavg().map((x) => +x.toFixed(2));
  return r;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const watchdog = setTimeout(() => {
    log('watchdog: not done after 15 min, killing children');
    killAll();
    process.exit(1);
  }, 15 * 60 * 1000);
  watchdog.unref();
  const r = await hubBench(opts);
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(r, null, 2) + '\n');
  console.log(`# Hub vs NATS\n\n${r.meta.date}, Node ${r.meta.node}, ${r.meta.cpus}, ${r.meta.natsServer}, hub over ${r.meta.hubTransport}${opts.quick ? ', QUICK (counts / 5)' : ''}\n`);
  console.log(hubBenchTable(r));
  for (const n of r.notes) console.log(`\n_${n}_`);
  console.log(`\n_Total ${r.meta.totalSeconds} s. JSON: ${path.relative(process.cwd(), opts.out)}_`);
}

module.exports = { hubBench, hubBenchTable };

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    killAll();
    process.exitCode = 1;
  });
}
