'use strict';
/**
 * A benchmark worker speaking the hub's raw wire (bench/hub/raw-wire.js): provider, caller,
 * subscriber or publisher, as the driver (bench/hub.bench.js) commands over the fork() IPC
 * link. Per message it does one msgpackr decode and, when it answers, one encode: what any
 * client must do at least, so the figures are the hub's.
 *
 * Workloads (channel "bench"): `echo` (RPC, 100-byte bin payload sent back), `gecho` (the same
 * as a group event), `stream` (answers { n } with n chunks of the payload, then is_final),
 * subscription "tick" (publications carry their send time in the payload's first 8 bytes).
 */
const { nowNs, payload, stampedPayload, readStamp, latencySummary, thin, serveCommands } = require('./common');
const { RawConn, encodeFrame } = require('./raw-wire');

const CHANNEL = 'bench';
const SUB = 'tick';
const PAY = payload();

let addr;
let name;
let conn; // provider / caller / publisher connection
let calls = 0; // calls served (provider)
let subs = []; // subscriber connections: { conn, count, lastNs }
let subLat = [];

function callFrame(event, rid, data = PAY) {
  return encodeFrame({ type: 'call', channel: CHANNEL, event, data, request_id: rid, is_final: true });
}

/** Provider hot path: echo calls at once; stream calls through streamOut(). */
function serve(f) {
  if (f.type !== 'call') return;
  calls++;
  if (f.event === 'stream') {
    void streamOut(f);
    return;
  }
  conn.queue(encodeFrame({ type: 'response', request_id: f.request_id, target_id: f.sender_id, data: f.data }));
}

/** Sends n identical chunks (pre-encoded, 256 per write, honouring backpressure) and the final frame. */
async function streamOut(f) {
  const n = f.data.n;
  const base = { type: 'response', request_id: f.request_id, target_id: f.sender_id, is_stream: true };
  const chunk = encodeFrame({ ...base, data: PAY, is_final: false });
  const per = 256;
  const batch = Buffer.concat(Array(per).fill(chunk));
  let left = n;
  while (left > 0) {
    const k = Math.min(per, left);
    const ok = conn.socket.write(k === per ? batch : batch.subarray(0, k * chunk.length));
    left -= k;
    if (!ok) await new Promise((r) => conn.socket.once('drain', r));
  }
  conn.socket.write(encodeFrame({ ...base, data: null, is_final: true }));
}

async function connectOne(suffix = '') {
  return RawConn.identified(addr, name + suffix);
}

serveCommands({
  init(args) {
    addr = args.addr;
    name = args.name;
    return true;
  },

  /** events: [{ event, group, stream }] on one connection. */
  async provide({ events }) {
    conn = await connectOne();
    for (const e of events) await conn.provide(CHANNEL, e.event, e);
    conn.onFrame = serve;
    return true;
  },

  counts() {
    return { calls };
  },

  async connect() {
    conn = await connectOne();
    return true;
  },

  /** Sequential round trips: n timed after `warmup` untimed. */
  latency({ n, warmup = 1000, event = 'echo' }) {
    return new Promise((resolve, reject) => {
      const samples = new Float64Array(n);
      let i = 0;
      let t0 = 0;
      const send = () => {
        t0 = nowNs();
        conn.queue(callFrame(event, `l${i}`));
      };
      conn.onFrame = (f) => {
        if (f.type !== 'response') return;
        const t = nowNs();
        if (f.error) {
          conn.onFrame = null;
          reject(new Error(`call failed: ${f.error}`));
          return;
        }
        if (i >= warmup) samples[i - warmup] = t - t0;
        i++;
        if (i < n + warmup) send();
        else {
          conn.onFrame = null;
          resolve({ ...latencySummary(samples), samples: thin(samples, 2000) });
        }
      };
      send();
      conn.flush();
    });
  },

  /** n calls with `window` outstanding on one connection. */
  pipeline({ n, window = 256, event = 'echo' }) {
    return new Promise((resolve) => {
      let sent = 0;
      let done = 0;
      let errors = 0;
      let firstError;
      const startNs = nowNs();
      conn.onFrame = (f) => {
        if (f.type !== 'response') return;
        if (f.error) {
          errors++;
          firstError ??= f.error;
        }
        done++;
        if (sent < n) conn.queue(callFrame(event, `p${sent++}`));
        if (done === n) {
          const endNs = nowNs();
          conn.onFrame = null;
          resolve({ n, errors, firstError, startNs, endNs, perSec: Math.round(n / ((endNs - startNs) / 1e9)) });
        }
      };
      while (sent < Math.min(window, n)) conn.queue(callFrame(event, `p${sent++}`));
      conn.flush();
    });
  },

  /** One stream call of n chunks: time to first chunk, to final, chunks/s. */
  stream({ n, rid = 's' }) {
    return new Promise((resolve, reject) => {
      let chunks = 0;
      let firstNs = 0;
      const startNs = nowNs();
      conn.onFrame = (f) => {
        if (f.type !== 'response' || f.request_id !== rid) return;
        if (f.error) return reject(new Error(`stream failed: ${f.error}`));
        if (!f.is_final) {
          if (chunks++ === 0) firstNs = nowNs();
          return;
        }
        const endNs = nowNs();
        conn.onFrame = null;
        const ms = (endNs - startNs) / 1e6;
        resolve({ chunks, ms: +ms.toFixed(1), firstChunkMs: +((firstNs - startNs) / 1e6).toFixed(2), perSec: Math.round(chunks / (ms / 1000)) });
      };
      conn.send({ type: 'call', channel: CHANNEL, event: 'stream', data: { n }, request_id: rid, is_stream: true, is_final: false });
    });
  },

  /** `conns` subscriber connections to CHANNEL/SUB in this process. */
  async subscribe({ conns }) {
    const dataEvent = `subscription.${SUB}.data`;
    for (let k = 0; k < conns; k++) {
      const c = await connectOne(`-${k}`);
      const res = await c.request({ type: 'subscribe', channel: CHANNEL, sub_name: SUB, request_id: 'sub' });
      if (res.error) throw new Error(`subscribe: ${res.error}`);
      const s = { conn: c, count: 0, lastNs: 0 };
      c.onFrame = (f) => {
        if (f.type !== 'receive' || f.event !== dataEvent) return;
        const t = nowNs();
        s.count++;
        s.lastNs = t;
        subLat.push(t - readStamp(f.data));
      };
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

  /** Becomes the owner of CHANNEL/SUB. */
  async owner() {
    conn = await connectOne();
    const res = await conn.request({ type: 'add_subscription', channel: CHANNEL, sub_name: SUB, return_schema: null, request_id: 'own' });
    if (res.error) throw new Error(`add_subscription: ${res.error}`);
    conn.onFrame = () => undefined;
    return true;
  },

  /**
   * n publications as fast as the hub takes them: `batch` publications then a ping, at most
   * `window` pings unanswered (the hub answers a ping after it has handled what came before).
   */
  publish({ n, batch = 100, window = 2 }) {
    return new Promise((resolve) => {
      let sent = 0;
      let outstanding = 0;
      const startNs = nowNs();
      const pump = () => {
        while (outstanding < window && sent < n) {
          const k = Math.min(batch, n - sent);
          for (let i = 0; i < k; i++) conn.queue(encodeFrame({ type: 'publish', channel: CHANNEL, sub_name: SUB, data: stampedPayload(PAY) }));
          sent += k;
          conn.queuePing();
          outstanding++;
        }
        conn.flush();
      };
      conn.onFrame = (f) => {
        if (f.type !== 'pong') return;
        outstanding--;
        if (sent < n) pump();
        else if (outstanding === 0) {
          conn.onFrame = () => undefined;
          resolve({ n, startNs, endNs: nowNs() });
        }
      };
      pump();
    });
  },

  /** n publications, one every intervalMs (unloaded delivery latency). */
  async paced({ n, intervalMs = 1 }) {
    const startNs = nowNs();
    for (let i = 0; i < n; i++) {
      conn.send({ type: 'publish', channel: CHANNEL, sub_name: SUB, data: stampedPayload(PAY) });
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    return { n, startNs, endNs: nowNs() };
  },

  close() {
    conn?.close();
    for (const s of subs) s.conn.close();
    return true;
  },
});
