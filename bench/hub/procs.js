'use strict';
/**
 * Driver-side process handling for the hub benchmark: forked workers with a command channel,
 * nats-server, /proc readings (RSS, CPU) of a broker process. Every process started here is
 * remembered and killed (by pid) when the driver exits or killAll() is called.
 */
const { fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const live = new Set();

function killAll() {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}
process.on('exit', killAll);

class Worker {
  /**
   * @param script file in bench/hub/
   * @param name   client id / connection name prefix
   */
  constructor(script, name, { execArgv = [], env } = {}) {
    this.name = name;
    this.child = fork(path.join(__dirname, script), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv,
      env: env ?? process.env,
      serialization: 'advanced',
    });
    live.add(this.child);
    this.pid = this.child.pid;
    this.nextId = 1;
    this.pending = new Map();
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        live.delete(this.child);
        for (const { reject } of this.pending.values()) reject(new Error(`${name} exited (${code ?? signal})`));
        this.pending.clear();
        resolve({ code, signal });
      });
    });
    this.ready = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${name}: not ready within 20 s`)), 20000);
      this.child.on('message', (m) => {
        if (m && m.ready) {
          clearTimeout(t);
          resolve();
          return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.error) p.reject(new Error(`${name}: ${m.error}`));
        else p.resolve(m.result);
      });
    });
  }

  /** Runs a command in the worker; rejects after timeoutMs. */
  async cmd(cmd, args = {}, timeoutMs = 120000) {
    await this.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} not done within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ id, cmd, args });
    });
  }

  /** Asks the worker to close, then ends it (IPC disconnect makes it exit). */
  async stop() {
    if (!this.child.connected) return;
    await this.cmd('close', {}, 5000).catch(() => undefined);
    this.child.disconnect();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Starts `nats-server` on 127.0.0.1 with a random port; resolves { proc, pid, host, port, version }. */
function startNats(bin = '/usr/sbin/nats-server') {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['-a', '127.0.0.1', '-p', '-1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    proc.on('exit', () => live.delete(proc));
    let log = '';
    const t = setTimeout(() => reject(new Error(`nats-server did not start: ${log}`)), 10000);
    const onData = (d) => {
      log += d;
      const m = log.match(/Listening for client connections on 127\.0\.0\.1:(\d+)/);
      const v = log.match(/Version:\s+(\S+)/);
      if (m) {
        clearTimeout(t);
        resolve({ proc, pid: proc.pid, host: '127.0.0.1', port: Number(m[1]), version: v ? v[1] : '?' });
      }
    };
    proc.stdout.setEncoding('utf8').on('data', onData);
    proc.stderr.setEncoding('utf8').on('data', onData);
    proc.on('error', reject);
  });
}

async function stopNats(n) {
  if (!n || n.proc.exitCode !== null) return;
  const exited = new Promise((r) => n.proc.once('exit', r));
  n.proc.kill('SIGTERM');
  const t = setTimeout(() => n.proc.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

/** VmRSS of a process in MiB (NaN once it is gone). */
function rssMiB(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return +(Number(s.match(/^VmRSS:\s+(\d+)/m)[1]) / 1024).toFixed(1);
  } catch {
    return NaN;
  }
}

/** utime+stime of a process in seconds. */
function cpuSeconds(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Samples the RSS of `pid` every `everyMs` until stop() is called; stop() returns the samples. */
function sampleRss(pid, everyMs = 100) {
  const t0 = performance.now();
  const samples = [{ ms: 0, rssMiB: rssMiB(pid) }];
  const timer = setInterval(() => samples.push({ ms: Math.round(performance.now() - t0), rssMiB: rssMiB(pid) }), everyMs);
  return {
    stop() {
      clearInterval(timer);
      samples.push({ ms: Math.round(performance.now() - t0), rssMiB: rssMiB(pid) });
      return samples;
    },
  };
}

module.exports = { Worker, startNats, stopNats, rssMiB, cpuSeconds, sampleRss, killAll };
