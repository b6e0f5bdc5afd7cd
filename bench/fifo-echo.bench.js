'use strict';
/**
 * FIFO echo benchmark: the same external C client (bench/c/client.c) against
 *   c           bench/c/echo_server.c, one thread (read a line, write it): the limit of this
 *               machine for small messages and round trips
 *   c-threaded  bench/c/echo_threaded.c, a reader and a writer thread with a queue between them
 *               (the design of the threaded servers here): the limit for big messages
 *   python      bench/servers/python_original.py, a stdlib port of the design of the Python
 *               original pipe-io-server (reader thread + readline, writer thread + deque)
 *   ours        bench/servers/ours.js, PipeIOServer, per-message API:
 *               handleMessage = m => server.sendMessage(m)   (the default API)
 *   ours-batch  bench/servers/ours.js --batch, PipeIOServer, opt-in batch API:
 *               handleMessages = batch => server.sendMessages(batch)
 *   naive       bench/servers/naive.js, fs streams + readline (not run by default)
 *
 * Two ways, each a fresh server process and ONE client connection running phases in order:
 *   warm        warm-up: 1,000,000 x 100 B pipelined, then 64 x 1 MiB (not reported); then
 *               measured: 1,000,000 x 100 B pipelined (msgs/s), 256 x 1 MiB (MB/s), 10,000
 *               round trips of 100 B one at a time after 1,000 unreported ones (p50/p99 us)
 *   cold-small  a server just started: 20,000 x 100 B warm-up, then 200,000 x 100 B (msgs/s)
 *   cold-big    a server just started: 20,000 x 100 B warm-up, then 64 x 1 MiB (MB/s): the
 *               first 64 MiB of big messages the server ever sees
 * Peak RSS is VmHWM of the server process (sampled every 20 ms); the RSS at READY is the
 * baseline; the client reports the most message bytes in flight (written, not yet read back).
 * Runs are interleaved (rep 1 of every server and scenario, then rep 2, ...); tables show
 * the median of `reps` (default 3).
 *
 * Standalone: node bench/fifo-echo.bench.js [--reps 3] [--servers c,python,ours,ours-batch]
 *             [--scenarios warm,cold-small,cold-big]
 * Before/after in one run: PIPEIO_BENCH_BUILDS='before=/path/to/old/checkout/dist' adds a server
 * "before" (bench/servers/ours.js on that build). A `+bigpipe` suffix (`--servers ours,ours+bigpipe`)
 * runs a server with both FIFOs resized to 1 MiB by the client (F_SETPIPE_SZ, Linux).
 */
const path = require('node:path');
const u = require('./lib/util');

const MiB = 1 << 20;
/** phases: t:N:SIZE throughput, r:N:SIZE round trips; measure: phase index -> metric name. */
const SCENARIOS = {
  warm: {
    phases: ['t:1000000:100', `t:64:${MiB}`, 't:1000000:100', `t:256:${MiB}`, 'r:10000:100'],
    measure: { 2: 'small', 3: 'big', 4: 'rtt' },
  },
  'cold-small': { phases: ['t:20000:100', 't:200000:100'], measure: { 1: 'small' } },
  'cold-big': { phases: ['t:20000:100', `t:64:${MiB}`], measure: { 1: 'big' } },
};

const NODE = () => process.execPath;
const BUILTIN = {
  c: { cmd: () => u.C_ECHO_SERVER, args: [], makesPipes: false, exitsAtEof: true },
  'c-threaded': { cmd: () => u.C_ECHO_THREADED, args: [], makesPipes: false, exitsAtEof: true },
  python: { cmd: () => 'python3', args: [path.join(__dirname, 'servers', 'python_original.py')], makesPipes: false },
  ours: { cmd: NODE, args: [path.join(__dirname, 'servers', 'ours.js')], makesPipes: true },
  'ours-batch': { cmd: NODE, args: [path.join(__dirname, 'servers', 'ours.js'), '--batch'], makesPipes: true },
  naive: { cmd: NODE, args: [path.join(__dirname, 'servers', 'naive.js')], makesPipes: false, exitsAtEof: true },
};
const SERVERS = { ...BUILTIN };
// PIPEIO_BENCH_BUILDS='before=/path/to/old/dist,...': more PipeIOServer builds, run beside the others.
for (const spec of (process.env.PIPEIO_BENCH_BUILDS || '').split(',').filter(Boolean)) {
  const [name, dist] = spec.split('=');
  SERVERS[name] = { ...SERVERS.ours, env: { ...process.env, PIPEIO_DIST: dist } };
}
const DEFAULT_SERVERS = ['c', 'c-threaded', 'python', 'ours', 'ours-batch', ...Object.keys(SERVERS).filter((n) => !(n in BUILTIN))];

/**
 * A server name with the suffix `+bigpipe` (e.g. `ours+bigpipe`, `c+bigpipe`) runs that server
 * with a client that resizes both FIFOs to BIG_PIPE bytes (PIPE_SZ, F_SETPIPE_SZ): the
 * F_SETPIPE_SZ experiment of docs/bench.md, side by side with the 64 KiB pipes in one run.
 */
const BIG_PIPE = 1024 * 1024;

/** One fresh server + one client run of all phases. Returns metrics plus server facts. */
async function runOnce(serverName, scenario) {
  const bigPipe = serverName.endsWith('+bigpipe');
  const spec = SERVERS[bigPipe ? serverName.slice(0, -'+bigpipe'.length) : serverName];
  if (!spec) throw new Error(`unknown server ${serverName}`);
  const sc = SCENARIOS[scenario];
  const dir = u.makeTmpDir(serverName);
  const inPipe = path.join(dir, 'in');
  const outPipe = path.join(dir, 'out');
  const result = { server: serverName, scenario };
  let server;
  try {
    if (!spec.makesPipes) {
      u.mkfifo(inPipe);
      u.mkfifo(outPipe);
    }
    server = u.run(spec.cmd(), [...spec.args, inPipe, outPipe], { timeoutMs: 180000, env: spec.env });
    await u.waitForLine(server.child, /^READY$/m, 10000, 'READY');
    result.baseRssKiB = u.vmRSS(server.child.pid);
    let hwm = 0;
    const sampler = setInterval(() => {
      hwm = Math.max(hwm, u.vmHWM(server.child.pid) ?? 0);
    }, 20);
    const clientEnv = bigPipe ? { ...process.env, PIPE_SZ: String(BIG_PIPE) } : undefined;
    const client = u.run(u.CLIENT, [outPipe, inPipe, 'phases', ...sc.phases], { timeoutMs: 150000, env: clientEnv });
    const c = await client.exited;
    clearInterval(sampler);
    hwm = Math.max(hwm, u.vmHWM(server.child.pid) ?? 0);
    const lines = c.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    for (const line of lines) {
      const metric = sc.measure[line.phase];
      if (metric) result[metric] = line;
    }
    if (c.code !== 0) {
      result.error = `client ${c.timedOut ? 'timed out' : `exited ${c.code ?? c.signal}`}: ${c.stderr.trim()}`;
    } else if (lines.length !== sc.phases.length) {
      result.error = `client ended after ${lines.length} of ${sc.phases.length} phases: ${c.stdout.trim().split('\n').pop()}`;
    }
    // c leaves at EOF (2 s grace); the others on SIGTERM; 5 s deadline, then SIGKILL.
    if (spec.exitsAtEof) await u.within(server.exited, 2000);
    if (server.child.exitCode === null && server.child.signalCode === null) {
      const t0 = performance.now();
      server.child.kill('SIGTERM');
      const killer = setTimeout(() => u.killGroup(server.child), 5000);
      const s = await server.exited;
      clearTimeout(killer);
      result.serverExitMs = performance.now() - t0;
      if (s.signal === 'SIGKILL') result.error = (result.error ? result.error + '; ' : '') + 'server did not exit within 5 s of SIGTERM';
    }
    const s = await server.exited;
    const m = s.stdout.match(/MAXRSS_KB (\d+)/);
    result.rssKiB = Math.max(hwm, m ? Number(m[1]) : 0) || undefined;
    const gap = s.stdout.match(/MAXGAP ([\d.]+)/);
    if (gap) result.maxGapMs = Number(gap[1]);
    const st = s.stdout.match(/STOPPED ([\d.]+) ERRORS (\d+)/);
    if (st) {
      result.stopMs = Number(st[1]);
      result.serverErrors = Number(st[2]);
    }
    if (s.stderr.trim()) result.serverStderr = s.stderr.trim().slice(0, 500);
  } catch (err) {
    result.error = err.message;
  } finally {
    if (server) u.killGroup(server.child);
    u.rmTmpDir(dir);
  }
  return result;
}

/**
 * Runs every scenario `reps` times for each server, interleaved.
 * @returns {{ runs: object[], summary: object, notes: string[] }} summary[server][scenario] holds medians.
 */
async function fifoEcho({ reps = 3, servers = DEFAULT_SERVERS, scenarios = Object.keys(SCENARIOS), log = console.error } = {}) {
  u.buildC();
  const notes = [];
  if (servers.some((s) => s.startsWith('ours')) && !u.oursAvailable()) {
    notes.push('ours skipped: dist/ does not export PipeIOServer (run `npm run build`)');
    servers = servers.filter((s) => !s.startsWith('ours'));
  }
  const runs = [];
  const byKey = new Map();
  for (let i = 0; i < reps; i++) {
    for (const server of servers) {
      for (const scenario of scenarios) {
        const r = await runOnce(server, scenario);
        log(`  fifo-echo #${i + 1} ${server} ${scenario}: ${r.error ? 'ERROR ' + r.error : brief(r)}`);
        runs.push(r);
        const key = `${server}/${scenario}`;
        if (!byKey.has(key)) byKey.set(key, []);
        byKey.get(key).push(r);
      }
    }
  }
  const summary = {};
  for (const server of servers) {
    summary[server] = {};
    for (const scenario of scenarios) {
      const rs = byKey.get(`${server}/${scenario}`);
      const ok = rs.filter((r) => !r.error);
      const pick = (metric, key) => ok.map((r) => r[metric]?.[key]);
      summary[server][scenario] = {
        runs: rs.length,
        failed: rs.length - ok.length,
        msgsPerS: u.median(pick('small', 'msgs_per_s')),
        msgsPerSAll: pick('small', 'msgs_per_s').filter(Boolean),
        mbPerS: u.median(pick('big', 'mb_per_s')),
        mbPerSAll: pick('big', 'mb_per_s').filter(Boolean),
        bigInflightMiB: u.max(pick('big', 'max_inflight_bytes')) / MiB || undefined,
        p50Us: u.median(pick('rtt', 'p50_us')),
        p99Us: u.median(pick('rtt', 'p99_us')),
        p999Us: u.median(pick('rtt', 'p999_us')),
        rssKiB: u.max(rs.map((r) => r.rssKiB)),
        baseRssKiB: u.median(rs.map((r) => r.baseRssKiB)),
        stopMs: u.median(rs.map((r) => r.stopMs)),
        maxGapMs: u.median(rs.map((r) => r.maxGapMs)),
        errors: rs.filter((r) => r.error).map((r) => r.error),
      };
    }
  }
  return { runs, summary, notes };
}

function brief(r) {
  const parts = [];
  if (r.small) parts.push(`${Math.round(r.small.msgs_per_s)} msgs/s`);
  if (r.big) parts.push(`${r.big.mb_per_s} MB/s (in flight <= ${(r.big.max_inflight_bytes / MiB).toFixed(1)} MiB)`);
  if (r.rtt) parts.push(`p50 ${r.rtt.p50_us} us, p99 ${r.rtt.p99_us} us`);
  parts.push(`rss ${r.rssKiB} KiB (base ${r.baseRssKiB})`);
  if (r.maxGapMs !== undefined) parts.push(`stall ${r.maxGapMs} ms`);
  return parts.join(', ');
}

/** Markdown tables of a fifoEcho() summary, with ratios against C and the Python original. */
function fifoEchoTable(summary) {
  const get = (name, sc) => summary[name]?.[sc] ?? {};
  const ratio = (x, base) => (x && base ? (x / base).toFixed(2) : '-');
  const out = [];
  const warmRows = [
    '**Warm** (warm-up: 1,000,000 x 100 B then 64 x 1 MiB on the same connection; then measured)',
    '',
    '| server | 100 B msgs/s | vs C | 1 MiB MB/s | vs best C | vs Python | RTT p50 us | p99 us | p50 vs C | vs Python |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const c = get('c', 'warm');
  const py = get('python', 'warm');
  // Big messages: the faster of the two C echoes is the machine's limit (c-threaded overlaps
  // reading and writing as the threaded servers do; c does one after the other).
  const bestC = (sc) => Math.max(get('c', sc).mbPerS || 0, get('c-threaded', sc).mbPerS || 0) || undefined;
  for (const name of Object.keys(summary)) {
    const s = get(name, 'warm');
    if (!s.runs) continue;
    warmRows.push(`| ${name} | ${u.fmt(s.msgsPerS, 0)} | ${ratio(s.msgsPerS, c.msgsPerS)} | ${u.fmt(s.mbPerS, 0)} | ` +
      `${ratio(s.mbPerS, bestC('warm'))} | ${ratio(s.mbPerS, py.mbPerS)} | ${u.fmt(s.p50Us)} | ${u.fmt(s.p99Us)} | ` +
      `${ratio(s.p50Us, c.p50Us)} | ${ratio(s.p50Us, py.p50Us)} |`);
  }
  out.push(...warmRows, '');
  const cs = get('c', 'cold-small');
  const ps = get('python', 'cold-small');
  const pb = get('python', 'cold-big');
  out.push('**Cold** (a fresh server per run: 20,000 x 100 B of warm-up, then the measured run)', '',
    '| server | 200,000 x 100 B msgs/s | vs C | vs Python | 64 x 1 MiB MB/s | vs best C | vs Python |',
    '|---|---:|---:|---:|---:|---:|---:|');
  for (const name of Object.keys(summary)) {
    const s = get(name, 'cold-small');
    const b = get(name, 'cold-big');
    if (!s.runs && !b.runs) continue;
    out.push(`| ${name} | ${u.fmt(s.msgsPerS, 0)} | ${ratio(s.msgsPerS, cs.msgsPerS)} | ${ratio(s.msgsPerS, ps.msgsPerS)} | ` +
      `${u.fmt(b.mbPerS, 0)} | ${ratio(b.mbPerS, bestC('cold-big'))} | ${ratio(b.mbPerS, pb.mbPerS)} |`);
  }
  out.push('', '| server | RSS at READY MiB | peak RSS MiB: warm | cold 100 B | cold 1 MiB | most 1 MiB bytes in flight MiB (cold) | event-loop stall ms: warm | cold 1 MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const name of Object.keys(summary)) {
    const w = get(name, 'warm');
    const s = get(name, 'cold-small');
    const b = get(name, 'cold-big');
    out.push(`| ${name} | ${u.fmt(b.baseRssKiB / 1024)} | ${u.fmt(w.rssKiB / 1024)} | ${u.fmt(s.rssKiB / 1024)} | ${u.fmt(b.rssKiB / 1024)} | ` +
      `${u.fmt(b.bigInflightMiB)} | ${u.fmt(w.maxGapMs, 0)} | ${u.fmt(b.maxGapMs, 0)} |`);
  }
  const failures = [];
  for (const [name, s] of Object.entries(summary)) {
    for (const [sc, v] of Object.entries(s)) {
      if (v.failed) failures.push(`- ${name} ${sc}: ${v.failed}/${v.runs} runs failed: ${[...new Set(v.errors)].join(' | ')}`);
    }
  }
  return out.concat(failures.length ? ['', ...failures] : []).join('\n');
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--reps') opts.reps = Number(argv[++i]);
    else if (argv[i] === '--servers') opts.servers = argv[++i].split(',');
    else if (argv[i] === '--scenarios') opts.scenarios = argv[++i].split(',');
  }
  return opts;
}

module.exports = { fifoEcho, fifoEchoTable, parseArgs, SCENARIOS };

if (require.main === module) {
  fifoEcho(parseArgs(process.argv.slice(2))).then(({ summary, notes }) => {
    console.log(fifoEchoTable(summary));
    for (const n of notes) console.log(`\n_${n}_`);
  }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
