'use strict';
/**
 * Shared by the hub benchmark's worker processes (bench/hub/*-worker.js) and its driver
 * (bench/hub.bench.js): the command channel over the fork() IPC link, the payloads, the
 * clock, statistics.
 *
 * Clock: process.hrtime.bigint() is CLOCK_MONOTONIC, the same clock in every process of the
 * machine, so a publisher's send time and a subscriber's receive time can be subtracted.
 * It is carried as a float64 of nanoseconds (exact below 2^53 ns = 104 days of uptime).
 */
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

/** Monotonic nanoseconds (shared by every process of the machine) as a Number. */
function nowNs() {
  return Number(process.hrtime.bigint());
}

/** The 100-byte payload of every workload. Bytes 0-7 may carry a float64 send time. */
const PAYLOAD_BYTES = 100;
function payload(fill = 0x61) {
  return Buffer.alloc(PAYLOAD_BYTES, fill);
}

/** Writes the send time into a fresh copy of the payload. */
function stampedPayload(base) {
  const b = Buffer.from(base);
  b.writeDoubleLE(nowNs(), 0);
  return b;
}

/** The send time stamped by stampedPayload(), from any Uint8Array view. */
function readStamp(u8) {
  return new DataView(u8.buffer, u8.byteOffset, 8).getFloat64(0, true);
}

/** Percentile (0..100) of a sorted numeric array-like. */
function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Sorted copy (Float64Array) of samples. */
function sorted(samples) {
  const a = Float64Array.from(samples);
  a.sort();
  return a;
}

/** Summary of latency samples in nanoseconds -> microseconds. */
function latencySummary(samplesNs) {
  const s = sorted(samplesNs);
  const us = (x) => +(x / 1000).toFixed(1);
  return { n: s.length, p50us: us(pct(s, 50)), p90us: us(pct(s, 90)), p99us: us(pct(s, 99)), maxUs: us(s[s.length - 1] ?? NaN) };
}

/** Every k-th sample (for shipping latency samples to the driver). */
function thin(samples, max) {
  if (samples.length <= max) return Array.from(samples);
  const k = samples.length / max;
  const out = [];
  for (let i = 0; i < max; i++) out.push(samples[Math.floor(i * k)]);
  return out;
}

/**
 * Worker side of the command channel: `handlers[cmd](args)` may return a value or a promise;
 * the driver gets { id, result } or { id, error }. The worker exits when the driver goes away.
 */
function serveCommands(handlers) {
  process.on('message', async (m) => {
    if (!m || typeof m !== 'object' || m.id === undefined) return;
    try {
      const h = handlers[m.cmd];
      if (!h) throw new Error(`unknown command ${m.cmd}`);
      const result = await h(m.args || {});
      process.send({ id: m.id, result: result === undefined ? null : result });
    } catch (err) {
      process.send({ id: m.id, error: String((err && err.stack) || err) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true, pid: process.pid });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

module.exports = { ROOT, nowNs, PAYLOAD_BYTES, payload, stampedPayload, readStamp, pct, sorted, latencySummary, thin, serveCommands, sleep };
