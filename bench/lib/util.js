'use strict';
/**
 * Helpers shared by the benchmark scripts: building the C programs, temp dirs and FIFOs,
 * child processes with hard deadlines, /proc readings, statistics.
 * Every child is spawned in its own process group (detached) so that a deadline kills it
 * and everything it started, and nothing else.
 */
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BENCH_DIR = path.resolve(__dirname, '..');
const ROOT_DIR = path.resolve(BENCH_DIR, '..');
const BUILD_DIR = path.join(BENCH_DIR, 'build');
const CLIENT = path.join(BUILD_DIR, 'client');
const C_ECHO_SERVER = path.join(BUILD_DIR, 'echo_server');
const C_ECHO_THREADED = path.join(BUILD_DIR, 'echo_threaded');
const MULTI_CLIENT = path.join(BUILD_DIR, 'multi_client');

/** Compiles bench/c/*.c with `cc -O2` into bench/build/ when a binary is missing or older. */
function buildC() {
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const targets = [
    [C_ECHO_SERVER, path.join(BENCH_DIR, 'c', 'echo_server.c'), []],
    [C_ECHO_THREADED, path.join(BENCH_DIR, 'c', 'echo_threaded.c'), ['-pthread']],
    [CLIENT, path.join(BENCH_DIR, 'c', 'client.c'), ['-pthread']],
    [MULTI_CLIENT, path.join(BENCH_DIR, 'c', 'multi_client.c'), []],
  ];
  for (const [out, src, extra] of targets) {
    const outStat = fs.statSync(out, { throwIfNoEntry: false });
    if (outStat && outStat.mtimeMs >= fs.statSync(src).mtimeMs) continue;
    const r = spawnSync('cc', ['-O2', '-Wall', '-Wextra', ...extra, '-o', out, src], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`cc failed for ${src}`);
  }
}

/** Checks that `npm run build` produced dist/ and returns the compiled package. */
function loadPackage() {
  const dist = path.join(ROOT_DIR, 'dist', 'index.js');
  if (!fs.existsSync(dist)) throw new Error('dist/ is missing: run `npm run build` first');
  return require(dist);
}

/** True when the compiled package (dist/) exports PipeIOServer. */
function oursAvailable() {
  try {
    return typeof loadPackage().PipeIOServer === 'function';
  } catch {
    return false;
  }
}

/** A fresh private directory under os.tmpdir(); remove it with rmTmpDir(). */
function makeTmpDir(tag) {
  const dir = path.join(os.tmpdir(), `pipeio-bench-${tag}-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  return dir;
}

function rmTmpDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Creates a FIFO with mode 0600 through the mkfifo program (Node has no mkfifo). */
function mkfifo(p) {
  const r = spawnSync('mkfifo', ['-m', '600', p]);
  if (r.status !== 0) throw new Error(`mkfifo ${p}: ${r.stderr}`);
}

/**
 * Spawns a child in its own process group, collecting stdout/stderr.
 * Returns { child, exited } where `exited` resolves to
 * { code, signal, stdout, stderr, timedOut, ms } and kills the group after `timeoutMs`.
 */
function run(cmd, args, { timeoutMs = 60000, env, cwd } = {}) {
  const t0 = performance.now();
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env, cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  let timedOut = false;
  const exited = new Promise((resolve) => {
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: performance.now() - t0 });
    });
  });
  child.output = () => ({ stdout, stderr });
  live.add(child);
  child.on('close', () => live.delete(child));
  return { child, exited };
}

/** Children of run() still alive. */
const live = new Set();

/** SIGKILLs the process group of every child of run() still alive (watchdogs). */
function killAll() {
  for (const child of live) killGroup(child);
}

/** SIGKILLs a child's whole process group (the child was spawned detached by run()). */
function killGroup(child, signal = 'SIGKILL') {
  // Even when the leader is gone its group may still hold grandchildren (bash's sleep).
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/**
 * Resolves with the match of `re` against everything the child (spawned by run()) printed on
 * stdout so far, including output printed before this call; rejects after `timeoutMs` or on exit.
 */
function waitForLine(child, re, timeoutMs, what = String(re)) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = child.output().stdout.match(re);
      if (m) {
        cleanup();
        resolve(m);
      }
      return m;
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('close', onClose);
    };
    // Registered after run()'s own listener, so output() already holds the new chunk.
    const onData = () => check();
    const onClose = (code, signal) => {
      if (check()) return;
      cleanup();
      reject(new Error(`child exited (${code ?? signal}) before printing ${what}; stderr: ${child.output().stderr.trim()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', onData);
    child.on('close', onClose);
    check();
  });
}

/** Peak resident set size of a live process in KiB (VmHWM), or undefined if it is gone. */
function vmHWM(pid) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Current resident set size of a live process in KiB (VmRSS), or undefined if it is gone. */
function vmRSS(pid) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function max(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? Math.max(...v) : undefined;
}

/** Formats a number with `digits` significant decimals, or '-' when missing. */
function fmt(x, digits = 1) {
  if (x === undefined || x === null || Number.isNaN(x)) return '-';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Resolves with `promise`'s value, or undefined after `ms` (the timer is cleared either way). */
function within(promise, ms) {
  let timer;
  return Promise.race([promise, new Promise((resolve) => { timer = setTimeout(resolve, ms); })])
    .finally(() => clearTimeout(timer));
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = {
  BENCH_DIR, ROOT_DIR, BUILD_DIR, CLIENT, C_ECHO_SERVER, C_ECHO_THREADED, MULTI_CLIENT,
  buildC, loadPackage, oursAvailable, makeTmpDir, rmTmpDir, mkfifo, run, killGroup, killAll, waitForLine, vmHWM, vmRSS,
  median, max, fmt, delay, within,
};
