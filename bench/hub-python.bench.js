'use strict';
/**
 * Python clients through our hub and through comm-ipc's (issue 20 section 5): the Python
 * re-creation of comm-ipc (test/fixtures/python/comm_ipc) as provider, consumer, publisher
 * and subscriber, every party its own process (bench/hub/python_flow.py), the hubs alternating
 * in one run so that they see the same machine load.
 *
 *   1. stream: 50,000 chunks {"chunk": i} from an async-generator provider to one consumer
 *      iterating channel.stream(...): chunks/s, and the consumer's CPU seconds;
 *   2. pub/sub latency: 5,000 {"t": perf_counter()} published as fast as the publisher can
 *      (asyncio.sleep(0) every 100) to a subscriber in another process that records
 *      perf_counter() - t: mean, p50, p99, max; and where the time went (publisher done,
 *      first and last receive).
 *
 *   node bench/hub-python.bench.js [--reps 3] [--servers ours,comm-ipc] [--transport unix|tcp]
 *                                  [--chunks 50000] [--messages 5000] [--every 100] [--out FILE]
 *
 * Servers: `ours` is dist/ (npm run build first); `ours-small` the same with maxQueueBytes
 * 256 KiB (it holds producers once 64 KiB wait for a receiver: where a backlog waits moves
 * from the hub to the producer); `base` is another build of the hub given by
 * PIPEIO_BENCH_HUB_DIST=DIR (a before/after comparison); `comm-ipc` is the Python re-creation's
 * server. Python: $PIO_PYTHON, else python3 (it needs msgpack). Prints a Markdown table;
 * writes JSON to --out (default bench/results/hub-python.json). Never part of `npm test`.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { spawn } = require('node:child_process');
const { Worker, killAll, cpuSeconds } = require('./hub/procs');

const ROOT = path.resolve(__dirname, '..');
const PY = process.env.PIO_PYTHON || 'python3';
const PY_ROOT = path.join(ROOT, 'test', 'fixtures', 'python');
const PARTY = path.join(__dirname, 'hub', 'python_flow.py');
const log = (...a) => console.error('hub-python-bench:', ...a);

function parseArgs(argv) {
  const o = { reps: 3, servers: ['ours', 'comm-ipc'], transport: 'unix', chunks: 50000, messages: 5000, every: 100, workUs: 0, out: path.join(__dirname, 'results', 'hub-python.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--reps') o.reps = Number(argv[++i]);
    else if (a === '--servers') o.servers = argv[++i].split(',');
    else if (a === '--transport') o.transport = argv[++i];
    else if (a === '--chunks') o.chunks = Number(argv[++i]);
    else if (a === '--messages') o.messages = Number(argv[++i]);
    else if (a === '--every') o.every = Number(argv[++i]);
    else if (a === '--work-us') o.workUs = Number(argv[++i]);
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** A Python process printing JSON lines; `line(pred)` waits for one. */
function python(args, what) {
  const child = spawn(PY, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONPATH: PY_ROOT } });
  const lines = [];
  let waiters = [];
  let stderr = '';
  let exited = false;
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l.startsWith('READY ') ? l.slice(6) : l));
    } catch {
      lines.push({ text: l });
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  child.on('exit', () => {
    exited = true;
    for (const w of waiters.splice(0)) w();
  });
  return {
    child,
    async line(pred, timeout = 120000) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const i = lines.findIndex(pred);
        if (i >= 0) return lines.splice(i, 1)[0];
        if (exited) throw new Error(`${what} exited: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`${what}: nothing within ${timeout} ms: ${stderr}`);
        await new Promise((r) => {
          const t = setTimeout(r, Math.max(1, deadline - Date.now()));
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
    send(text = 'go') {
      child.stdin.write(`${text}\n`);
    },
    async stop() {
      if (exited) return;
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await new Promise((r) => child.once('exit', r));
      clearTimeout(t);
    },
  };
}

/** Starts a hub; returns { addr, pid, stop() }. */
async function startServer(name, opts, tmp) {
  const sock = path.join(tmp, `${name}.sock`);
  if (name === 'comm-ipc') {
    const args = ['-m', 'comm_ipc.cli', 'server', ...(opts.transport === 'tcp' ? ['--host', '127.0.0.1', '--port', '0'] : ['--socket', sock])];
    const p = python(args, 'comm-ipc server');
    const ready = await p.line((l) => l.server_id !== undefined, 20000);
    const addr = opts.transport === 'tcp' ? `127.0.0.1:${ready.port}` : sock;
    return { addr, pid: p.child.pid, stop: () => p.stop() };
  }
  const env = { ...process.env };
  // ours-small: our hub holding producers early (maxQueueBytes 256 KiB: high-water mark 64 KiB).
  const options = name === 'ours-small' ? { maxQueueBytes: 256 * 1024 } : {};
  if (name === 'ours' || name === 'ours-small') delete env.PIPEIO_BENCH_HUB_DIST;
  else if (!env.PIPEIO_BENCH_HUB_DIST) throw new Error(`server ${name}: set PIPEIO_BENCH_HUB_DIST to the other build's dist/`);
  const w = new Worker('hub-server.js', name, { env });
  const a = await w.cmd('listen', { transport: opts.transport, path: sock, options });
  const addr = opts.transport === 'tcp' ? `${a.host ?? '127.0.0.1'}:${a.port}` : sock;
  return {
    addr,
    pid: w.pid,
    stop: async () => {
      await w.cmd('stop').catch(() => undefined);
      await w.exited;
    },
  };
}

async function streamRun(srv, opts) {
  const prov = python([PARTY, 'provider', srv.addr], 'provider');
  const cons = python([PARTY, 'consumer', srv.addr, String(opts.chunks), String(opts.workUs)], 'consumer');
  try {
    await prov.line((l) => l.ready);
    await cons.line((l) => l.ready);
    const c0 = cpuSeconds(srv.pid);
    cons.send();
    const r = await cons.line((l) => l.chunks !== undefined);
    r.hubCpuSeconds = +(cpuSeconds(srv.pid) - c0).toFixed(2);
    const p = await prov.line((l) => l.generated !== undefined);
    r.providerCpuSeconds = p.cpuSeconds;
    // How long before the consumer's end the provider had produced everything (where the chunks waited).
    r.providerDoneMs = (p.end - r.start) * 1000;
    return r;
  } finally {
    await Promise.all([cons.stop(), prov.stop()]);
  }
}

async function pubsubRun(srv, opts) {
  const sub = python([PARTY, 'subscriber', srv.addr, String(opts.messages)], 'subscriber');
  const pub = python([PARTY, 'publisher', srv.addr, String(opts.messages), String(opts.every)], 'publisher');
  try {
    await pub.line((l) => l.ready);
    await sub.line((l) => l.ready);
    pub.send();
    const p = await pub.line((l) => l.published !== undefined);
    const s = await sub.line((l) => l.received !== undefined);
    pub.send();
    return {
      meanMs: s.meanMs,
      p50Ms: s.p50Ms,
      p99Ms: s.p99Ms,
      maxMs: s.maxMs,
      publishMs: p.seconds * 1000,
      // Where the messages wait: the publisher's loop, then the hub and the subscriber.
      firstRecvMs: (s.firstRecv - p.start) * 1000,
      lastRecvMs: (s.lastRecv - p.start) * 1000,
      lastRecvAfterPublishMs: (s.lastRecv - p.end) * 1000,
    };
  } finally {
    await Promise.all([sub.stop(), pub.stop()]);
  }
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeio-hub-python-'));
  const watchdog = setTimeout(() => {
    log('watchdog: not done after 20 min');
    killAll();
    process.exit(1);
  }, 20 * 60 * 1000);
  watchdog.unref();
  const res = { meta: { date: new Date().toISOString(), node: process.version, python: PY, transport: opts.transport, loadavg: os.loadavg() }, opts, runs: {} };
  const servers = {};
  try {
    for (const name of opts.servers) {
      servers[name] = await startServer(name, opts, tmp);
      res.runs[name] = { stream: [], pubsub: [] };
    }
    for (let rep = 0; rep < opts.reps; rep++) {
      // Alternate the order too, so no server always runs first.
      const order = rep % 2 === 0 ? opts.servers : [...opts.servers].reverse();
      for (const name of order) {
        log(`rep ${rep + 1}/${opts.reps}: ${name}: stream of ${opts.chunks}`);
        res.runs[name].stream.push(await streamRun(servers[name], opts));
      }
      for (const name of order) {
        log(`rep ${rep + 1}/${opts.reps}: ${name}: pub/sub latency, ${opts.messages} messages`);
        res.runs[name].pubsub.push(await pubsubRun(servers[name], opts));
      }
    }
  } finally {
    for (const s of Object.values(servers)) await s.stop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  res.meta.loadavgAtEnd = os.loadavg();
  const out = [];
  out.push(`# Python clients through each hub (${opts.transport}, ${opts.reps} reps, medians; load ${res.meta.loadavg.map((x) => x.toFixed(1)).join(' ')})`, '');
  out.push('| hub | stream chunks/s | (each rep) | consumer CPU s | consumer reads (KiB each) | provider CPU s | provider done at, ms | consumer done at, ms | hub CPU s | pub/sub mean ms | p50 | p99 | max | publish ms | last receive, ms from publish start |');
  out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const name of opts.servers) {
    const r = res.runs[name];
    const m = (k, xs) => median(xs.map((x) => x[k]));
    out.push(
      `| ${name} | ${f0(m('perSec', r.stream))} | ${r.stream.map((x) => f0(x.perSec)).join(', ')} | ${f1(m('cpuSeconds', r.stream))} | ${f0(m('reads', r.stream))} (${f1(m('readBytes', r.stream) / m('reads', r.stream) / 1024)}) | ${f1(m('providerCpuSeconds', r.stream))} | ${f0(m('providerDoneMs', r.stream))} | ${f0(m('seconds', r.stream) * 1000)} | ${f1(m('hubCpuSeconds', r.stream))} | ${f1(m('meanMs', r.pubsub))} | ${f1(m('p50Ms', r.pubsub))} | ${f1(m('p99Ms', r.pubsub))} | ${f1(m('maxMs', r.pubsub))} | ${f1(m('publishMs', r.pubsub))} | ${f1(m('lastRecvMs', r.pubsub))} |`,
    );
  }
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(res, null, 2) + '\n');
  console.log(out.join('\n'));
}

main().catch((err) => {
  console.error(err);
  killAll();
  process.exitCode = 1;
});
