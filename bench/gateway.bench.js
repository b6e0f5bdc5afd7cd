#!/usr/bin/env node
// HTTP gateway benchmark, side by side in one run (docs/gateway-bench.md):
//   1. JSON call `math:add` over HTTP/1.1 keep-alive, 32 connections, for DURATION ms each:
//      through HubGateway | a minimal node:http handler calling the hub directly | comm-ipc's
//      CommAPI re-created on FastAPI + uvicorn (Python hub and provider; needs PIO_PYTHON with
//      fastapi, uvicorn, msgpack, pydantic)
//   2. one call at a time: p50 of a direct HubClient call, through the gateway, through node:http
//   3. SSE fan-out: RATE msg/s to 200 subscribers, every message counted
//   4. a 256 MiB download and upload through the gateway: MB/s, the gateway's RSS growth
// Run: npm run build && node bench/gateway.bench.js [--duration MS] [--quick]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { HubClient } = require('../dist/index.js');

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const DURATION = Number(args[args.indexOf('--duration') + 1]) || (QUICK ? 2000 : 5000);
const CONNS = 32;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gwbench-'));
const socket = path.join(dir, 'hub.sock');
const children = [];

if (QUICK) process.env.GWBENCH_BLOB_MIB = '64';

function start(cmd, argv, opts = {}) {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit', ...(opts.ipc ? ['ipc'] : [])], ...opts });
  children.push(child);
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      if (line.startsWith('READY')) resolve({ child, info: line.length > 6 ? JSON.parse(line.slice(6)) : {} });
    });
    child.on('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}`)));
  });
}

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function rssOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
}

function cpuOf(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // ms, with CLK_TCK 100
}

/** `conns` keep-alive loops POSTing body to url for `ms`; calls/s and latency percentiles. */
async function load(port, urlPath, body, conns, ms) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const lat = [];
  let errors = 0;
  const until = Date.now() + ms;
  const one = () =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors++;
          lat.push(Number(process.hrtime.bigint() - t0) / 1e3);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const t0 = Date.now();
  await Promise.all(Array.from({ length: conns }, async () => {
    while (Date.now() < until) await one();
  }));
  const secs = (Date.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { callsPerSec: Math.round(lat.length / secs), p50us: Math.round(percentile(lat, 50)), p99us: Math.round(percentile(lat, 99)), errors };
}

async function main() {
  const results = {};
  const { child: hubChild } = await start(process.execPath, [path.join(__dirname, 'gateway', 'servers.js'), 'hub', socket], { ipc: true });
  const { child: gwChild, info: gw } = await start(process.execPath, [path.join(__dirname, 'gateway', 'servers.js'), 'gateway', socket]);
  const { info: direct } = await start(process.execPath, [path.join(__dirname, 'gateway', 'servers.js'), 'direct', socket]);
  let fastapi;
  const py = process.env.PIO_PYTHON;
  if (py && !QUICK) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    try {
      await start(py, [path.join(__dirname, 'gateway', 'fastapi_commapi.py'), path.join(dir, 'py.sock'), String(port)], {
        env: { ...process.env, PYTHONPATH: path.join(__dirname, '..', 'test', 'fixtures', 'python') },
      });
      fastapi = { port };
    } catch (err) {
      console.error(`fastapi baseline skipped: ${err.message}`);
    }
  }
  const body = Buffer.from('{"a":1,"b":2}');
  const step = (s) => process.stderr.write(`bench: ${s}\n`);
  step('servers up');
  // warm-up
  await load(gw.port, '/channels/math/add', body, CONNS, 500);
  await load(direct.port, '/', body, CONNS, 500);
  const gwCpu0 = cpuOf(gwChild.pid);
  results.gateway32 = await load(gw.port, '/channels/math/add', body, CONNS, DURATION);
  results.gateway32.gatewayCpuMsPerCall = +((cpuOf(gwChild.pid) - gwCpu0) / (results.gateway32.callsPerSec * DURATION / 1000)).toFixed(4);
  results.direct32 = await load(direct.port, '/', body, CONNS, DURATION);
  if (fastapi) {
    await load(fastapi.port, '/add', body, CONNS, 500);
    results.fastapi32 = await load(fastapi.port, '/add', body, CONNS, DURATION);
    results.fastapiSequential = await load(fastapi.port, '/add', body, 1, DURATION);
  }
  step('one at a time');
  results.gatewaySequential = await load(gw.port, '/channels/math/add', body, 1, DURATION);
  results.directHttpSequential = await load(direct.port, '/', body, 1, DURATION);
  const client = new HubClient({ path: socket }, { clientId: 'bench-caller' });
  await client.connect();
  const ch = await client.open('math');
  const lat = [];
  const until = Date.now() + DURATION;
  while (Date.now() < until) {
    const t0 = process.hrtime.bigint();
    await ch.call('add', { a: 1, b: 2 });
    lat.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  lat.sort((a, b) => a - b);
  results.hubClientSequential = { p50us: Math.round(percentile(lat, 50)), p99us: Math.round(percentile(lat, 99)) };
  results.gatewayOverheadP50us = results.gatewaySequential.p50us - results.hubClientSequential.p50us;
  await client.close();

  step('sse fan-out');
  const SUBS = 200;
  const RATE = 1000;
  const MSGS = QUICK ? 1000 : 3000;
  const counts = new Array(SUBS).fill(0);
  const orderOk = new Array(SUBS).fill(true);
  const reqs = [];
  await Promise.all(Array.from({ length: SUBS }, (_, i) => new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: gw.port, path: '/channels/math/topics/ticks', agent: false }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        buf += c;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const d = block.split('\n').find((l) => l.startsWith('data: '));
          if (d) {
            if (Number(d.slice(6)) !== counts[i]) orderOk[i] = false;
            counts[i]++;
          }
        }
      });
      resolve();
    });
    reqs.push(req);
  })));
  const published = await new Promise((resolve) => {
    hubChild.once('message', resolve);
    hubChild.send({ publish: MSGS, rate: RATE });
  });
  const deadline = Date.now() + 10000;
  while (counts.some((c) => c < MSGS) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  results.sseFanout = {
    subscribers: SUBS,
    messages: MSGS,
    rate: RATE,
    publishMs: published.ms,
    allReceivedInOrder: counts.every((c) => c === MSGS) && orderOk.every(Boolean),
    minReceived: Math.min(...counts),
  };
  for (const r of reqs) r.destroy();

  step('download and upload');
  const rss0 = rssOf(gwChild.pid);
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(gwChild.pid))), 20);
  const dl = await new Promise((resolve, reject) => {
    const t0 = Date.now();
    http.get({ host: '127.0.0.1', port: gw.port, path: '/channels/math/files/blob', agent: false }, (res) => {
      let n = 0;
      res.on('data', (c) => (n += c.length));
      res.on('end', () => resolve({ bytes: n, ms: Date.now() - t0 }));
    }).on('error', reject);
  });
  const SIZE = (QUICK ? 64 : 256) * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 3);
  const ul = await new Promise((resolve, reject) => {
    const t0 = Date.now();
    const req = http.request({ host: '127.0.0.1', port: gw.port, method: 'PUT', path: '/channels/math/files/sink', agent: false, headers: { 'content-length': SIZE } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, body: text, ms: Date.now() - t0 }));
    });
    req.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < SIZE) {
        sent += chunk.length;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
  clearInterval(sampler);
  results.download = { bytes: dl.bytes, MBps: Math.round(dl.bytes / 1e6 / (dl.ms / 1000)) };
  results.upload = { status: ul.status, answer: ul.body, MBps: Math.round(SIZE / 1e6 / (ul.ms / 1000)) };
  results.gatewayRssGrowthMiB = +((peak - rss0) / 1048576).toFixed(1);
  results.config = { durationMs: DURATION, connections: CONNS, cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map((x) => +x.toFixed(2)) };
  console.log(JSON.stringify(results, null, 2));
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill('SIGTERM');
    setTimeout(() => fs.rmSync(dir, { recursive: true, force: true }), 200);
  });
