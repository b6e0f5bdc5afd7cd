#!/usr/bin/env node
// HTTP gateway benchmark (docs/gateway-bench.md), side by side in one run. Processes: the hub (with,
// in the same process, a HubGateway given the Hub: the in-process link, as `pipe-io-server hub --http`
// runs it, and a minimal node:http handler over an in-process HubClient), the Node provider, a
// HubGateway of its own over the hub's Unix socket, the minimal handler of its own over the socket,
// comm-ipc's CommAPI re-created on FastAPI + uvicorn (PIO_PYTHON with fastapi, uvicorn, msgpack,
// pydantic; one Python process: hub, provider, app), and the load generator.
//   1. JSON call `math:add` over HTTP/1.1 keep-alive, 32 connections, DURATION each, every target,
//      with each generator: calls/s, latency, and the CPU every process spent per call
//   2. one call at a time: p50 of each target, and of a direct HubClient call (the overhead's base)
//   3. SSE fan-out: 1,000 msg/s to 200 subscribers, every message counted (both gateways)
//   4. a 256 MiB download and upload through both gateways, 3 times: MB/s (median and best), CPU per MiB of every process,
//      and the RSS growth of the process serving the gateway during each
// Generators: wrk (apt-get install -y wrk) and the Node one; without wrk, Node only.
// Run: npm run build && node bench/gateway.bench.js [--quick] [--duration MS] [--generator wrk|node|both] [--transfer-reps N]
//      [--transfers-only]: step 4 alone, with only the hub, the provider and the gateway running (no
//      FastAPI, no other handler): writes bench/results/gateway-transfers.json (with GWBENCH_NO_SCHEMA=1,
//      the provider's math:add has no schema: gateway-transfers-no-schema.json; with GWBENCH_NODE_FLAGS,
//      node flags for the hub, provider and gateway: gateway-transfers-flags.json; with GWBENCH_HEAP_MIB=N,
//      each of them keeps N MiB of live objects, as an application would: gateway-transfers-heap-N.json)
// Writes bench/results/gateway.json (not with --quick). A full run takes about 3 minutes.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { HubClient } = require('../dist/index.js');
const { hasWrk, measure, percentile } = require('./gateway/load.js');
const { sseFanout, transfers } = require('./gateway/streams.js');

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const QUICK = args.includes('--quick');
const DURATION = Number(opt('--duration')) || (QUICK ? 2000 : 5000);
const WRK = hasWrk();
const GENERATORS = (opt('--generator') ?? (WRK ? (QUICK ? 'wrk' : 'both') : 'node')) === 'both' ? ['wrk', 'node'] : [opt('--generator') ?? (WRK ? 'wrk' : 'node')];
if (GENERATORS.includes('wrk') && !WRK) throw new Error('wrk is not installed (apt-get install -y wrk), use --generator node');
const CONNS = 32;
const BLOB_MIB = QUICK ? 64 : 256;
const TRANSFER_REPS = Number(opt('--transfer-reps')) || (QUICK ? 1 : 3);
const TRANSFERS_ONLY = args.includes('--transfers-only');
const CORES = os.cpus().length;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gwbench-'));
const socket = path.join(dir, 'hub.sock');
const children = [];
const step = (s) => process.stderr.write(`bench: ${s}\n`);

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

// GWBENCH_NODE_FLAGS: node flags for the hub, provider and gateway processes (e.g. '--heap-growing-percent=100')
const NODE_FLAGS = (process.env.GWBENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const server = (role, extra = {}) => start(process.execPath, [...NODE_FLAGS, path.join(__dirname, 'gateway', 'servers.js'), role, socket], extra);

async function startFastapi() {
  const py = process.env.PIO_PYTHON;
  if (!py || QUICK) return undefined;
  const port = 20000 + Math.floor(Math.random() * 20000);
  try {
    const { child } = await start(py, [path.join(__dirname, 'gateway', 'fastapi_commapi.py'), path.join(dir, 'py.sock'), String(port)], {
      env: { ...process.env, PYTHONPATH: path.join(__dirname, '..', 'test', 'fixtures', 'python') },
    });
    return { port, pid: child.pid };
  } catch (err) {
    step(`fastapi baseline skipped: ${err.message}`);
    return undefined;
  }
}

/** p50 of direct HubClient calls, one at a time, from this process over the socket. */
async function hubClientSequential() {
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
  await client.close();
  lat.sort((a, b) => a - b);
  return { p50us: Math.round(percentile(lat, 50)), p99us: Math.round(percentile(lat, 99)) };
}

async function main() {
  const results = { config: { quick: QUICK, durationMs: DURATION, connections: CONNS, generators: GENERATORS, cpus: CORES, node: process.version } };
  results.config.loadavgBefore = os.loadavg().map((x) => +x.toFixed(2));
  process.env.GWBENCH_BLOB_MIB = String(BLOB_MIB);
  const { info: hub } = await server('hub');
  const { child: providerChild, info: provider } = await server('provider', { ipc: true });
  const { info: gw } = await server('gateway');
  if (TRANSFERS_ONLY) return transfersOnly(results, hub, provider, gw);
  const { info: direct } = await server('direct');
  const fastapi = await startFastapi();
  step('servers up');

  const body = Buffer.from('{"a":1,"b":2}');
  const call = '/channels/math/add';
  const targets = {
    gatewayOwnProcess: { port: gw.port, path: call, procs: { gateway: gw.pid, hub: hub.pid, provider: provider.pid } },
    gatewayInHub: { port: hub.port, path: call, procs: { hub: hub.pid, provider: provider.pid } },
    bareOwnProcess: { port: direct.port, path: '/', procs: { handler: direct.pid, hub: hub.pid, provider: provider.pid } },
    bareInHub: { port: hub.barePort, path: '/', procs: { hub: hub.pid, provider: provider.pid } },
    ...(fastapi ? { fastapi: { port: fastapi.port, path: '/add', procs: { python: fastapi.pid } } } : {}),
  };
  for (const t of Object.values(targets)) {
    t.body = body;
    await measure(GENERATORS[0], t, t.procs, CONNS, 1000, dir, CORES); // warm-up
  }

  results.calls32 = {};
  results.sequential = {};
  for (const g of GENERATORS) {
    step(`32 connections (${g})`);
    results.calls32[g] = {};
    for (const [name, t] of Object.entries(targets)) results.calls32[g][name] = await measure(g, t, t.procs, CONNS, DURATION, dir, CORES);
  }
  for (const g of GENERATORS) {
    step(`one at a time (${g})`);
    results.sequential[g] = {};
    for (const [name, t] of Object.entries(targets)) {
      const r = await measure(g, t, t.procs, 1, DURATION, dir, CORES);
      results.sequential[g][name] = { callsPerSec: r.callsPerSec, p50us: r.p50us, p99us: r.p99us, errors: r.errors, otherLoadCores: r.otherLoadCores };
    }
  }
  results.hubClientSequential = await hubClientSequential();
  results.overheadP50us = {};
  for (const g of GENERATORS) {
    const s = results.sequential[g];
    const base = results.hubClientSequential.p50us;
    results.overheadP50us[g] = { gatewayOwnProcess: s.gatewayOwnProcess.p50us - base, gatewayInHub: s.gatewayInHub.p50us - base };
  }

  step('sse fan-out');
  const publish = (n, rate) =>
    new Promise((resolve) => {
      providerChild.once('message', resolve);
      providerChild.send({ publish: n, rate });
    });
  const MSGS = QUICK ? 1000 : 3000;
  results.sseFanout = {
    gatewayOwnProcess: await sseFanout(gw.port, 200, MSGS, 1000, publish),
    gatewayInHub: await sseFanout(hub.port, 200, MSGS, 1000, publish),
  };

  step(`download and upload, ${BLOB_MIB} MiB`);
  const size = BLOB_MIB * 1024 * 1024;
  results.transfers = {
    mib: BLOB_MIB,
    gatewayOwnProcess: await transfers(gw.port, size, targets.gatewayOwnProcess.procs, 'gateway', CORES, TRANSFER_REPS),
    gatewayInHub: await transfers(hub.port, size, targets.gatewayInHub.procs, 'hub', CORES, TRANSFER_REPS),
  };
  results.config.loadavgAfter = os.loadavg().map((x) => +x.toFixed(2));
  results.targets = verdict(results);
  const json = JSON.stringify(results, null, 2);
  console.log(json);
  if (!QUICK) {
    const out = path.join(__dirname, 'results', 'gateway.json');
    fs.writeFileSync(out, `${json}\n`);
    step(`wrote ${path.relative(process.cwd(), out)}`);
  }
}

/** Step 4 alone (--transfers-only): the three processes of a transfer and the web client, nothing else. */
async function transfersOnly(results, hub, provider, gw) {
  step(`download and upload, ${BLOB_MIB} MiB, ${TRANSFER_REPS} times, nothing else running`);
  const size = BLOB_MIB * 1024 * 1024;
  results.transfers = {
    mib: BLOB_MIB,
    gatewayOwnProcess: await transfers(gw.port, size, { gateway: gw.pid, hub: hub.pid, provider: provider.pid }, 'gateway', CORES, TRANSFER_REPS),
    gatewayInHub: await transfers(hub.port, size, { hub: hub.pid, provider: provider.pid }, 'hub', CORES, TRANSFER_REPS),
  };
  results.config.loadavgAfter = os.loadavg().map((x) => +x.toFixed(2));
  const json = JSON.stringify(results, null, 2);
  console.log(json);
  if (!QUICK) {
    const heap = Number(process.env.GWBENCH_HEAP_MIB || 0);
    const name = process.env.GWBENCH_NO_SCHEMA === '1' ? 'gateway-transfers-no-schema' : NODE_FLAGS.length > 0 ? 'gateway-transfers-flags' : heap > 0 ? `gateway-transfers-heap-${heap}` : 'gateway-transfers';
    results.config.heapMiB = heap;
    results.config.nodeFlags = NODE_FLAGS;
    const out = path.join(__dirname, 'results', `${name}.json`);
    fs.writeFileSync(out, `${json}\n`);
    step(`wrote ${path.relative(process.cwd(), out)}`);
  }
}

/** The targets against this run's figures (each gateway arrangement, the first generator). */
function verdict(r) {
  const g = GENERATORS[0];
  const c = r.calls32[g];
  const best = Math.max(c.gatewayOwnProcess.callsPerSec, c.gatewayInHub.callsPerSec);
  const t = r.transfers;
  return {
    generator: g,
    callsPerSec: { target: 17000, gatewayOwnProcess: c.gatewayOwnProcess.callsPerSec, gatewayInHub: c.gatewayInHub.callsPerSec, met: best >= 17000 },
    idleMachineCeiling: { gatewayOwnProcess: c.gatewayOwnProcess.idleMachineCeiling, gatewayInHub: c.gatewayInHub.idleMachineCeiling },
    vsFastapi: c.fastapi ? { target: 10, ratio: +(best / c.fastapi.callsPerSec).toFixed(1), met: best >= 10 * c.fastapi.callsPerSec } : 'not measured',
    p50OverheadUs: { target: 150, ...r.overheadP50us[g], met: Math.min(...Object.values(r.overheadP50us[g])) <= 150 },
    transferMBps: {
      target: 300,
      'download median [own process, in hub]': [t.gatewayOwnProcess.download.MBps, t.gatewayInHub.download.MBps],
      'upload median [own process, in hub]': [t.gatewayOwnProcess.upload.MBps, t.gatewayInHub.upload.MBps],
      'download best [own process, in hub]': [t.gatewayOwnProcess.download.bestMBps, t.gatewayInHub.download.bestMBps],
      'upload best [own process, in hub]': [t.gatewayOwnProcess.upload.bestMBps, t.gatewayInHub.upload.bestMBps],
      'idle-machine ceiling, download': [t.gatewayOwnProcess.download.idleMachineCeilingMBps, t.gatewayInHub.download.idleMachineCeilingMBps],
      'idle-machine ceiling, upload': [t.gatewayOwnProcess.upload.idleMachineCeilingMBps, t.gatewayInHub.upload.idleMachineCeilingMBps],
    },
    'rssGrowthMiB [download, upload]': {
      target: 64,
      gatewayOwnProcess: [t.gatewayOwnProcess.download.rssGrowthMiB, t.gatewayOwnProcess.upload.rssGrowthMiB],
      gatewayInHub: [t.gatewayInHub.download.rssGrowthMiB, t.gatewayInHub.upload.rssGrowthMiB],
    },
    sseNoDrops: r.sseFanout.gatewayOwnProcess.allReceivedInOrder && r.sseFanout.gatewayInHub.allReceivedInOrder,
  };
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
