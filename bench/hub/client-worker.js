'use strict';
/**
 * The RPC workloads with the package's `HubClient` (dist/) as provider and caller: what an
 * application using the library gets, next to NATS through nc.request(). Same commands as
 * hub-worker.js for the RPC roles (provide, counts, connect, latency, pipeline).
 */
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, nowNs, payload, latencySummary, thin, serveCommands } = require('./common');

function loadHubClient() {
  const pkg = require(path.join(ROOT, 'dist', 'index.js'));
  if (typeof pkg.HubClient === 'function') return pkg.HubClient;
  const direct = path.join(ROOT, 'dist', 'hub', 'client', 'index.js');
  if (fs.existsSync(direct)) return require(direct).HubClient;
  throw new Error('dist/ has no HubClient');
}
const HubClient = loadHubClient();

const CHANNEL = 'bench';
const PAY = payload();
let addr;
let name;
let client;
let ch;
let calls = 0;

async function connectOne() {
  client = new HubClient(addr, { clientId: name, autoReconnect: false });
  await client.connect();
  ch = await client.open(CHANNEL);
}

serveCommands({
  init(args) {
    addr = args.addr;
    name = args.name;
    return true;
  },

  async provide({ events }) {
    await connectOne();
    for (const e of events) {
      if (e.stream) {
        await ch.addEvent(e.event, async function* (msg) {
          calls++;
          for (let i = 0; i < msg.data.n; i++) yield PAY;
        });
      } else {
        const handler = async (msg) => {
          calls++;
          return msg.data;
        };
        if (e.group) await ch.group().addEvent(e.event, handler);
        else await ch.addEvent(e.event, handler);
      }
    }
    return true;
  },

  counts() {
    return { calls };
  },

  async connect() {
    await connectOne();
    return true;
  },

  async latency({ n, warmup = 1000, event = 'echo' }) {
    const samples = new Float64Array(n);
    for (let i = 0; i < n + warmup; i++) {
      const t0 = nowNs();
      await ch.call(event, PAY);
      if (i >= warmup) samples[i - warmup] = nowNs() - t0;
    }
    return { ...latencySummary(samples), samples: thin(samples, 2000) };
  },

  async pipeline({ n, window = 256, event = 'echo' }) {
    let next = 0;
    let errors = 0;
    let firstError;
    const startNs = nowNs();
    const lane = async () => {
      while (next < n) {
        next++;
        try {
          await ch.call(event, PAY, { timeout: 60000 });
        } catch (err) {
          errors++;
          firstError ??= String(err.message || err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, n) }, lane));
    const endNs = nowNs();
    return { n, errors, firstError, startNs, endNs, perSec: Math.round(n / ((endNs - startNs) / 1e9)) };
  },

  async stream({ n }) {
    let chunks = 0;
    let firstNs = 0;
    const startNs = nowNs();
    for await (const c of ch.stream('stream', { n })) {
      void c;
      if (chunks++ === 0) firstNs = nowNs();
    }
    const endNs = nowNs();
    const ms = (endNs - startNs) / 1e6;
    return { chunks, ms: +ms.toFixed(1), firstChunkMs: +((firstNs - startNs) / 1e6).toFixed(2), perSec: Math.round(chunks / (ms / 1000)) };
  },

  async close() {
    await client?.close().catch(() => undefined);
    return true;
  },
});
