'use strict';
/**
 * stop() latency of PipeIOServer in every state of issue 2 (behaviour 5), with real client
 * processes (bash, the C client). Each run is a fresh child node process
 * (bench/servers/stop-child.js): the parent sets up the state, sends SIGUSR2, reads the
 * child's own stop() latency (from its SIGUSR2 handler to stop() resolving; the parent also
 * reports signal-to-STOPPED, which adds any event-loop stall before the handler runs), then checks that the child exits by itself within EXIT_DEADLINE_MS
 * (a worker still blocked in open()/read()/write() on a FIFO would keep it alive).
 *
 * Standalone: node bench/stop-latency.bench.js [--runs 5] [--states 'substring;substring']
 */
const fs = require('node:fs');
const path = require('node:path');
const u = require('./lib/util');

const STOP_DEADLINE_MS = 15000;
const EXIT_DEADLINE_MS = 3000;
const MiB16 = String(16 << 20);
const CHILD = path.join(__dirname, 'servers', 'stop-child.js');

/** bash one-liner holding fds on FIFOs, printing HELD once they are open. */
function holder(script, ...args) {
  return u.run('bash', ['-c', `${script}; echo HELD; exec sleep 600`, ...args], { timeoutMs: 60000 });
}

/**
 * Each state: setup(ctx) builds it (ctx: { inPipe, outPipe, child, clients }); resolves when
 * the state is reached. `start: false` = never started.
 */
const STATES = {
  'never started': { start: false, setup: async () => {} },
  'started, no client': { setup: async () => {} },
  'client holds only in': {
    setup: async (ctx) => {
      const c = ctx.add(holder('exec 3>"$0"', ctx.inPipe));
      await u.waitForLine(c.child, /^HELD$/m, 5000, 'HELD');
    },
  },
  'client holds only out': {
    setup: async (ctx) => {
      const c = ctx.add(holder('exec 3<"$0"', ctx.outPipe));
      await u.waitForLine(c.child, /^HELD$/m, 5000, 'HELD');
    },
  },
  'client holds both, idle': {
    setup: async (ctx) => {
      const c = ctx.add(holder('exec 3>"$1"; exec 4<"$0"', ctx.outPipe, ctx.inPipe));
      await u.waitForLine(c.child, /^HELD$/m, 5000, 'HELD');
    },
  },
  'mid-transfer in: 16 MiB written slowly': {
    setup: async (ctx) => {
      // 64 KiB every 4 ms: about 1 s for the message; stop when half is written.
      const c = ctx.add(u.run(u.CLIENT, [ctx.outPipe, ctx.inPipe, 'slow-write', MiB16, '65536', '4000'], { timeoutMs: 60000 }));
      await u.waitForLine(c.child, /^HALF$/m, 10000, 'HALF');
    },
  },
  'mid-transfer out: 16 MiB echo, replies unread': {
    setup: async (ctx) => {
      const c = ctx.add(u.run(u.CLIENT, [ctx.outPipe, ctx.inPipe, 'write-noread', MiB16], { timeoutMs: 60000 }));
      await u.waitForLine(c.child, /^WROTE$/m, 10000, 'WROTE');
      await ctx.childLine(/^MSG 16777216$/m, 'MSG 16777216');
    },
  },
  'mid-stream: 100-byte messages pipelined (client sending 2M)': {
    runs: 2, // slow while the engine has this problem: keep the whole run under 5 minutes
    setup: async (ctx) => {
      ctx.add(u.run(u.CLIENT, [ctx.outPipe, ctx.inPipe, 'throughput', '2000000', '100'], { timeoutMs: 60000 }));
      await ctx.childLine(/^CONNECT$/m, 'CONNECT');
      await u.delay(200); // let the stream get going
    },
  },
  'after broken pipe (read 100 of 2000, closed out)': {
    setup: async (ctx) => {
      const c = ctx.add(u.run(u.CLIENT, [ctx.outPipe, ctx.inPipe, 'broken', '2000', '100'], { timeoutMs: 60000 }));
      await u.waitForLine(c.child, /^BROKEN$/m, 10000, 'BROKEN');
    },
  },
  'after EOF (client sent 1000, read all, left)': {
    setup: async (ctx) => {
      const c = ctx.add(u.run(u.CLIENT, [ctx.outPipe, ctx.inPipe, 'throughput', '1000', '100'], { timeoutMs: 60000 }));
      const r = await c.exited;
      if (r.code !== 0) throw new Error(`client failed: ${r.stderr.trim()}`);
      await ctx.childLine(/^DISCONNECT$/m, 'DISCONNECT');
    },
  },
  'both paths deleted, no client': {
    setup: async (ctx) => {
      fs.unlinkSync(ctx.inPipe);
      fs.unlinkSync(ctx.outPipe);
    },
  },
  'both paths deleted, client mid-transfer out': {
    setup: async (ctx) => {
      await STATES['mid-transfer out: 16 MiB echo, replies unread'].setup(ctx);
      fs.unlinkSync(ctx.inPipe);
      fs.unlinkSync(ctx.outPipe);
    },
  },
  'paths replaced by new FIFOs (stop 100 ms later)': {
    setup: async (ctx) => {
      // mkfifo beside, then rename over: the server never sees the path missing (an
      // unlink + mkfifo pair races with the server recreating its deleted FIFO).
      for (const p of [ctx.inPipe, ctx.outPipe]) {
        u.mkfifo(`${p}.new`);
        fs.renameSync(`${p}.new`, p);
      }
      await u.delay(100); // give the server's watcher time to notice
    },
  },
};

async function runOnce(stateName) {
  const state = STATES[stateName];
  const dir = u.makeTmpDir('stop');
  const inPipe = path.join(dir, 'in');
  const outPipe = path.join(dir, 'out');
  const clients = [];
  const result = { state: stateName };
  const srv = u.run(process.execPath, [CHILD, inPipe, outPipe, ...(state.start === false ? ['--no-start'] : [])], { timeoutMs: 60000 });
  const ctx = {
    inPipe,
    outPipe,
    add: (c) => (clients.push(c), c),
    childLine: (re, what) => u.waitForLine(srv.child, re, 10000, what),
  };
  try {
    await u.waitForLine(srv.child, /^READY$/m, 10000, 'READY');
    await state.setup(ctx);
    const sent = performance.now();
    srv.child.kill('SIGUSR2');
    const m = await u.waitForLine(srv.child, /^STOP(PED ([\d.]+) (\d)|FAILED .*)$/m, STOP_DEADLINE_MS, 'STOPPED');
    const stoppedAt = performance.now();
    if (m[0].startsWith('STOPFAILED')) throw new Error(m[0]);
    result.stopMs = Number(m[2]);
    result.observedMs = stoppedAt - sent;
    result.pathsLeft = Number(m[3]);
    const exitTimer = setTimeout(() => u.killGroup(srv.child), EXIT_DEADLINE_MS);
    const ex = await srv.exited;
    clearTimeout(exitTimer);
    result.exitedByItself = ex.signal !== 'SIGKILL';
    result.exitMs = performance.now() - stoppedAt;
    result.exitCode = ex.code;
    const em = ex.stdout.match(/^ERRORS (.*)$/m);
    if (em) result.errors = JSON.parse(em[1]);
  } catch (err) {
    result.error = err.message;
    result.childStdout = srv.child.output().stdout.slice(-300);
  } finally {
    u.killGroup(srv.child);
    for (const c of clients) u.killGroup(c.child);
    await Promise.all([srv.exited, ...clients.map((c) => c.exited)]);
    const { stderr } = srv.child.output();
    if (stderr.trim()) result.childStderr = stderr.trim().slice(0, 400);
    u.rmTmpDir(dir);
  }
  return result;
}

/** Runs every state `runs` times; returns { runs, summary } with median/max per state. */
async function stopLatency({ runs = 5, states = Object.keys(STATES), log = console.error } = {}) {
  u.buildC();
  const all = [];
  const summary = {};
  for (const s of states) {
    const rs = [];
    for (let i = 0; i < Math.min(runs, STATES[s].runs ?? runs); i++) {
      const r = await runOnce(s);
      log(`  stop-latency ${s} #${i + 1}: ${r.error ? 'ERROR ' + r.error : `${r.stopMs} ms, exit +${r.exitMs.toFixed(0)} ms${r.exitedByItself ? '' : ' (KILLED)'}, paths left ${r.pathsLeft}`}`);
      rs.push(r);
      all.push(r);
    }
    const ok = rs.filter((r) => !r.error);
    summary[s] = {
      runs: rs.length,
      failed: rs.length - ok.length,
      medianMs: u.median(ok.map((r) => r.stopMs)),
      maxMs: u.max(ok.map((r) => r.stopMs)),
      medianObservedMs: u.median(ok.map((r) => r.observedMs)),
      maxObservedMs: u.max(ok.map((r) => r.observedMs)),
      exitedByItself: `${ok.filter((r) => r.exitedByItself).length}/${rs.length}`,
      maxExitMs: u.max(ok.filter((r) => r.exitedByItself).map((r) => r.exitMs)),
      maxPathsLeft: u.max(ok.map((r) => r.pathsLeft)),
      errors: [...new Set(rs.filter((r) => r.error).map((r) => r.error))],
      errorEvents: mergeCounts(ok.map((r) => r.errors)),
      stderr: [...new Set(rs.filter((r) => r.childStderr).map((r) => r.childStderr))].slice(0, 3),
    };
  }
  return { runs: all, summary };
}

/** Sums {key: count} objects. */
function mergeCounts(list) {
  const out = {};
  for (const o of list) for (const [k, v] of Object.entries(o || {})) out[k] = (out[k] || 0) + v;
  return out;
}

function stopLatencyTable(summary) {
  const rows = [
    `| state | stop() median ms | max ms | signal to STOPPED median ms | max ms | exited by itself (<= ${EXIT_DEADLINE_MS / 1000} s) | max exit after stop ms | FIFO paths left when stop() resolved |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const notes = [];
  for (const [s, v] of Object.entries(summary)) {
    rows.push(`| ${s} | ${u.fmt(v.medianMs, 2)} | ${u.fmt(v.maxMs, 2)} | ${u.fmt(v.medianObservedMs, 1)} | ${u.fmt(v.maxObservedMs, 1)} | ${v.exitedByItself} | ${u.fmt(v.maxExitMs, 0)} | ${v.maxPathsLeft ?? '-'} |`);
    if (v.failed) notes.push(`- ${s}: ${v.failed}/${v.runs} failed: ${v.errors.join(' | ')}`);
    const ev = Object.entries(v.errorEvents);
    if (ev.length) notes.push(`- ${s}: 'error' events over ${v.runs - v.failed} runs: ${ev.map(([k, n]) => `${n} x ${k}`).join('; ')}`);
  }
  return rows.concat(notes.length ? ['', ...notes] : []).join('\n');
}

module.exports = { stopLatency, stopLatencyTable, STATES };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') opts.runs = Number(argv[++i]);
    else if (argv[i] === '--states') {
      const parts = argv[++i].split(';');
      opts.states = Object.keys(STATES).filter((k) => parts.some((p) => k.includes(p)));
    }
  }
  stopLatency(opts).then(({ summary }) => console.log(stopLatencyTable(summary)), (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
