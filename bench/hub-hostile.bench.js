'use strict';
/**
 * The hostile mix of issue 21 against the compiled Hub (dist/: `npm run build` first). Each
 * workload runs beside a well-behaved provider + caller pair (HubClient, bench/hub/
 * good-pair-worker.js) calling every 10 ms; the hub is alone in its process (bench/hub/
 * hub-server.js, a fresh one per workload), its RSS sampled every 100 ms, its CPU time and its
 * event loop's longest delay read before and after:
 *
 *   1. trickle: one broadcast of --trickle-mib MiB (16) sent ONE BYTE PER WRITE by a Python
 *      process (test/hub/fixtures/trickle_writer.py) over the hub's Unix socket (dataTimeout
 *      raised so that the slow writer may finish): hub CPU per MiB, the longest loop delay, RSS.
 *      Beside it, the floor: the same writes into a plain Node server that drops the bytes
 *      (bench/hub/discard-server.js), and FrameReader alone (this process) on as many bytes in
 *      one-byte chunks.
 *   2. held: --held connections (10) each send 15 MiB of a 16 MiB frame and stop, dataTimeout
 *      3 s: RSS while they are held, when the hub closes them, RSS after a forced GC (the hub runs
 *      with --expose-gc) (the issue: 211 MB kept 15 s past a 3 s dataTimeout, the deadline
 *      restarting with each byte).
 *   3. cap: 2 x --held connections send 15 MiB each against maxPartialFrameBytes of --held x
 *      16 MiB (room for about half): how many are refused with PIPEIO_ERR_LIMIT, bytes held, RSS.
 *   4. subscribe: 4 clients each subscribe to 10,001 new topics, one batch after the other:
 *      time per batch (the issue: 0.8, 1.4, 2.4, 4.6 s).
 *
 *   node bench/hub-hostile.bench.js [--quick] [--trickle-mib N] [--held N]
 *                                   [--steps trickle,held,cap,subscribe] [--out FILE]
 *
 * --quick: a 2 MiB trickle and 4 held connections (about a minute). Environment: PIO_PYTHON
 * (default python3) runs the writer. Prints a Markdown table on stdout (progress on stderr),
 * writes JSON to --out (default bench/results/hub-hostile.json). Never part of `npm test`.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Worker, sampleRss, rssMiB, killAll } = require('./hub/procs');
const { ROOT } = require('./hub/common');
const { RawConn } = require('./hub/raw-wire');

const { encodeFrame } = require(path.join(ROOT, 'dist', 'hub', 'protocol', 'codec.js'));
const { FrameReader } = require(path.join(ROOT, 'dist', 'hub', 'protocol', 'frame-reader.js'));

const MiB = 1024 * 1024;
const WRITER = path.join(ROOT, 'test', 'hub', 'fixtures', 'trickle_writer.py');

function parseArgs(argv) {
  const o = { quick: false, steps: ['trickle', 'held', 'cap', 'subscribe'], out: path.join(__dirname, 'results', 'hub-hostile.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--trickle-mib') o.trickleMiB = Number(argv[++i]);
    else if (a === '--held') o.held = Number(argv[++i]);
    else if (a === '--steps') o.steps = argv[++i].split(',');
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  o.trickleMiB ??= o.quick ? 2 : 16;
  o.held ??= o.quick ? 4 : 10;
  return o;
}

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

/** A fresh hub process with `options`, the good pair beside it, RSS sampling started. */
async function stage(dir, name, options) {
  const socketPath = path.join(dir, `${name}.sock`);
  const hub = new Worker('hub-server.js', `hub-${name}`, { execArgv: ['--expose-gc'] });
  await hub.cmd('listen', { transport: 'unix', path: socketPath, options });
  const pair = new Worker('good-pair-worker.js', `pair-${name}`);
  await pair.cmd('start', { addr: { path: socketPath } });
  const addr = { path: socketPath };
  const before = await hub.cmd('stats');
  await pair.cmd('report');
  const rss = sampleRss(hub.pid, 100);
  return {
    hub,
    pair,
    addr,
    before,
    rss,
    async end() {
      const after = await hub.cmd('stats');
      const pairReport = await pair.cmd('report');
      const samples = rss.stop();
      await pair.stop();
      await hub.cmd('stop').catch(() => undefined);
      await hub.stop();
      const peak = Math.max(...samples.map((s) => s.rssMiB));
      return { after, pairReport, samples, rss: { startMiB: samples[0].rssMiB, peakMiB: peak, endMiB: samples[samples.length - 1].rssMiB } };
    },
  };
}

/** Runs the Python writer: `bytes` to `socketPath` in writes of `chunk` bytes; resolves when it exits. */
function trickle(dir, socketPath, bytes, chunk) {
  const file = path.join(dir, `trickle-${Date.now()}.bin`);
  fs.writeFileSync(file, bytes);
  const child = spawn(process.env.PIO_PYTHON || 'python3', [WRITER, socketPath, file, String(chunk)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const done = new Promise((resolve) => child.on('exit', () => resolve(out)));
  return { child, done };
}

function broadcastOf(bytes, sender) {
  return Buffer.concat([encodeFrame({ type: 'identify', client_id: sender }), encodeFrame({ type: 'broadcast', channel: 'room', event: 'big', data: Buffer.alloc(bytes, 7) })]);
}

/** FrameReader alone on a frame of `bytes` in one-byte chunks: ns per byte, net of making the chunks. */
function frameReaderNsPerByte(bytes) {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(bytes, 0);
  const one = Buffer.from([7]); // the same one-byte chunk each time: the reader's cost alone
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const r = new FrameReader(1 << 30);
    for (let i = 0; i < 4; i++) r.push(header.subarray(i, i + 1));
    const t = process.cpuUsage();
    let frames = 0;
    for (let i = 0; i < bytes; i++) frames += r.push(one).length;
    const u = process.cpuUsage(t);
    if (frames !== 1) throw new Error('the frame did not come out');
    best = Math.min(best, ((u.user + u.system) * 1000) / bytes);
  }
  return best;
}

async function stepTrickle(dir, opts) {
  const size = opts.trickleMiB * MiB - 1024; // the whole frame within maxFrameSize (16 MiB)
  const bytes = broadcastOf(size, 'trickler');
  log(`trickle: ${opts.trickleMiB} MiB one byte per write...`);
  // minFrameReadBytes 0: the floor on read sizes would refuse the frame (measured next, as `refused`).
  const s = await stage(dir, 'trickle', { dataTimeout: 30 * 60_000, minFrameReadBytes: 0 });
  const receiver = await RawConn.identified(s.addr, 'receiver');
  await receiver.request({ type: 'register', request_id: 'open', channel: 'room', is_provider: false });
  const t0 = Date.now();
  const w = trickle(dir, s.addr.path, bytes, 1);
  const refused = w.done.then((out) => {
    if (!/SENT/.test(out)) throw new Error(`the hub refused the trickled frame: ${out}`);
    return new Promise(() => undefined);
  });
  const got = await Promise.race([receiver.next((f) => f.type === 'broadcast', 60 * 60_000), refused]);
  const elapsedS = (Date.now() - t0) / 1000;
  w.child.kill(); // it would wait for the hub to close
  await w.done;
  receiver.socket.destroy();
  const r = await s.end();
  if (got.data.length !== size) throw new Error('the broadcast came out wrong');
  const hubCpuMs = r.after.cpuMs - s.before.cpuMs;
  // The floor: the same writes into a server that drops them.
  log('trickle: the floor (a Node server that drops the bytes)...');
  const floor = new Worker('discard-server.js', 'discard');
  const floorPath = path.join(dir, 'discard.sock');
  await floor.cmd('listen', { path: floorPath });
  const f0 = await floor.cmd('received');
  const fw = trickle(dir, floorPath, bytes, 1);
  let f1 = f0;
  while (f1.bytes - f0.bytes < bytes.length) {
    await new Promise((r) => setTimeout(r, 100)); // polling the floor's count
    f1 = await floor.cmd('received');
  }
  fw.child.kill();
  await fw.done;
  await floor.cmd('stop').catch(() => undefined);
  await floor.stop();
  const floorCpuMs = f1.cpuMs - f0.cpuMs;
  const mib = bytes.length / MiB;
  // The same frame against a hub with its defaults: refused once 4096 reads average under 64 bytes.
  log('trickle: the same against the default minFrameReadBytes...');
  const d = await stage(dir, 'refused', {});
  const dw = trickle(dir, d.addr.path, bytes, 1);
  const dOut = await dw.done;
  const dr = await d.end();
  const atDefaults = { closedEarly: /CLOSED/.test(dOut), hubCpuMs: dr.after.cpuMs - d.before.cpuMs, limitErrors: dr.after.clientErrors?.PIPEIO_ERR_LIMIT ?? 0 };
  return {
    refused: atDefaults,
    mib: opts.trickleMiB,
    elapsedS,
    hubCpuMs,
    hubCpuMsPerMiB: hubCpuMs / mib,
    floorCpuMsPerMiB: floorCpuMs / mib,
    frameReaderMsPerMiB: (frameReaderNsPerByte(Math.min(size, 16 * MiB)) * MiB) / 1e6,
    loopDelayMaxMs: r.after.loop.maxMs,
    rss: r.rss,
    pair: r.pairReport,
  };
}

/** `n` connections each sending `held` bytes of a frame of 16 MiB - 64, then nothing. */
async function holders(addr, n, held, prefix) {
  const conns = [];
  for (let i = 0; i < n; i++) {
    const c = await RawConn.identified(addr, `${prefix}${i}`);
    c.startedAt = Date.now();
    c.closedAt = undefined;
    c.socket.on('close', () => (c.closedAt = Date.now()));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(16 * MiB - 64, 0);
    c.socket.write(header);
    c.socket.write(Buffer.alloc(held, 1));
    conns.push(c);
  }
  return conns;
}

async function stepHeld(dir, opts) {
  log(`held: ${opts.held} connections x 15 MiB, dataTimeout 3 s...`);
  const s = await stage(dir, 'held', { dataTimeout: 3000 });
  const conns = await holders(s.addr, opts.held, 15 * MiB, 'holder');
  let peakHeld = 0;
  const deadline = Date.now() + 30_000;
  while (conns.some((c) => !c.closed) && Date.now() < deadline) {
    peakHeld = Math.max(peakHeld, (await s.hub.cmd('stats')).partialFrameBytes);
    await new Promise((r) => setTimeout(r, 100));
  }
  const closedAfterMs = conns.map((c) => (c.closedAt ?? NaN) - c.startedAt);
  // Two collections apart: V8 frees the backing stores of dead ArrayBuffers after a collection.
  await s.hub.cmd('gc');
  await new Promise((r) => setTimeout(r, 500));
  await s.hub.cmd('gc');
  const rssAfterGcMiB = rssMiB(s.hub.pid);
  const mem = (await s.hub.cmd('stats')).memory;
  const r = await s.end();
  return {
    rssAfterGcMiB,
    afterGcMiB: { heapUsed: mem.heapUsed / MiB, arrayBuffers: mem.arrayBuffers / MiB, external: mem.external / MiB },
    connections: opts.held,
    bytesSentMiB: (opts.held * 15 * MiB) / MiB,
    peakHeldMiB: peakHeld / MiB,
    closedAfterMs: { min: Math.min(...closedAfterMs), max: Math.max(...closedAfterMs) },
    rss: r.rss,
    loopDelayMaxMs: r.after.loop.maxMs,
    pair: r.pairReport,
  };
}

async function stepCap(dir, opts) {
  const n = 2 * opts.held;
  const cap = opts.held * 16 * MiB; // room for about half of them
  log(`cap: ${n} connections x 15 MiB against maxPartialFrameBytes ${cap / MiB} MiB...`);
  const s = await stage(dir, 'cap', { maxPartialFrameBytes: cap });
  const conns = await holders(s.addr, n, 15 * MiB, 'capped');
  let stats = await s.hub.cmd('stats');
  const deadline = Date.now() + 30_000;
  // Until every connection is either refused (closed) or fully held.
  while (Date.now() < deadline) {
    stats = await s.hub.cmd('stats');
    const open = conns.filter((c) => !c.closed).length;
    if (stats.partialFrameBytes >= open * 15 * MiB) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const refused = conns.filter((c) => c.closed).length;
  for (const c of conns) c.socket.destroy();
  const r = await s.end();
  return {
    connections: n,
    capMiB: cap / MiB,
    refused,
    limitErrors: r.after.clientErrors.PIPEIO_ERR_LIMIT ?? 0,
    heldMiB: stats.partialFrameBytes / MiB,
    rss: r.rss,
    loopDelayMaxMs: r.after.loop.maxMs,
    pair: r.pairReport,
  };
}

async function stepSubscribe(dir) {
  log('subscribe: 4 clients x 10,001 new topics...');
  const s = await stage(dir, 'subscribe', {});
  const perBatchMs = [];
  for (let k = 0; k < 4; k++) {
    const c = await RawConn.identified(s.addr, `flood${k}`);
    const frames = [];
    for (let i = 0; i <= 10_000; i++) frames.push(encodeFrame({ type: 'subscribe', channel: 'flood', sub_name: `t${k}-${i}`, request_id: `s${i}` }));
    const t0 = performance.now();
    c.socket.write(Buffer.concat(frames));
    await c.next((f) => f.type === 'response' && f.request_id === 's10000', 120_000);
    perBatchMs.push(performance.now() - t0);
  }
  const r = await s.end();
  return { perBatchMs, topics: r.after.topics, loopDelayMaxMs: r.after.loop.maxMs, rss: r.rss, pair: r.pairReport };
}

function table(results) {
  const lines = ['| workload | figure | pair: calls, failures, p99 / max (ms) | hub RSS start / peak / end (MiB) | loop delay max (ms) |', '| --- | --- | --- | --- | --- |'];
  const pair = (p) => `${p.calls}, ${p.failures}, ${p.p99Ms.toFixed(1)} / ${p.maxMs.toFixed(1)}`;
  const rss = (r) => `${r.startMiB.toFixed(0)} / ${r.peakMiB.toFixed(0)} / ${r.endMiB.toFixed(0)}`;
  const t = results.trickle;
  if (t) {
    lines.push(
      `| ${t.mib} MiB broadcast, 1 byte per write, default minFrameReadBytes (64) | refused (${t.refused.limitErrors} PIPEIO_ERR_LIMIT, connection closed: ${t.refused.closedEarly}); hub ${t.refused.hubCpuMs.toFixed(0)} ms CPU in all, the good pair's calls included | | | |`,
      `| ${t.mib} MiB broadcast, 1 byte per write, minFrameReadBytes 0 | hub ${t.hubCpuMsPerMiB.toFixed(0)} ms CPU/MiB (floor: a Node server dropping the bytes ${t.floorCpuMsPerMiB.toFixed(0)}; FrameReader alone ${t.frameReaderMsPerMiB.toFixed(1)}); ${t.elapsedS.toFixed(1)} s | ${pair(t.pair)} | ${rss(t.rss)} | ${t.loopDelayMaxMs.toFixed(0)} |`,
    );
  }
  const h = results.held;
  if (h) {
    lines.push(
      `| ${h.connections} x 15 MiB held, dataTimeout 3 s | ${h.peakHeldMiB.toFixed(0)} MiB held at most; closed ${(h.closedAfterMs.min / 1000).toFixed(1)}-${(h.closedAfterMs.max / 1000).toFixed(1)} s after the first byte; RSS ${h.rssAfterGcMiB.toFixed(0)} MiB after a GC | ${pair(h.pair)} | ${rss(h.rss)} | ${h.loopDelayMaxMs.toFixed(0)} |`,
    );
  }
  const c = results.cap;
  if (c) {
    lines.push(`| ${c.connections} x 15 MiB vs maxPartialFrameBytes ${c.capMiB} MiB | ${c.refused} refused (PIPEIO_ERR_LIMIT: ${c.limitErrors}), ${c.heldMiB.toFixed(0)} MiB held | ${pair(c.pair)} | ${rss(c.rss)} | ${c.loopDelayMaxMs.toFixed(0)} |`);
  }
  const s = results.subscribe;
  if (s) {
    lines.push(`| 4 x 10,001 subscribes | ${s.perBatchMs.map((x) => (x / 1000).toFixed(2)).join(', ')} s per batch | ${pair(s.pair)} | ${rss(s.rss)} | ${s.loopDelayMaxMs.toFixed(0)} |`);
  }
  return lines.join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-hostile-'));
  const results = { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavg: os.loadavg(), options: opts };
  try {
    if (opts.steps.includes('trickle')) results.trickle = await stepTrickle(dir, opts);
    if (opts.steps.includes('held')) results.held = await stepHeld(dir, opts);
    if (opts.steps.includes('cap')) results.cap = await stepCap(dir, opts);
    if (opts.steps.includes('subscribe')) results.subscribe = await stepSubscribe(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  results.loadavgAfter = os.loadavg();
  process.stdout.write(`${table(results)}\n`);
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
  log(`written ${opts.out}`);
}

main()
  .catch((err) => {
    process.stderr.write(`${err.stack || err}\n`);
    process.exitCode = 1;
  })
  .finally(() => killAll());
