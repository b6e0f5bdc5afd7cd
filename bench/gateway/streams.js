// SSE fan-out and file transfers for bench/gateway.bench.js.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const { cpuOf } = require('./load.js');

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

/**
 * While `run` moves `bytes`: CPU ms per MiB of each process (and of this one, the web client),
 * the MB/s that allows on an idle machine, and the RSS growth of `rssPid` (peak over its RSS before).
 */
async function withCpu(procs, cores, bytes, rssPid, run) {
  const before = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuOf(pid).self]));
  const rss0 = rssOf(rssPid);
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(rssPid))), 10);
  const self0 = process.cpuUsage();
  let result;
  try {
    result = await run();
  } finally {
    clearInterval(sampler);
  }
  const self = process.cpuUsage(self0);
  const mib = bytes / 1048576;
  const cpuMsPerMiB = {};
  for (const [k, pid] of Object.entries(procs)) cpuMsPerMiB[k] = +((cpuOf(pid).self - before[k]) / 1000 / mib).toFixed(2);
  cpuMsPerMiB.client = +((self.user + self.system) / 1000 / mib).toFixed(2);
  const total = Object.values(cpuMsPerMiB).reduce((a, b) => a + b, 0);
  const busiest = Math.max(...Object.values(cpuMsPerMiB));
  const ceiling = Math.min(cores / total, 1 / busiest) * 1000 * 1.048576; // MB/s
  return { ...result, cpuMsPerMiB, idleMachineCeilingMBps: Math.round(ceiling), rssGrowthMiB: +((peak - rss0) / 1048576).toFixed(1) };
}

/**
 * A download of math:blob and an upload of `size` bytes into math:sink: MB/s, the CPU each of
 * `procs` spent per MiB, and the RSS growth of `procs[rssName]` (the process serving the gateway)
 * during each.
 */
async function transferOnce(port, size, procs, rssName, cores) {
  const pid = procs[rssName];
  const dl = await withCpu(procs, cores, size, pid, () => new Promise((resolve, reject) => {
    const t0 = Date.now();
    http.get({ host: '127.0.0.1', port, path: '/channels/math/files/blob', agent: false }, (res) => {
      let n = 0;
      res.on('data', (c) => (n += c.length));
      res.on('end', () => resolve({ bytes: n, ms: Date.now() - t0 }));
    }).on('error', reject);
  }));
  const chunk = Buffer.alloc(1024 * 1024, 3);
  const ul = await withCpu(procs, cores, size, pid, () => new Promise((resolve, reject) => {
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
  }));
  const rate = (bytes, ms) => Math.round(bytes / 1e6 / (ms / 1000));
  const about = (r) => ({ MBps: rate(size, r.ms), rssGrowthMiB: r.rssGrowthMiB, cpuMsPerMiB: r.cpuMsPerMiB, idleMachineCeilingMBps: r.idleMachineCeilingMBps });
  return {
    download: { bytes: dl.bytes, ...about(dl) },
    upload: { status: ul.status, answer: ul.body, ...about(ul) },
  };
}

/**
 * {@link transferOnce} `reps` times: each direction's figures are those of its median run (by
 * MB/s), with every run's MB/s and the best beside them (the machine's other load moves a
 * single run by a third), and the largest RSS growth of any run.
 */
async function transfers(port, size, procs, rssName, cores, reps = 3) {
  const runs = [];
  for (let i = 0; i < reps; i++) runs.push(await transferOnce(port, size, procs, rssName, cores));
  const pick = (dir) => {
    const sorted = runs.map((r) => r[dir]).sort((a, b) => a.MBps - b.MBps);
    const median = sorted[(sorted.length - 1) >> 1];
    return {
      ...median,
      runsMBps: runs.map((r) => r[dir].MBps),
      bestMBps: sorted[sorted.length - 1].MBps,
      rssGrowthMiB: Math.max(...sorted.map((r) => r.rssGrowthMiB)),
      ...(dir === 'download' ? { exact: runs.every((r) => r.download.bytes === size) } : { exact: runs.every((r) => r.upload.status === 200) }),
    };
  };
  return { reps, download: pick('download'), upload: pick('upload') };
}

module.exports = { sseFanout, transfers };
