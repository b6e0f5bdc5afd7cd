'use strict';
/**
 * Hub plugin throughput: calls/s answered by a C plugin provider (hub.attachPlugin, line and
 * rpc mode, over its FIFO pair) next to a Node provider (a separate process on the hub's
 * wire), in the same run. Callers are separate processes pipelining calls over the raw wire
 * (the package's codec from dist/), `--window` calls in flight each; every answer is checked
 * against its call (`wrong`: an answer that carried another call's data).
 *
 *   npm run build && node bench/hub-plugin.bench.js [--seconds S] [--callers N] [--window W] [--json FILE]
 *        [--only c-line,c-line-p256,c-rpc,c-line-x2,c-line-miss,bash-jq,node] [--miss-every N]
 *        [--baseline OTHER_DIST_DIR] [--rounds R]
 *
 * Events: c-line (line mode, default pipeline: 1 call written at a time per instance),
 * c-line-p256 (line mode, pipeline: 256), c-rpc, c-line-x2 (line mode, 2 instances),
 * c-line-miss (2 instances of a plugin that writes nothing for the data "skip"; every
 * --miss-every-th call (default 5000) of each caller is "skip"; timeout 200 ms),
 * bash-jq (a bash loop running jq per line, the README's kind of plugin), node.
 *
 * --baseline DIR runs the same on a second hub from another build (`dist/` of another
 * checkout, e.g. the commit before a change), each event on both hubs one after the other,
 * alternating which goes first, R rounds: before/after side by side in one run.
 *
 * Roles (internal): `--role caller ADDR_JSON` and `--role node-provider ADDR_JSON`.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const CHANNEL = 'bench';
const DATA = { text: 'hello hub plugin', n: 42 };

function dist(rel) {
  const file = path.join(DIST, rel);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return require(file);
}

// -- the raw wire, minimal -----------------------------------------------------------------
class Conn {
  constructor(socket) {
    const { FrameReader } = dist('hub/protocol/frame-reader.js');
    const { decodeClientFrame } = dist('hub/protocol/codec.js');
    this.socket = socket;
    this.onFrame = () => undefined;
    const reader = new FrameReader(1 << 30);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      for (const payload of reader.push(chunk)) this.onFrame(decodeClientFrame(payload));
      this.flush();
    });
    socket.on('error', () => undefined);
    this.out = [];
  }
  static connect(addr, id) {
    const { encodeFrame } = dist('hub/protocol/codec.js');
    return new Promise((resolve, reject) => {
      const s = net.connect(addr, () => {
        const c = new Conn(s);
        c.onFrame = (f) => (f.type === 'identified' ? resolve(c) : reject(new Error(JSON.stringify(f))));
        s.write(encodeFrame({ type: 'identify', client_id: id }));
      });
      s.once('error', reject);
    });
  }
  queue(buf) {
    this.out.push(buf);
  }
  flush() {
    if (this.out.length === 0) return;
    this.socket.write(this.out.length === 1 ? this.out[0] : Buffer.concat(this.out));
    this.out = [];
  }
}

/**
 * Caller process: pipelines calls to EVENT with WINDOW in flight until told to stop; reports
 * counts. Each call's data carries its number; an answer with another number is `wrong`.
 * With MISS_EVERY > 0, every MISS_EVERY-th call sends "skip" instead.
 */
async function callerRole(addr, event, window, id, missEvery) {
  const { encodeFrame } = dist('hub/protocol/codec.js');
  const conn = await Conn.connect(addr, id);
  const sent = new Map();
  let seq = 0;
  let done = 0;
  let counting = false;
  let counted = 0;
  let errors = 0;
  let wrong = 0;
  const codes = {};
  const sendOne = () => {
    const n = ++seq;
    const data = missEvery > 0 && n % missEvery === 0 ? 'skip' : { ...DATA, n };
    sent.set(`r${n}`, data);
    conn.queue(encodeFrame({ type: 'call', channel: CHANNEL, event, data, request_id: `r${n}`, is_final: true }));
  };
  conn.onFrame = (f) => {
    if (f.type !== 'response') return;
    const asked = sent.get(f.request_id);
    sent.delete(f.request_id);
    done++;
    if (counting) {
      counted++;
      if ('error' in f) {
        errors++;
        codes[f.code] = (codes[f.code] ?? 0) + 1;
      } else if (asked === 'skip' || asked === undefined || f.data?.n !== asked.n) {
        wrong++;
      }
    }
    sendOne();
  };
  process.on('message', (m) => {
    if (m === 'start') {
      counted = 0;
      counting = true;
    } else if (m === 'stop') {
      counting = false;
      process.send({ counted, errors, wrong, codes, done });
      conn.socket.destroy();
      process.exit(0);
    }
  });
  for (let i = 0; i < window; i++) sendOne();
  conn.flush();
  process.send('ready');
}

/** Node provider process: answers EVENT calls with their data. */
async function nodeProviderRole(addr, event) {
  const { encodeFrame } = dist('hub/protocol/codec.js');
  const conn = await Conn.connect(addr, 'node-provider');
  conn.onFrame = (f) => {
    if (f.type === 'call') conn.queue(encodeFrame({ type: 'response', request_id: f.request_id, target_id: f.sender_id, data: f.data }));
    else if (f.type === 'response' && f.request_id === 'reg' && 'data' in f) process.send('ready');
  };
  conn.socket.write(encodeFrame({ type: 'register', request_id: 'reg', channel: CHANNEL, is_provider: true, event, is_stream: false, is_group: false }));
  // a long run would otherwise outlast the hub's idle timeout (60 s) before its turn comes
  setInterval(() => conn.socket.write(encodeFrame({ type: 'ping' })), 20000).unref();
}

// -- orchestrator --------------------------------------------------------------------------
/** ns the hub's main thread has run on a CPU (Linux: /proc schedstat), or undefined elsewhere. */
function mainThreadNs() {
  try {
    return Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

function child(args) {
  return spawn(process.execPath, [__filename, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function once(proc, what) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      proc.removeListener('exit', onExit);
      proc.removeListener('message', onMessage);
      resolve(m);
    };
    const onExit = (code) => reject(new Error(`${what} exited (${code})`));
    proc.on('message', onMessage);
    proc.once('exit', onExit);
  });
}

async function measure(addr, event, o) {
  const missEvery = event === 'c-line-miss' ? o.missEvery : 0;
  const callers = Array.from({ length: o.callers }, (_, i) =>
    child(['--role', 'caller', JSON.stringify(addr), event, String(o.window), `caller-${event}-${i}`, String(missEvery)]),
  );
  await Promise.all(callers.map((c) => once(c, 'caller')));
  await new Promise((r) => setTimeout(r, o.warmup * 1000)); // warm-up (JIT, buffers)
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadNs();
  callers.forEach((c) => c.send('start'));
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  const results = await Promise.all(
    callers.map((c) => {
      const p = once(c, 'caller');
      c.send('stop');
      return p;
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadNs();
  const counted = results.reduce((a, r) => a + r.counted, 0);
  const errors = results.reduce((a, r) => a + r.errors, 0);
  const wrong = results.reduce((a, r) => a + r.wrong, 0);
  const codes = {};
  for (const r of results) for (const [k, v] of Object.entries(r.codes)) codes[k] = (codes[k] ?? 0) + v;
  await Promise.all(callers.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  // The hub process's CPU (main thread + pipe I/O worker) per call: what the hub costs,
  // whatever else the machine is doing; 1e6 / it = calls/s one core of hub could answer.
  const hubCpuUsPerCall = (cpu.user + cpu.system) / Math.max(counted, 1);
  // The main thread alone (it routes every frame): near `secs` of CPU means the hub is the limit.
  const mainUs = main0 === undefined || main1 === undefined ? undefined : (main1 - main0) / 1e3;
  return {
    callsPerSecond: Math.round(counted / secs),
    hubCpuUsPerCall: Number(hubCpuUsPerCall.toFixed(2)),
    hubMainUsPerCall: mainUs === undefined ? undefined : Number((mainUs / Math.max(counted, 1)).toFixed(2)),
    hubMainBusy: mainUs === undefined ? undefined : Number((mainUs / 1e6 / secs).toFixed(2)),
    callsPerHubCpuSecond: Math.round(1e6 / hubCpuUsPerCall),
    calls: counted,
    errors,
    wrong,
    codes,
    seconds: Number(secs.toFixed(2)),
  };
}

function buildC(dir) {
  const out = path.join(dir, 'hub_plugin_echo');
  const c = path.join(ROOT, 'clients', 'c');
  const r = spawnSync('cc', ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', `-I${c}`, '-o', out, path.join(__dirname, 'c', 'hub_plugin_echo.c'), path.join(c, 'hub_plugin.c'), path.join(c, 'pipe_io.c'), '-pthread'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('cc failed');
  return out;
}

/** The plugins and the Node provider of one hub (a build's Hub class), on its own socket. */
async function startHub(label, Hub, dir, echo, o) {
  const hub = new Hub({ serverId: `bench-${label}` });
  hub.on('clientError', () => undefined);
  const addr = { path: path.join(dir, `${label}.sock`) };
  await hub.listen(addr);
  const plugins = [
    await hub.attachPlugin(echo, [], { channel: CHANNEL, event: 'c-line', id: 'c-line' }),
    await hub.attachPlugin(echo, [], { channel: CHANNEL, event: 'c-line-p256', id: 'c-line-p256', pipeline: 256 }),
    await hub.attachPlugin(echo, ['rpc'], { channel: CHANNEL, event: 'c-rpc', id: 'c-rpc', mode: 'rpc' }),
    await hub.attachPlugin(echo, [], { channel: CHANNEL, event: 'c-line-x2', id: 'c-line-x2', instances: 2 }),
    // the README's kind of plugin: a bash loop running jq per line (echo)
    await hub.attachPlugin('bash', ['-c', 'while IFS= read -r line; do jq -c . <<<"$line"; done <"$PIPE_IO_READ_PIPE" >"$PIPE_IO_WRITE_PIPE"'], {
      channel: CHANNEL,
      event: 'bash-jq',
      id: 'bash-jq',
    }),
    // misses answers on purpose: restarts must not run out during the run
    await hub.attachPlugin(echo, ['skip'], {
      channel: CHANNEL,
      event: 'c-line-miss',
      id: 'c-line-miss',
      instances: 2,
      timeout: 200,
      restart: { maxRestarts: 1000000, initialDelay: 10, maxDelay: 10, resetAfter: 1000 },
    }),
  ];
  // time from a missed answer (the breach report) to the restarted instance's spawn
  const miss = plugins.find((p) => p.event === 'c-line-miss');
  const breachAt = new Map();
  const recovery = [];
  miss.on('error', (_err, index) => breachAt.set(index, performance.now()));
  miss.on('spawn', (index) => {
    if (!breachAt.has(index)) return;
    recovery.push(performance.now() - breachAt.get(index));
    breachAt.delete(index);
  });
  const node = child(['--role', 'node-provider', JSON.stringify(addr), 'node']);
  await once(node, 'node provider');
  return {
    label,
    addr,
    recovery,
    async stop() {
      if (node.exitCode === null) node.kill('SIGKILL');
      for (const p of plugins) await p.stop();
      await hub.stop();
    },
  };
}

const EVENTS = [
  ['C plugin, line mode (hub.attachPlugin)', 'c-line'],
  ['C plugin, line mode, pipeline: 256', 'c-line-p256'],
  ['C plugin, rpc mode', 'c-rpc'],
  ['C plugin, line mode, instances: 2', 'c-line-x2'],
  ['C plugin missing answers, line mode, instances: 2', 'c-line-miss'],
  ['bash + jq per line, line mode', 'bash-jq'],
  ['Node provider (separate process, raw wire)', 'node'],
];

async function main(argv) {
  const o = { seconds: 4, warmup: 1, callers: 2, window: 256, json: undefined, only: undefined, baseline: undefined, rounds: 1, missEvery: 5000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--callers') o.callers = Number(argv[++i]);
    else if (a === '--window') o.window = Number(argv[++i]);
    else if (a === '--json') o.json = path.resolve(argv[++i]);
    else if (a === '--only') o.only = argv[++i].split(',');
    else if (a === '--baseline') o.baseline = path.resolve(argv[++i]);
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--miss-every') o.missEvery = Number(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pio-hub-plugin-bench-'));
  const hubs = [];
  try {
    const echo = buildC(dir);
    hubs.push(await startHub('current', dist('hub/server/hub.js').Hub, dir, echo, o));
    if (o.baseline) {
      const file = path.join(o.baseline, 'hub', 'server', 'hub.js');
      if (!fs.existsSync(file)) throw new Error(`--baseline: ${file} is missing (the dist/ directory of another build)`);
      hubs.push(await startHub('baseline', require(file).Hub, dir, echo, o));
    }
    const rows = [];
    for (const [label, event] of EVENTS) {
      if (o.only && !o.only.includes(event)) continue;
      for (let round = 0; round < o.rounds; round++) {
        const order = round % 2 === 0 ? hubs : [...hubs].reverse();
        for (const h of order) {
          const r = await measure(h.addr, event, o);
          rows.push({ hub: h.label, provider: label, event, round, ...r });
          process.stderr.write(
            `[${h.label}] ${label}: ${r.callsPerSecond} calls/s, hub ${r.hubCpuUsPerCall} CPU-us/call, main thread ${r.hubMainUsPerCall} us/call (busy ${r.hubMainBusy}) (${r.calls} calls, ${r.errors} errors ${JSON.stringify(r.codes)}, ${r.wrong} wrong)\n`,
          );
        }
      }
    }
    const recovery = hubs[0].recovery;
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      loadavg: os.loadavg(),
      callers: o.callers,
      window: o.window,
      seconds: o.seconds,
      missEvery: o.missEvery,
      baseline: o.baseline,
      rows,
      missRecoveryMs: recovery.length === 0 ? undefined : { count: recovery.length, mean: Number((recovery.reduce((a, b) => a + b, 0) / recovery.length).toFixed(1)), max: Number(Math.max(...recovery).toFixed(1)) },
    };
    console.log('| hub | provider | calls/s (wall) | hub CPU µs/call | hub main thread µs/call (busy) | calls per hub CPU-second | errors | wrong answers |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rows) {
      const main = r.hubMainUsPerCall === undefined ? 'n/a' : `${r.hubMainUsPerCall} (${Math.round(r.hubMainBusy * 100)} %)`;
      console.log(`| ${r.hub} | ${r.provider} | ${r.callsPerSecond.toLocaleString('en-US')} | ${r.hubCpuUsPerCall} | ${main} | ${r.callsPerHubCpuSecond.toLocaleString('en-US')} | ${r.errors} | ${r.wrong} |`);
    }
    if (result.missRecoveryMs) console.log(`\ncurrent hub, c-line-miss: ${result.missRecoveryMs.count} restarts after a missed answer, back in service after ${result.missRecoveryMs.mean} ms on average (max ${result.missRecoveryMs.max})`);
    if (o.json) fs.writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    for (const h of hubs) await h.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const i = process.argv.indexOf('--role');
  if (i >= 0) {
    const [role, addrJson, event, window, id, missEvery] = process.argv.slice(i + 1);
    const addr = JSON.parse(addrJson);
    const run = role === 'caller' ? callerRole(addr, event, Number(window), id, Number(missEvery)) : nodeProviderRole(addr, event);
    run.catch((err) => {
      console.error(err);
      process.exit(1);
    });
  } else {
    main(process.argv.slice(2)).catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
  }
}

module.exports = { main };
