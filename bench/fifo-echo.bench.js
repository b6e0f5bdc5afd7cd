'use strict';
/**
 * FIFO echo benchmark: the same external C client (bench/c/client.c) against
 *   c      bench/c/echo_server.c, the limit of this machine
 *   naive  bench/servers/naive.js, fs.createReadStream + readline + fs.createWriteStream
 *   ours   bench/servers/ours.js, PipeIOServer with an echo handler (compiled dist/)
 * Scenarios: 200,000 pipelined 100-byte messages (msgs/s), 64 messages of 1 MiB (MB/s),
 * 10,000 round trips of 100 bytes one at a time (p50/p99/p99.9 us). Each server process is
 * fresh for every run; peak RSS is VmHWM of the server process. Median of `reps` runs (default 5,
 * interleaved: on 2 cores the C baseline alone varies 2-3x from run to run).
 *
 * Standalone: node bench/fifo-echo.bench.js [--reps 5] [--servers c,naive,ours]
 */
const fs = require('node:fs');
const path = require('node:path');
const u = require('./lib/util');

const SCENARIOS = {
  pipelined: { args: ['throughput', '200000', '100'], label: '200k x 100 B pipelined' },
  big: { args: ['throughput', '64', String(1 << 20)], label: '64 x 1 MiB' },
  rtt: { args: ['rtt', '10000', '100'], label: 'round trip 100 B x 10,000' },
};

const SERVERS = {
  c: { cmd: () => u.C_ECHO_SERVER, args: [], makesPipes: false, exitsAtEof: true },
  naive: { cmd: () => process.execPath, args: [path.join(__dirname, 'servers', 'naive.js')], makesPipes: false, exitsAtEof: true },
  ours: { cmd: () => process.execPath, args: [path.join(__dirname, 'servers', 'ours.js')], makesPipes: true },
};

/** One fresh server + one client run. Returns the client's JSON plus server facts. */
async function runOnce(serverName, scenario) {
  const spec = SERVERS[serverName];
  const dir = u.makeTmpDir(serverName);
  const inPipe = path.join(dir, 'in');
  const outPipe = path.join(dir, 'out');
  const result = { server: serverName, scenario };
  let server;
  try {
    if (!spec.makesPipes) {
      u.mkfifo(inPipe);
      u.mkfifo(outPipe);
    }
    server = u.run(spec.cmd(), [...spec.args, inPipe, outPipe], { timeoutMs: 120000 });
    await u.waitForLine(server.child, /^READY$/m, 10000, 'READY');
    let hwm = 0;
    const sampler = setInterval(() => {
      hwm = Math.max(hwm, u.vmHWM(server.child.pid) ?? 0);
    }, 20);
    const client = u.run(u.CLIENT, [outPipe, inPipe, ...SCENARIOS[scenario].args], { timeoutMs: 60000 });
    const c = await client.exited;
    clearInterval(sampler);
    hwm = Math.max(hwm, u.vmHWM(server.child.pid) ?? 0);
    if (c.code !== 0) {
      result.error = `client ${c.timedOut ? 'timed out (60 s)' : `exited ${c.code ?? c.signal}`}: ${c.stderr.trim()}`;
    } else {
      Object.assign(result, JSON.parse(c.stdout.trim().split('\n').pop()));
    }
    // Stop the server: c and naive leave at EOF (2 s grace), ours on SIGTERM; 5 s deadline, then SIGKILL.
    if (spec.exitsAtEof) await u.within(server.exited, 2000);
    if (server.child.exitCode === null && server.child.signalCode === null) {
      const t0 = performance.now();
      server.child.kill('SIGTERM');
      const killer = setTimeout(() => u.killGroup(server.child), 5000);
      const s = await server.exited;
      clearTimeout(killer);
      result.serverExitMs = performance.now() - t0;
      if (s.signal === 'SIGKILL') result.error = (result.error ? result.error + '; ' : '') + 'server did not exit within 5 s of SIGTERM';
    }
    const s = await server.exited;
    const m = s.stdout.match(/MAXRSS_KB (\d+)/);
    result.rssKiB = Math.max(hwm, m ? Number(m[1]) : 0) || undefined;
    const gap = s.stdout.match(/MAXGAP ([\d.]+)/);
    if (gap) result.maxGapMs = Number(gap[1]);
    const st = s.stdout.match(/STOPPED ([\d.]+) ERRORS (\d+)/);
    if (st) {
      result.stopMs = Number(st[1]);
      result.serverErrors = Number(st[2]);
    }
    if (s.stderr.trim()) result.serverStderr = s.stderr.trim().slice(0, 500);
  } catch (err) {
    result.error = err.message;
  } finally {
    if (server) u.killGroup(server.child);
    u.rmTmpDir(dir);
  }
  return result;
}

/**
 * Runs every scenario `reps` times for each server.
 * @returns {{ runs: object[], summary: object }} summary[server][scenario] holds medians.
 */
async function fifoEcho({ reps = 5, servers = ['c', 'naive', 'ours'], log = console.error } = {}) {
  u.buildC();
  const notes = [];
  if (servers.includes('ours') && !u.oursAvailable()) {
    notes.push('ours skipped: dist/ does not export PipeIOServer (run `npm run build`)');
    servers = servers.filter((s) => s !== 'ours');
  }
  const runs = [];
  // Interleaved (rep, server, scenario) so that drifting machine load hits every server alike.
  const byKey = new Map();
  for (let i = 0; i < reps; i++) {
    for (const server of servers) {
      for (const scenario of Object.keys(SCENARIOS)) {
        const r = await runOnce(server, scenario);
        log(`  fifo-echo #${i + 1} ${server} ${scenario}: ${r.error ? 'ERROR ' + r.error : brief(r)}`);
        runs.push(r);
        const key = `${server}/${scenario}`;
        if (!byKey.has(key)) byKey.set(key, []);
        byKey.get(key).push(r);
      }
    }
  }
  const summary = {};
  for (const server of servers) {
    summary[server] = {};
    for (const scenario of Object.keys(SCENARIOS)) {
      const rs = byKey.get(`${server}/${scenario}`);
      const ok = rs.filter((r) => !r.error);
      const spread = (k) => (ok.length ? [Math.min(...ok.map((r) => r[k])), Math.max(...ok.map((r) => r[k]))] : undefined);
      summary[server][scenario] = {
        runs: rs.length,
        failed: rs.length - ok.length,
        msgsPerS: u.median(ok.map((r) => r.msgs_per_s)),
        msgsPerSRange: spread('msgs_per_s'),
        mbPerS: u.median(ok.map((r) => r.mb_per_s)),
        mbPerSRange: spread('mb_per_s'),
        p50Us: u.median(ok.map((r) => r.p50_us)),
        p99Us: u.median(ok.map((r) => r.p99_us)),
        p999Us: u.median(ok.map((r) => r.p999_us)),
        rssKiB: u.max(rs.map((r) => r.rssKiB)),
        stopMs: u.median(rs.map((r) => r.stopMs)),
        maxGapMs: u.median(rs.map((r) => r.maxGapMs)),
        errors: rs.filter((r) => r.error).map((r) => r.error),
      };
    }
  }
  return { runs, summary, notes };
}

function brief(r) {
  if (r.mode === 'rtt') return `p50 ${r.p50_us} us, p99 ${r.p99_us} us, rss ${r.rssKiB} KiB`;
  return `${Math.round(r.msgs_per_s)} msgs/s, ${r.mb_per_s} MB/s, rss ${r.rssKiB} KiB${r.maxGapMs !== undefined ? `, stall ${r.maxGapMs} ms` : ''}`;
}

/** Markdown table of a fifoEcho() summary, ratios against the C server. */
function fifoEchoTable(summary) {
  const c = summary.c || {};
  const ratio = (x, base) => (x && base ? (x / base).toFixed(2) : '-');
  const rows = [
    '| server | pipelined 100 B msgs/s | ratio to C | 1 MiB MB/s | ratio to C | RTT p50 us | p99 us | p99.9 us | p50 vs C | peak RSS MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, s] of Object.entries(summary)) {
    const rss = u.max([s.pipelined.rssKiB, s.big.rssKiB, s.rtt.rssKiB]);
    rows.push(`| ${name} | ${u.fmt(s.pipelined.msgsPerS, 0)} | ${ratio(s.pipelined.msgsPerS, c.pipelined?.msgsPerS)} | ` +
      `${u.fmt(s.big.mbPerS, 0)} | ${ratio(s.big.mbPerS, c.big?.mbPerS)} | ${u.fmt(s.rtt.p50Us)} | ${u.fmt(s.rtt.p99Us)} | ` +
      `${u.fmt(s.rtt.p999Us)} | ${c.rtt?.p50Us && s.rtt.p50Us ? (s.rtt.p50Us / c.rtt.p50Us).toFixed(2) + 'x' : '-'} | ` +
      `${rss ? u.fmt(rss / 1024) : '-'} |`);
  }
  const rssRows = ['', '| server | peak RSS MiB: pipelined | 1 MiB | round trip | event-loop stall ms (median of max gap between 10 ms ticks): pipelined | 1 MiB | round trip |',
    '|---|---:|---:|---:|---:|---:|---:|'];
  for (const [name, s] of Object.entries(summary)) {
    rssRows.push(`| ${name} | ${u.fmt(s.pipelined.rssKiB / 1024)} | ${u.fmt(s.big.rssKiB / 1024)} | ${u.fmt(s.rtt.rssKiB / 1024)} | ` +
      `${u.fmt(s.pipelined.maxGapMs, 0)} | ${u.fmt(s.big.maxGapMs, 0)} | ${u.fmt(s.rtt.maxGapMs, 0)} |`);
  }
  const failures = [];
  for (const [name, s] of Object.entries(summary)) {
    for (const [sc, v] of Object.entries(s)) {
      if (v.failed) failures.push(`- ${name} ${sc}: ${v.failed}/${v.runs} runs failed: ${[...new Set(v.errors)].join(' | ')}`);
    }
  }
  return rows.concat(rssRows, failures.length ? ['', ...failures] : []).join('\n');
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--reps') opts.reps = Number(argv[++i]);
    else if (argv[i] === '--servers') opts.servers = argv[++i].split(',');
  }
  return opts;
}

module.exports = { fifoEcho, fifoEchoTable, parseArgs };

if (require.main === module) {
  fifoEcho(parseArgs(process.argv.slice(2))).then(({ summary, notes }) => {
    console.log(fifoEchoTable(summary));
    for (const n of notes) console.log(`\n_${n}_`);
  }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
