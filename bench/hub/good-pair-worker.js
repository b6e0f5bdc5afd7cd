'use strict';
/**
 * The well-behaved pair of bench/hub-hostile.bench.js: a provider and a caller (the package's
 * HubClient from dist/) in this process; the caller calls `good:echo` every 10 ms while the
 * hostile workloads run elsewhere. Commands: start { addr } (resolves once calls go through),
 * report -> { calls, failures, p50Ms, p99Ms, maxMs } since the previous report, close.
 */
const path = require('node:path');
const { ROOT, serveCommands } = require('./common');

const { HubClient } = require(path.join(ROOT, 'dist', 'index.js'));

let provider;
let caller;
let timer;
let latencies = [];
let failures = [];

serveCommands({
  async start({ addr, intervalMs = 10 }) {
    provider = new HubClient(addr, { clientId: 'good-provider', autoReconnect: false });
    caller = new HubClient(addr, { clientId: 'good-caller', autoReconnect: false, callTimeout: 10000 });
    provider.on('error', () => undefined);
    caller.on('error', () => undefined);
    await provider.connect();
    await caller.connect();
    await (await provider.open('good')).addEvent('echo', async (msg) => msg.data);
    const ch = await caller.open('good');
    await ch.call('echo', 0);
    let n = 0;
    timer = setInterval(() => {
      const i = ++n;
      const t0 = performance.now();
      ch.call('echo', i).then(
        () => latencies.push(performance.now() - t0),
        (err) => {
          failures.push(err.code || String(err));
          latencies.push(performance.now() - t0);
        },
      );
    }, intervalMs);
    return true;
  },
  report() {
    const s = latencies.sort((a, b) => a - b);
    const at = (q) => (s.length ? s[Math.max(0, Math.ceil(s.length * q) - 1)] : 0);
    const out = { calls: s.length, failures: failures.length, failureCodes: [...new Set(failures)], p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
    latencies = [];
    failures = [];
    return out;
  },
  async close() {
    clearInterval(timer);
    await Promise.all([caller && caller.close(), provider && provider.close()]);
    return true;
  },
});
