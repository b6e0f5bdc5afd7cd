// Load generators and CPU accounting for bench/gateway.bench.js.
//
//   wrk   (C, epoll; Debian/Ubuntu: `apt-get install -y wrk`) costs ~8 µs of CPU per call, so the
//         machine's CPU goes to the system under test
//   node  a keep-alive node:http client in the bench process: costs about as much CPU as the server
//
// Every load run reports calls/s, latency percentiles, errors, and the CPU each process spent per
// call (utime+stime from /proc, the generator's too), plus what the rest of the machine used meanwhile.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const TICK_US = 1e6 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100);

/** True if `wrk` runs here. */
function hasWrk() {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return !r.error && /wrk/.test(`${r.stdout}${r.stderr}`);
}

/** CPU time (µs) of a process so far, and of its waited-for children. */
function cpuOf(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { self: (Number(f[11]) + Number(f[12])) * TICK_US, children: (Number(f[13]) + Number(f[14])) * TICK_US };
}

/** Busy CPU time (µs) of the whole machine so far. */
function machineBusy() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - f[3] - f[4]) * TICK_US; // minus idle and iowait
}

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `conns` keep-alive loops POSTing `body` for `ms` from this process. */
async function nodeLoad(port, urlPath, body, conns, ms) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const lat = [];
  let errors = 0;
  const until = Date.now() + ms;
  const headers = { 'content-type': 'application/json', 'content-length': body.length };
  const one = () =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors++;
          lat.push(Number(process.hrtime.bigint() - t0) / 1e3);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await Promise.all(Array.from({ length: conns }, async () => {
    while (Date.now() < until) await one();
  }));
  const secs = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { calls: lat.length, secs, p50us: Math.round(percentile(lat, 50)), p99us: Math.round(percentile(lat, 99)), errors, generatorCpuUs: cpu.user + cpu.system };
}

function micros(value, unit) {
  return Number(value) * ({ us: 1, ms: 1e3, s: 1e6 }[unit] ?? 1);
}

/** The same with wrk (one thread); its CPU read from the shell that waited for it. */
function wrkLoad(port, urlPath, body, conns, ms, dir) {
  const script = path.join(dir, 'post.lua');
  if (!fs.existsSync(script)) {
    fs.writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body.toString())}\nwrk.headers["Content-Type"] = "application/json"\n`);
  }
  const argv = ['-t1', `-c${conns}`, `-d${Math.max(1, Math.round(ms / 1000))}s`, '--latency', '-s', script, `http://127.0.0.1:${port}${urlPath}`];
  return new Promise((resolve, reject) => {
    const sh = spawn('sh', ['-c', 'wrk "$@"; read -r s < /proc/$$/stat; echo "SHSTAT $s"', 'sh', ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    sh.stdout.on('data', (d) => (out += d));
    sh.on('error', reject);
    sh.on('close', () => {
      const calls = Number(/(\d+) requests in ([\d.]+)(\w+)/.exec(out)?.[1]);
      const secsMatch = /requests in ([\d.]+)(\w+)/.exec(out);
      const secs = secsMatch ? micros(secsMatch[1], secsMatch[2]) / 1e6 : ms / 1000;
      const pct = (p) => {
        const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
        return m ? Math.round(micros(m[1], m[2])) : NaN;
      };
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const stat = /SHSTAT .*?\) (.*)/.exec(out)?.[1].split(' ');
      if (!Number.isFinite(calls) || !stat) return reject(new Error(`wrk failed:\n${out}`));
      resolve({
        calls,
        secs,
        p50us: pct(50),
        p99us: pct(99),
        errors: non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
        generatorCpuUs: (Number(stat[13]) + Number(stat[14])) * TICK_US,
      });
    });
  });
}

/**
 * One load run with CPU accounting: `procs` maps names to pids of the processes under test.
 * Returns calls/s, latencies, errors, CPU µs per call by process (and the generator's), what
 * the rest of the machine used meanwhile (in cores), and the throughput the CPU per call
 * allows on an idle machine: no more than `cores` cores in all, one core per process.
 */
async function measure(generator, target, procs, conns, ms, dir, cores) {
  const before = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuOf(pid).self]));
  const busy0 = machineBusy();
  const r = generator === 'wrk' ? await wrkLoad(target.port, target.path, target.body, conns, ms, dir) : await nodeLoad(target.port, target.path, target.body, conns, ms);
  const busy = machineBusy() - busy0;
  const cpuUsPerCall = {};
  let ours = r.generatorCpuUs;
  for (const [k, pid] of Object.entries(procs)) {
    const used = cpuOf(pid).self - before[k];
    ours += used;
    cpuUsPerCall[k] = +(used / r.calls).toFixed(1);
  }
  cpuUsPerCall.generator = +(r.generatorCpuUs / r.calls).toFixed(1);
  const total = Object.values(cpuUsPerCall).reduce((a, b) => a + b, 0);
  const busiest = Math.max(...Object.values(cpuUsPerCall));
  return {
    callsPerSec: Math.round(r.calls / r.secs),
    p50us: r.p50us,
    p99us: r.p99us,
    errors: r.errors,
    cpuUsPerCall,
    cpuUsPerCallTotal: +total.toFixed(1),
    idleMachineCeiling: Math.round(Math.min((cores * 1e6) / total, 1e6 / busiest)),
    otherLoadCores: +(Math.max(0, busy - ours) / (r.secs * 1e6)).toFixed(2),
  };
}

module.exports = { hasWrk, cpuOf, measure, percentile };
