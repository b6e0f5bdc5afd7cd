'use strict';
/**
 * Issue 21 items 4 and 6 at full size, on one or two builds of the hub (before/after), every
 * party in its own process with the hub's default options unless said:
 *
 *   pubsub   a HubClient subscriber (it opened the channel first: its owner) receiving 200,000 x
 *            1 KiB publications from a HubClient publisher that awaits each publish(): how many
 *            arrive, in order, and whether the subscriber was cut off;
 *   stream   a HubClient stream consumer that waits 1 ms every 50 chunks, 100,000 chunks of 1 KiB
 *            from a HubClient async generator: how many arrive before the end or the cut;
 *   silent   a raw subscriber that stops reading and sending, with idleTimeout 2 s, while a
 *            publisher sends it 34 MB: how long it stays open (capped at 20 s), and whether it is
 *            told why (the last frame it can read);
 *   hostile  the hostile mix of items 4 and 6 beside a well-behaved pair (a provider and a
 *            caller calling every 10 ms, in their own process), idleTimeout 2 s: a subscriber of
 *            a 34 MB publication run and a caller of 34 MB of stream replies, both reading
 *            nothing, three rounds; the pair's latency and failures, the hub's RSS sampled every
 *            100 ms.
 *
 *   node bench/hub-flow.bench.js [--base DIR] [--only pubsub,stream,silent,hostile]
 *
 * `--base DIR`: the other build's dist/ runs first, then this checkout's dist/ (npm run build).
 * Prints a Markdown table. Never part of `npm test`.
 */
const { fork } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------- child side
async function child() {
  const [dist, role, cfgJson] = process.argv.slice(3);
  const { Hub, HubClient } = require(path.join(dist, 'index.js'));
  const cfg = JSON.parse(cfgJson);
  const say = (m) => process.send(m);
  const client = async (id, extra = {}) => {
    const c = new HubClient({ path: cfg.socket }, { clientId: id, autoReconnect: false, heartbeatInterval: 500, ...extra });
    c.on('error', (e) => say({ ev: 'error', code: e.code }));
    c.on('disconnect', (e) => say({ ev: 'disconnect', code: e && e.code }));
    await c.connect();
    return c;
  };
  const pad = 'x'.repeat(cfg.size ?? 1000);
  if (role === 'hub') {
    const hub = new Hub({ serverId: 'FLOW', ...cfg.hub });
    hub.on('clientError', (e, id) => say({ ev: 'clientError', code: e.code, id }));
    await hub.listen({ path: cfg.socket });
  } else if (role === 'subscriber') {
    const ch = await (await client('sub')).open('news');
    let next = 0;
    let bad = 0;
    await ch.subscribe('tick', (m) => {
      if (m.data.i !== next) bad++;
      next = m.data.i + 1;
      if (next === cfg.n) say({ ev: 'done', received: next, outOfOrder: bad });
    });
    setInterval(() => say({ ev: 'progress', received: next }), 250).unref();
  } else if (role === 'publisher') {
    const ch = await (await client('pub')).open('news');
    await ch.addSubscription('tick');
    process.on('message', async () => {
      const t0 = performance.now();
      let i = 0;
      try {
        for (; i < cfg.n; i++) await ch.publish('tick', { i, pad });
        say({ ev: 'published', ms: performance.now() - t0 });
      } catch (e) {
        say({ ev: 'publishFailed', code: e.code, at: i });
      }
    });
  } else if (role === 'provider') {
    const ch = await (await client('prov')).open('data');
    await ch.addEvent('count', async function* (m) {
      const p = m.data.size ? 'y'.repeat(m.data.size) : pad;
      for (let i = 0; i < m.data.n; i++) yield { i, pad: p };
    });
  } else if (role === 'pair') {
    await (await (await client('good-prov')).open('good')).addEvent('echo', (m) => m.data);
    const ch = await (await client('good-call')).open('good');
    let lat = [];
    let failures = 0;
    setInterval(() => {
      const t0 = performance.now();
      ch.call('echo', { t0 }, { timeout: 5000 }).then(
        () => lat.push(performance.now() - t0),
        () => failures++,
      );
    }, 10);
    process.on('message', () => {
      const s = lat.sort((a, b) => a - b);
      say({ ev: 'report', calls: s.length, failures, p50: s[Math.floor(s.length / 2)], p99: s[Math.floor(s.length * 0.99)], max: s[s.length - 1] });
      lat = [];
      failures = 0;
    });
  } else if (role === 'consumer') {
    const ch = await (await client('cons')).open('data');
    process.on('message', async () => {
      let got = 0;
      let bad = 0;
      const t0 = performance.now();
      try {
        for await (const m of ch.stream('count', { n: cfg.n })) {
          if (m.data.i !== got) bad++;
          got++;
          if (got % 50 === 0) await sleep(1);
        }
        say({ ev: 'done', received: got, outOfOrder: bad, ms: performance.now() - t0 });
      } catch (e) {
        say({ ev: 'failed', received: got, code: e.code, ms: performance.now() - t0 });
      }
    });
  }
  say({ ev: 'ready' });
}

// ---------------------------------------------------------------------------------- driver side
class Party {
  constructor(dist, role, cfg) {
    this.events = [];
    this.waiters = [];
    this.proc = fork(__filename, ['--child', dist, role, JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m) => {
      this.events.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.on('exit', () => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }
  async wait(pred, timeout) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const e = this.events.find(pred);
      if (e) return e;
      if (this.exited || Date.now() > deadline) return undefined;
      await new Promise((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  last(ev) {
    return [...this.events].reverse().find((e) => e.ev === ev);
  }
  kill() {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}

async function scenario(dist, name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeio-hub-flow-'));
  const socket = path.join(dir, 'hub.sock');
  const parties = [];
  const start = async (role, cfg) => {
    const p = new Party(dist, role, { socket, ...cfg });
    parties.push(p);
    if (!(await p.wait((e) => e.ev === 'ready', 30000))) throw new Error(`${role} not ready`);
    return p;
  };
  try {
    if (name === 'pubsub') {
      const n = 200_000;
      const hub = await start('hub', {});
      const sub = await start('subscriber', { n });
      const pub = await start('publisher', { n });
      const t0 = Date.now();
      pub.proc.send('go');
      const end = await sub.wait((e) => e.ev === 'done' || e.ev === 'disconnect', 300000);
      const cut = hub.events.filter((e) => e.ev === 'clientError').map((e) => `${e.id}: ${e.code}`);
      return {
        scenario: `pub/sub ${n.toLocaleString('en-US')} x 1 KiB`,
        outcome: end?.ev === 'done' ? `all ${end.received.toLocaleString('en-US')} received, ${end.outOfOrder} out of order` : `cut off after ${(sub.last('progress')?.received ?? 0).toLocaleString('en-US')} (${end?.code ?? 'no end'})`,
        seconds: ((Date.now() - t0) / 1000).toFixed(1),
        told: sub.events.filter((e) => e.ev === 'error').map((e) => e.code).join(', ') || '-',
        hub: cut.join(', ') || '-',
      };
    }
    if (name === 'stream') {
      const n = 100_000;
      const hub = await start('hub', {});
      await start('provider', {});
      const cons = await start('consumer', { n });
      cons.proc.send('go');
      const end = await cons.wait((e) => e.ev === 'done' || e.ev === 'failed', 300000);
      return {
        scenario: `stream ${n.toLocaleString('en-US')} x 1 KiB, consumer waits 1 ms / 50 chunks`,
        outcome: end?.ev === 'done' ? `all ${end.received.toLocaleString('en-US')} received, ${end.outOfOrder} out of order` : `failed after ${end?.received?.toLocaleString('en-US')} (${end?.code})`,
        seconds: end ? (end.ms / 1000).toFixed(1) : '-',
        told: cons.events.filter((e) => e.ev === 'error').map((e) => e.code).join(', ') || '-',
        hub: hub.events.filter((e) => e.ev === 'clientError').map((e) => `${e.id}: ${e.code}`).join(', ') || '-',
      };
    }
    if (name === 'silent') {
      const hub = await start('hub', { hub: { idleTimeout: 2000 } });
      const pub = await start('publisher', { n: 34_000 });
      const s = net.connect(socket);
      const frames = [];
      const { FrameReader } = require(path.join(dist, 'hub', 'protocol', 'frame-reader.js'));
      const { decodeClientFrame, encodeFrame } = require(path.join(dist, 'hub', 'protocol', 'codec.js'));
      const reader = new FrameReader(1 << 30);
      s.on('data', (d) => {
        for (const p of reader.push(d)) frames.push(decodeClientFrame(p));
      });
      let closed = false;
      s.on('close', () => (closed = true));
      s.on('error', () => undefined);
      await new Promise((r) => s.once('connect', r));
      s.write(encodeFrame({ type: 'identify', client_id: 'silent' }));
      s.write(encodeFrame({ type: 'subscribe', channel: 'news', sub_name: 'tick', request_id: 's' }));
      while (!frames.some((f) => f.request_id === 's')) await sleep(5);
      s.pause();
      const t0 = Date.now();
      pub.proc.send('go');
      const cut = await hub.wait((e) => e.ev === 'clientError' && e.id === 'silent', 20000);
      const openFor = (Date.now() - t0) / 1000;
      s.resume();
      const deadline = Date.now() + 10000;
      while (!closed && Date.now() < deadline) await sleep(10);
      const last = frames[frames.length - 1];
      s.destroy();
      return {
        scenario: 'silent subscriber, idleTimeout 2 s, 34 MB published',
        outcome: cut ? `closed after ${openFor.toFixed(1)} s` : `still open after ${openFor.toFixed(1)} s`,
        seconds: openFor.toFixed(1),
        // Once it reads again it is no longer silent: only a cut while it was counts.
        told: !cut ? '- (never cut off while silent)' : last && last.type === 'error' ? `error frame ${last.code}` : 'no error frame',
        hub: cut ? `silent: ${cut.code}` : '-',
      };
    }
    if (name === 'hostile') {
      const hub = await start('hub', { hub: { idleTimeout: 2000 } });
      const pair = await start('pair', {});
      await start('provider', {});
      const pub = await start('publisher', { n: 520, size: 65536 });
      const { encodeFrame } = require(path.join(dist, 'hub', 'protocol', 'codec.js'));
      const rss = [];
      const sampler = setInterval(() => {
        try {
          const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${hub.proc.pid}/status`, 'utf8'));
          if (m) rss.push(Number(m[1]) / 1024);
        } catch {
          // gone
        }
      }, 100);
      const rawClient = async (id) => {
        const c = net.connect(socket);
        c.on('error', () => undefined);
        await new Promise((r) => c.once('connect', r));
        c.write(encodeFrame({ type: 'identify', client_id: id }));
        return c;
      };
      pair.proc.send('report');
      await pair.wait((e) => e.ev === 'report', 10000);
      pair.events.length = 0;
      const t0 = Date.now();
      for (let round = 0; round < 3; round++) {
        // A subscriber of 520 x 64 KiB (34 MB) that reads nothing.
        const silent = await rawClient(`silent${round}`);
        silent.write(encodeFrame({ type: 'subscribe', channel: 'news', sub_name: 'tick', request_id: 's' }));
        await sleep(100);
        silent.pause();
        // A caller of 34 MB of stream replies (4 streams of 130 x 64 KiB) that reads nothing.
        const flood = await rawClient(`flood${round}`);
        flood.write(encodeFrame({ type: 'register', client_id: `flood${round}`, channel: 'data', request_id: 'o' }));
        for (let i = 0; i < 4; i++) flood.write(encodeFrame({ type: 'call', channel: 'data', event: 'count', request_id: `f${i}`, data: { n: 130, size: 65536 }, is_stream: true }));
        flood.pause();
        pub.proc.send('go');
        await hub.wait((e) => e.ev === 'clientError' && e.id === `silent${round}`, 20000);
        await hub.wait((e) => e.ev === 'clientError' && e.id === `flood${round}`, 20000);
        await pub.wait(() => pub.events.filter((x) => x.ev === 'published').length > round, 30000);
        silent.destroy();
        flood.destroy();
      }
      pair.proc.send('report');
      const rep = await pair.wait((e) => e.ev === 'report', 10000);
      clearInterval(sampler);
      const cuts = hub.events.filter((e) => e.ev === 'clientError').map((e) => e.code);
      const codes = [...new Set(cuts)].map((c) => `${c} x${cuts.filter((x) => x === c).length}`).join(', ');
      return {
        scenario: `hostile mix, 3 rounds (pair: ${rep.calls} calls)`,
        outcome: `pair p50 ${rep.p50.toFixed(1)} ms, p99 ${rep.p99.toFixed(1)} ms, max ${rep.max.toFixed(1)} ms, ${rep.failures} failed; hub RSS MiB start ${rss[0]?.toFixed(0)}, peak ${Math.max(...rss).toFixed(0)}, end ${rss[rss.length - 1]?.toFixed(0)}`,
        seconds: ((Date.now() - t0) / 1000).toFixed(1),
        told: '-',
        hub: codes || '-',
      };
    }
    throw new Error(`unknown scenario ${name}`);
  } finally {
    for (const p of parties) p.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const argv = process.argv.slice(2);
  let base;
  let only = ['pubsub', 'stream', 'silent', 'hostile'];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--base') base = path.resolve(argv[++i]);
    else if (argv[i] === '--only') only = argv[++i].split(',');
    else throw new Error(`unknown option ${argv[i]}`);
  }
  const builds = [...(base ? [['before', base]] : []), ['after', path.join(ROOT, 'dist')]];
  const rows = ['| build | scenario | outcome | seconds | the client was told | hub clientError |', '|---|---|---|---:|---|---|'];
  for (const [label, dist] of builds) {
    for (const name of only) {
      console.error(`hub-flow: ${label}: ${name}`);
      const r = await scenario(dist, name);
      rows.push(`| ${label} | ${r.scenario} | ${r.outcome} | ${r.seconds} | ${r.told} | ${r.hub} |`);
    }
  }
  console.log(rows.join('\n'));
}

if (process.argv[2] === '--child') {
  child().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
