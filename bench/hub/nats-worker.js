'use strict';
/**
 * The NATS reference: the same roles and workloads as hub-worker.js, through nats-server with
 * the @nats-io/transport-node client (CommonJS require works for v3.4).
 *
 *   RPC echo   subscription on `bench.echo` answering msg.respond(msg.data); the caller publishes
 *              with a reply subject to one inbox subscription of its own (per message: one
 *              publish and one callback, as the raw hub caller), or uses nc.request() (the
 *              client library's way, for the "client library" rows).
 *   group      queue subscriptions (queue "g") on `bench.gecho` in 2 provider processes.
 *   stream     `bench.stream` request carrying n; the provider publishes n payloads to the reply
 *              subject, then an empty message (the final).
 *   fan-out    subscriptions to `bench.tick` in separate connections; publications carry their
 *              send time in the first 8 bytes.
 */
const { connect, createInbox, Empty } = require('@nats-io/transport-node');
const { nowNs, payload, stampedPayload, readStamp, latencySummary, thin, serveCommands } = require('./common');

const PAY = payload();
let addr;
let name;
let nc;
let calls = 0;
let inbox;
let onMsg = null; // caller hot path: (msg) => void
const subs = [];
let subLat = [];

function connectOne(suffix = '') {
  return connect({ servers: `${addr.host}:${addr.port}`, name: name + suffix, noEcho: true, maxReconnectAttempts: 0 });
}

async function streamOut(m) {
  const n = new DataView(m.data.buffer, m.data.byteOffset, 4).getUint32(0);
  for (let i = 0; i < n; i++) {
    nc.publish(m.reply, PAY);
    if ((i & 8191) === 8191) await nc.flush(); // bound the client's outgoing buffer
  }
  nc.publish(m.reply, Empty);
}

serveCommands({
  init(args) {
    addr = args.addr;
    name = args.name;
    return true;
  },

  async provide({ events }) {
    nc = await connectOne();
    for (const e of events) {
      if (e.stream) {
        nc.subscribe(`bench.${e.event}`, { callback: (err, m) => { calls++; void streamOut(m); } });
      } else {
        nc.subscribe(`bench.${e.event}`, {
          queue: e.group ? 'g' : undefined,
          callback: (err, m) => {
            calls++;
            m.respond(m.data);
          },
        });
      }
    }
    await nc.flush();
    return true;
  },

  counts() {
    return { calls };
  },

  async connect() {
    nc = await connectOne();
    inbox = createInbox();
    nc.subscribe(inbox, { callback: (err, m) => onMsg && onMsg(m) });
    await nc.flush();
    return true;
  },

  latency({ n, warmup = 1000, event = 'echo' }) {
    return new Promise((resolve) => {
      const samples = new Float64Array(n);
      const subject = `bench.${event}`;
      let i = 0;
      let t0 = 0;
      const send = () => {
        t0 = nowNs();
        nc.publish(subject, PAY, { reply: inbox });
      };
      onMsg = () => {
        const t = nowNs();
        if (i >= warmup) samples[i - warmup] = t - t0;
        i++;
        if (i < n + warmup) send();
        else {
          onMsg = null;
          resolve({ ...latencySummary(samples), samples: thin(samples, 2000) });
        }
      };
      send();
    });
  },

  pipeline({ n, window = 256, event = 'echo' }) {
    return new Promise((resolve) => {
      const subject = `bench.${event}`;
      let sent = 0;
      let done = 0;
      const startNs = nowNs();
      onMsg = () => {
        done++;
        if (sent < n) {
          sent++;
          nc.publish(subject, PAY, { reply: inbox });
        }
        if (done === n) {
          const endNs = nowNs();
          onMsg = null;
          resolve({ n, errors: 0, startNs, endNs, perSec: Math.round(n / ((endNs - startNs) / 1e9)) });
        }
      };
      for (; sent < Math.min(window, n); sent++) nc.publish(subject, PAY, { reply: inbox });
    });
  },

  /** nc.request(): the client library's own request/reply (a timer and a promise per call). */
  async requestLatency({ n, warmup = 1000, event = 'echo' }) {
    const samples = new Float64Array(n);
    for (let i = 0; i < n + warmup; i++) {
      const t0 = nowNs();
      await nc.request(`bench.${event}`, PAY, { timeout: 10000 });
      if (i >= warmup) samples[i - warmup] = nowNs() - t0;
    }
    return { ...latencySummary(samples), samples: thin(samples, 2000) };
  },

  async requestPipeline({ n, window = 256, event = 'echo' }) {
    let next = 0;
    const startNs = nowNs();
    const lane = async () => {
      while (next < n) {
        next++;
        await nc.request(`bench.${event}`, PAY, { timeout: 30000 });
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, n) }, lane));
    const endNs = nowNs();
    return { n, errors: 0, startNs, endNs, perSec: Math.round(n / ((endNs - startNs) / 1e9)) };
  },

  stream({ n }) {
    return new Promise((resolve) => {
      let chunks = 0;
      let firstNs = 0;
      const startNs = nowNs();
      onMsg = (m) => {
        if (m.data.length !== 0) {
          if (chunks++ === 0) firstNs = nowNs();
          return;
        }
        const endNs = nowNs();
        onMsg = null;
        const ms = (endNs - startNs) / 1e6;
        resolve({ chunks, ms: +ms.toFixed(1), firstChunkMs: +((firstNs - startNs) / 1e6).toFixed(2), perSec: Math.round(chunks / (ms / 1000)) });
      };
      const req = new Uint8Array(4);
      new DataView(req.buffer).setUint32(0, n);
      nc.publish('bench.stream', req, { reply: inbox });
    });
  },

  async subscribe({ conns }) {
    for (let k = 0; k < conns; k++) {
      const c = await connectOne(`-${k}`);
      const s = { conn: c, count: 0, lastNs: 0 };
      c.subscribe('bench.tick', {
        callback: (err, m) => {
          const t = nowNs();
          s.count++;
          s.lastNs = t;
          subLat.push(t - readStamp(m.data));
        },
      });
      await c.flush();
      subs.push(s);
    }
    return true;
  },

  subStats({ reset = false, maxSamples = 4000 }) {
    const r = {
      counts: subs.map((s) => s.count),
      lastNs: Math.max(...subs.map((s) => s.lastNs)),
      latency: latencySummary(subLat),
      samples: thin(subLat, maxSamples),
    };
    if (reset) {
      for (const s of subs) {
        s.count = 0;
        s.lastNs = 0;
      }
      subLat = [];
    }
    return r;
  },

  async owner() {
    nc = await connectOne();
    return true;
  },

  /** `batch` publications then a flush (PING/PONG), at most `window` flushes unanswered. */
  publish({ n, batch = 100, window = 2 }) {
    return new Promise((resolve, reject) => {
      let sent = 0;
      let outstanding = 0;
      const startNs = nowNs();
      const pump = () => {
        while (outstanding < window && sent < n) {
          const k = Math.min(batch, n - sent);
          for (let i = 0; i < k; i++) nc.publish('bench.tick', stampedPayload(PAY));
          sent += k;
          outstanding++;
          nc.flush().then(() => {
            outstanding--;
            if (sent < n) pump();
            else if (outstanding === 0) resolve({ n, startNs, endNs: nowNs() });
          }, reject);
        }
      };
      pump();
    });
  },

  async paced({ n, intervalMs = 1 }) {
    const startNs = nowNs();
    for (let i = 0; i < n; i++) {
      nc.publish('bench.tick', stampedPayload(PAY));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    await nc.flush();
    return { n, startNs, endNs: nowNs() };
  },

  async close() {
    await Promise.allSettled([nc?.close(), ...subs.map((s) => s.conn.close())]);
    return true;
  },
});
