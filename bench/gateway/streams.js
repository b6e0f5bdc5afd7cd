// SSE fan-out and file transfers for bench/gateway.bench.js.
'use strict';
const fs = require('node:fs');
const http = require('node:http');

function rssOf(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
}

/**
 * `subs` SSE readers of math:ticks; `publish(n, rate)` has the provider publish n messages;
 * every reader must get every message once, in order.
 */
async function sseFanout(port, subs, messages, rate, publish) {
  const counts = new Array(subs).fill(0);
  const orderOk = new Array(subs).fill(true);
  const reqs = [];
  await Promise.all(Array.from({ length: subs }, (_, i) => new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/channels/math/topics/ticks', agent: false }, (res) => {
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
    req.on('error', reject);
    reqs.push(req);
  })));
  const published = await publish(messages, rate);
  const deadline = Date.now() + 10000;
  while (counts.some((c) => c < messages) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const r of reqs) r.destroy();
  return {
    subscribers: subs,
    messages,
    rate,
    publishMs: published.ms,
    allReceivedInOrder: counts.every((c) => c === messages) && orderOk.every(Boolean),
    minReceived: Math.min(...counts),
  };
}

/** A download of math:blob and an upload of `size` bytes into math:sink; MB/s and the RSS growth of `pid`. */
async function transfers(port, size, pid) {
  const rss0 = rssOf(pid);
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
  try {
    const dl = await new Promise((resolve, reject) => {
      const t0 = Date.now();
      http.get({ host: '127.0.0.1', port, path: '/channels/math/files/blob', agent: false }, (res) => {
        let n = 0;
        res.on('data', (c) => (n += c.length));
        res.on('end', () => resolve({ bytes: n, ms: Date.now() - t0 }));
      }).on('error', reject);
    });
    const chunk = Buffer.alloc(1024 * 1024, 3);
    const ul = await new Promise((resolve, reject) => {
      const t0 = Date.now();
      const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/channels/math/files/sink', agent: false, headers: { 'content-length': size } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, body: text, ms: Date.now() - t0 }));
      });
      req.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < size) {
          sent += chunk.length;
          if (!req.write(chunk)) return req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    return {
      download: { bytes: dl.bytes, MBps: Math.round(dl.bytes / 1e6 / (dl.ms / 1000)) },
      upload: { status: ul.status, answer: ul.body, MBps: Math.round(size / 1e6 / (ul.ms / 1000)) },
      rssGrowthMiB: +((peak - rss0) / 1048576).toFixed(1),
    };
  } finally {
    clearInterval(sampler);
  }
}

module.exports = { sseFanout, transfers };
