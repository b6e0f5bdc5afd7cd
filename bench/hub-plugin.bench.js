'use strict';
/**
 * Hub plugin throughput: calls/s answered by a C plugin provider (hub.attachPlugin, line and
 * rpc mode, over its FIFO pair) next to a Node provider (a separate process on the hub's
 * wire), in the same run. Callers are separate processes pipelining calls over the raw wire
 * (the package's codec from dist/), `--window` calls in flight each.
 *
 *   npm run build && node bench/hub-plugin.bench.js [--seconds S] [--callers N] [--window W] [--json FILE]
 *                                                   [--only c-line,c-rpc,c-line-x2,node]
 *
 * Roles (internal): `--role caller ADDR_JSON` and `--role node-provider ADDR_JSON`.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

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

/** Caller process: pipelines calls to EVENT with WINDOW in flight until told to stop; reports counts. */
async function callerRole(addr, event, window, id) {
  const { encodeFrame } = dist('hub/protocol/codec.js');
  const conn = await Conn.connect(addr, id);
  let seq = 0;
  let done = 0;
  let errors = 0;
  let counting = false;
  let counted = 0;
  const sendOne = () => conn.queue(encodeFrame({ type: 'call', channel: CHANNEL, event, data: DATA, request_id: `r${++seq}`, is_final: true }));
  conn.onFrame = (f) => {
    if (f.type !== 'response') return;
    if ('error' in f) errors++;
    done++;
    if (counting) counted++;
    sendOne();
  };
  process.on('message', (m) => {
    if (m === 'start') {
      counted = 0;
      counting = true;
    } else if (m === 'stop') {
      counting = false;
      process.send({ counted, errors, done });
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
  const callers = Array.from({ length: o.callers }, (_, i) => child(['--role', 'caller', JSON.stringify(addr), event, String(o.window), `caller-${event}-${i}`]));
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

async function main(argv) {
  const o = { seconds: 4, warmup: 1, callers: 2, window: 256, json: undefined, only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--callers') o.callers = Number(argv[++i]);
    else if (a === '--window') o.window = Number(argv[++i]);
    else if (a === '--json') o.json = path.resolve(argv[++i]);
    else if (a === '--only') o.only = argv[++i].split(',');
    else throw new Error(`unknown option ${a}`);
  }
  const { Hub } = dist('hub/server/hub.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pio-hub-plugin-bench-'));
  const procs = [];
  const hub = new Hub({ serverId: 'bench' });
  hub.on('clientError', () => undefined);
  try {
    const echo = buildC(dir);
    const addr = { path: path.join(dir, 'hub.sock') };
    await hub.listen(addr);
    const plugins = [
      await hub.attachPlugin(echo, [], { channel: CHANNEL, event: 'c-line', id: 'c-line' }),
      await hub.attachPlugin(echo, ['rpc'], { channel: CHANNEL, event: 'c-rpc', id: 'c-rpc', mode: 'rpc' }),
      await hub.attachPlugin(echo, [], { channel: CHANNEL, event: 'c-line-x2', id: 'c-line-x2', instances: 2 }),
    ];
    const node = child(['--role', 'node-provider', JSON.stringify(addr), 'node']);
    procs.push(node);
    await once(node, 'node provider');
    const rows = [];
    for (const [label, event] of [
      ['C plugin, line mode (hub.attachPlugin)', 'c-line'],
      ['C plugin, rpc mode', 'c-rpc'],
      ['C plugin, line mode, instances: 2', 'c-line-x2'],
      ['Node provider (separate process, raw wire)', 'node'],
    ]) {
      if (o.only && !o.only.includes(event)) continue;
      const r = await measure(addr, event, o);
      rows.push({ provider: label, event, ...r });
      process.stderr.write(`${label}: ${r.callsPerSecond} calls/s, hub ${r.hubCpuUsPerCall} CPU-us/call, main thread ${r.hubMainUsPerCall} us/call (busy ${r.hubMainBusy}) (${r.calls} calls, ${r.errors} errors)\n`);
    }
    for (const p of plugins) await p.stop();
    const result = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavg: os.loadavg(), callers: o.callers, window: o.window, seconds: o.seconds, rows };
    console.log('| provider | calls/s (wall) | hub CPU µs/call | hub main thread µs/call (busy) | calls per hub CPU-second | errors |\n| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rows) {
      const main = r.hubMainUsPerCall === undefined ? 'n/a' : `${r.hubMainUsPerCall} (${Math.round(r.hubMainBusy * 100)} %)`;
      console.log(`| ${r.provider} | ${r.callsPerSecond.toLocaleString('en-US')} | ${r.hubCpuUsPerCall} | ${main} | ${r.callsPerHubCpuSecond.toLocaleString('en-US')} | ${r.errors} |`);
    }
    if (o.json) fs.writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await hub.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const i = process.argv.indexOf('--role');
  if (i >= 0) {
    const [role, addrJson, event, window, id] = process.argv.slice(i + 1);
    const addr = JSON.parse(addrJson);
    const run = role === 'caller' ? callerRole(addr, event, Number(window), id) : nodeProviderRole(addr, event);
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
