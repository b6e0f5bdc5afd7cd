'use strict';
/**
 * Federation benchmark (issue 9): what a hop through NATS costs. In one run, the same
 * workloads on
 *   one hub      caller and provider (publisher and subscriber) on one Hub process;
 *   two hubs     caller on hub A, provider on hub B, the hubs federated through nats-server;
 *   bare NATS    the same client library (@nats-io/transport-node): nc.request()/respond
 *                and publish/subscribe, no hub.
 * Workloads (100-byte payload):
 *   rpc latency     sequential calls: p50 / p99
 *   rpc throughput  one connection, 64 calls outstanding: calls/s
 *   pub/sub         one publisher, one subscriber: deliveries/s (1,000 unacknowledged at
 *                   most), and the p50 latency of sequential publish -> delivery
 *   group split     1,000 sequential calls over 2 providers on 2 hubs (round-robin, our own
 *                   balancing) next to a NATS queue group of 2 (NATS' random pick)
 * Hubs run in their own processes (bench/federation/hub-process.js); clients (raw comm-ipc
 * wire with the package's codec) and NATS clients run in this process.
 *
 *   npm run build && node bench/hub-federation.bench.js [--quick] [--out FILE]
 *
 * Prints a Markdown table; writes JSON to --out (default bench/results/hub-federation.json).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
if (!fs.existsSync(path.join(DIST, 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
const { encodeFrame, decodeClientFrame } = require(path.join(DIST, 'hub', 'protocol', 'codec.js'));
const { FrameReader } = require(path.join(DIST, 'hub', 'protocol', 'frame-reader.js'));
const nats = require('@nats-io/transport-node');

const quick = process.argv.includes('--quick');
const outArg = process.argv.indexOf('--out');
const OUT = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(__dirname, 'results', 'hub-federation.json');
const K = quick ? 0.2 : 1;
const N = { latency: Math.round(5000 * K), warm: 500, rpc: Math.round(50000 * K), window: 64, pub: Math.round(100000 * K), pubLatency: Math.round(3000 * K), split: 1000 };
const PAYLOAD = Buffer.alloc(100, 0x61);
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const now = () => Number(process.hrtime.bigint());
function summary(samples) {
  const s = Float64Array.from(samples).sort();
  const at = (p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  return { p50us: +(at(50) / 1000).toFixed(1), p99us: +(at(99) / 1000).toFixed(1) };
}

// -- processes ---------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startNats() {
  const port = await freePort();
  const proc = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  children.add(proc);
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => net.connect(port, '127.0.0.1', function () { this.destroy(); r(true); }).on('error', () => r(false)));
    if (ok) return { proc, url: `nats://127.0.0.1:${port}` };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('nats-server did not start');
}

function startHub(dir, serverId, natsUrl, wantPeers) {
  const socket = path.join(dir, `${serverId}.sock`);
  const proc = spawn(process.execPath, [path.join(__dirname, 'federation', 'hub-process.js'), JSON.stringify({ serverId, socket, nats: natsUrl })], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  let ready = false;
  let peers = 0;
  proc.stdout.setEncoding('utf8').on('data', (d) => {
    for (const line of d.split('\n')) {
      if (line === 'READY') ready = true;
      else if (line.startsWith('PEERS ')) peers = Number(line.slice(6));
    }
  });
  const hub = { proc, socket, serverId };
  hub.ready = (async () => {
    for (let i = 0; i < 800 && !(ready && peers >= wantPeers); i++) await new Promise((r) => setTimeout(r, 25));
    if (!ready || peers < wantPeers) throw new Error(`hub ${serverId} not ready`);
  })();
  return hub;
}

// -- a raw comm-ipc client -----------------------------------------------------------------

class Client {
  static async connect(socketPath, id) {
    const c = new Client();
    await new Promise((resolve, reject) => {
      c.sock = net.connect(socketPath, resolve).once('error', reject);
    });
    c.sock.setNoDelay(true);
    c.reader = new FrameReader(1 << 26);
    c.handlers = [];
    c.waiting = new Map();
    c.sock.on('data', (chunk) => {
      for (const p of c.reader.push(chunk)) c.dispatch(decodeClientFrame(p));
    });
    c.send({ type: 'identify', client_id: id });
    await c.once((f) => f.type === 'identified');
    return c;
  }
  dispatch(f) {
    if (f.type === 'response' && this.waiting.has(f.request_id)) {
      const w = this.waiting.get(f.request_id);
      this.waiting.delete(f.request_id);
      w(f);
      return;
    }
    for (const h of this.handlers) if (h(f)) return;
  }
  on(h) {
    this.handlers.push(h);
  }
  once(match) {
    return new Promise((resolve) => {
      const h = (f) => {
        if (!match(f)) return false;
        this.handlers.splice(this.handlers.indexOf(h), 1);
        resolve(f);
        return true;
      };
      this.handlers.push(h);
    });
  }
  send(m) {
    this.sock.write(encodeFrame(m));
  }
  request(m) {
    return new Promise((resolve) => {
      this.waiting.set(m.request_id, resolve);
      this.send(m);
    });
  }
  close() {
    this.sock.destroy();
  }
}

let rid = 0;
const nextRid = () => `r${++rid}`;

async function provideEcho(c, group = false, onCall) {
  await c.request({ type: 'register', request_id: nextRid(), channel: 'bench', is_provider: true, event: 'echo', is_stream: false, is_group: group });
  c.on((f) => {
    if (f.type !== 'call') return false;
    onCall?.();
    c.send({ type: 'response', request_id: f.request_id, target_id: f.sender_id, data: f.data });
    return true;
  });
}

async function waitCallable(c) {
  for (let i = 0; i < 400; i++) {
    const r = await c.request({ type: 'call', channel: 'bench', event: 'echo', data: PAYLOAD, request_id: nextRid() });
    if (!r.error) return;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error('provider never became callable');
}

// -- workloads: hub --------------------------------------------------------------------------

async function hubRpc(caller) {
  const call = () => caller.request({ type: 'call', channel: 'bench', event: 'echo', data: PAYLOAD, request_id: nextRid() });
  for (let i = 0; i < N.warm; i++) await call();
  const lat = [];
  for (let i = 0; i < N.latency; i++) {
    const t = now();
    await call();
    lat.push(now() - t);
  }
  const t0 = now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: N.window }, async () => {
      while (sent < N.rpc) {
        sent++;
        const r = await call();
        if (r.error) throw new Error(r.error);
      }
    }),
  );
  return { ...summary(lat), callsPerS: Math.round(N.rpc / ((now() - t0) / 1e9)) };
}

async function hubPubSub(owner, sub) {
  await owner.request({ type: 'add_subscription', channel: 'bench', sub_name: 't', request_id: nextRid() });
  await sub.request({ type: 'subscribe', channel: 'bench', sub_name: 't', request_id: nextRid() });
  let got = 0;
  let wake;
  sub.on((f) => {
    if (f.type !== 'receive') return false;
    got++;
    wake?.();
    return true;
  });
  const until = async (n) => {
    while (got < n) await new Promise((r) => (wake = r));
    wake = undefined;
  };
  // Wait until the subscription reached the owner's hub.
  for (let i = 1; got === 0; i++) {
    owner.send({ type: 'publish', channel: 'bench', sub_name: 't', data: PAYLOAD });
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 100));
  const lat = [];
  for (let i = 0; i < N.pubLatency; i++) {
    const base = got;
    const t = now();
    owner.send({ type: 'publish', channel: 'bench', sub_name: 't', data: PAYLOAD });
    await until(base + 1);
    lat.push(now() - t);
  }
  const base = got;
  const t0 = now();
  for (let i = 0; i < N.pub; i++) {
    owner.send({ type: 'publish', channel: 'bench', sub_name: 't', data: PAYLOAD });
    if (i - (got - base) > 1000) await until(got + 1);
  }
  await until(base + N.pub);
  return { ...summary(lat), msgsPerS: Math.round(N.pub / ((now() - t0) / 1e9)) };
}

async function hubScenario(dir, natsUrl, twoHubs) {
  const a = startHub(dir, twoHubs ? 'A' : 'solo', twoHubs ? natsUrl : undefined, twoHubs ? 1 : 0);
  const b = twoHubs ? startHub(dir, 'B', natsUrl, 1) : a;
  await Promise.all([a.ready, b.ready]);
  const provider = await Client.connect(b.socket, 'P');
  await provideEcho(provider);
  const caller = await Client.connect(a.socket, 'C');
  await waitCallable(caller);
  const rpc = await hubRpc(caller);
  const owner = await Client.connect(a.socket, 'O');
  const sub = await Client.connect(b.socket, 'S');
  const pubsub = await hubPubSub(owner, sub);
  for (const c of [provider, caller, owner, sub]) c.close();
  for (const h of twoHubs ? [a, b] : [a]) h.proc.kill('SIGTERM');
  return { rpc, pubsub };
}

async function hubSplit(dir, natsUrl) {
  const a = startHub(dir, 'SA', natsUrl, 1);
  const b = startHub(dir, 'SB', natsUrl, 1);
  await Promise.all([a.ready, b.ready]);
  const counts = { P1: 0, P2: 0 };
  const p1 = await Client.connect(a.socket, 'P1');
  await provideEcho(p1, true, () => counts.P1++);
  const p2 = await Client.connect(b.socket, 'P2');
  await provideEcho(p2, true, () => counts.P2++);
  const c = await Client.connect(a.socket, 'SC');
  while (counts.P2 === 0) await waitCallable(c); // until P2 is known on A
  counts.P1 = counts.P2 = 0;
  for (let i = 0; i < N.split; i++) await c.request({ type: 'call', channel: 'bench', event: 'echo', data: PAYLOAD, request_id: nextRid() });
  for (const x of [p1, p2, c]) x.close();
  a.proc.kill('SIGTERM');
  b.proc.kill('SIGTERM');
  return counts;
}

// -- workloads: bare NATS -------------------------------------------------------------------

async function natsScenario(url) {
  const responder = await nats.connect({ servers: url });
  const requester = await nats.connect({ servers: url });
  responder.subscribe('bench.echo', { callback: (_e, m) => m.respond(m.data) });
  await responder.flush();
  for (let i = 0; i < N.warm; i++) await requester.request('bench.echo', PAYLOAD, { timeout: 5000 });
  const lat = [];
  for (let i = 0; i < N.latency; i++) {
    const t = now();
    await requester.request('bench.echo', PAYLOAD, { timeout: 5000 });
    lat.push(now() - t);
  }
  const t0 = now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: N.window }, async () => {
      while (sent < N.rpc) {
        sent++;
        await requester.request('bench.echo', PAYLOAD, { timeout: 10000 });
      }
    }),
  );
  const rpc = { ...summary(lat), callsPerS: Math.round(N.rpc / ((now() - t0) / 1e9)) };
  let got = 0;
  let wake;
  responder.subscribe('bench.topic', {
    callback: () => {
      got++;
      wake?.();
    },
  });
  await responder.flush();
  const until = async (n) => {
    while (got < n) await new Promise((r) => (wake = r));
    wake = undefined;
  };
  const plat = [];
  for (let i = 0; i < N.pubLatency; i++) {
    const base = got;
    const t = now();
    requester.publish('bench.topic', PAYLOAD);
    await until(base + 1);
    plat.push(now() - t);
  }
  const base = got;
  const t1 = now();
  for (let i = 0; i < N.pub; i++) {
    requester.publish('bench.topic', PAYLOAD);
    if (i - (got - base) > 1000) await until(got + 1);
  }
  await until(base + N.pub);
  const pubsub = { ...summary(plat), msgsPerS: Math.round(N.pub / ((now() - t1) / 1e9)) };
  // A queue group of 2: NATS' own balancing for 1,000 sequential requests.
  const split = { q1: 0, q2: 0 };
  const qa = await nats.connect({ servers: url });
  const qb = await nats.connect({ servers: url });
  qa.subscribe('bench.q', { queue: 'g', callback: (_e, m) => (split.q1++, m.respond(m.data)) });
  qb.subscribe('bench.q', { queue: 'g', callback: (_e, m) => (split.q2++, m.respond(m.data)) });
  await Promise.all([qa.flush(), qb.flush()]);
  for (let i = 0; i < N.split; i++) await requester.request('bench.q', PAYLOAD, { timeout: 5000 });
  for (const nc of [responder, requester, qa, qb]) await nc.close();
  return { rpc, pubsub, split };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeio-fed-bench-'));
  const n = await startNats();
  try {
    log('one hub ...');
    const one = await hubScenario(dir, n.url, false);
    log('two hubs through NATS ...');
    const two = await hubScenario(dir, n.url, true);
    log('bare NATS ...');
    const bare = await natsScenario(n.url);
    log('group split ...');
    const split = await hubSplit(dir, n.url);
    const result = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, load: os.loadavg(), sizes: N, one, two, bare, split: { hubs: split, natsQueueGroup: bare.split } };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(result, null, 2));
    const row = (name, r) => `| ${name} | ${r.rpc.p50us} | ${r.rpc.p99us} | ${r.rpc.callsPerS} | ${r.pubsub.p50us} | ${r.pubsub.msgsPerS} |`;
    const out = [
      `Federation benchmark, ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join('/')}, node ${process.version}${quick ? ' (--quick)' : ''}`,
      '',
      '| setup | RPC p50 µs | RPC p99 µs | RPC calls/s (64 outstanding) | pub→sub p50 µs | pub/sub msgs/s |',
      '|---|---|---|---|---|---|',
      row('one hub', one),
      row('two hubs via NATS', two),
      row('bare NATS', bare),
      '',
      `Added by the NATS hop (two hubs - one hub): RPC p50 +${(two.rpc.p50us - one.rpc.p50us).toFixed(1)} µs, ` +
        `pub/sub p50 +${(two.pubsub.p50us - one.pubsub.p50us).toFixed(1)} µs; throughput ×${(two.rpc.callsPerS / one.rpc.callsPerS).toFixed(2)} (RPC), ` +
        `×${(two.pubsub.msgsPerS / one.pubsub.msgsPerS).toFixed(2)} (pub/sub).`,
      `Group split of ${N.split} sequential calls: hubs (round-robin, own balancing) ${split.P1}/${split.P2}; NATS queue group ${bare.split.q1}/${bare.split.q2}.`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
