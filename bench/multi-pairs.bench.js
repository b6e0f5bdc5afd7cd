'use strict';
/**
 * MultiPipeServer at scale (issue 5), on the compiled package (dist/: `npm run build` first).
 *
 *   node bench/multi-pairs.bench.js [--pairs 1,10,100] [--total 2000000] [--size 100] [--repeat 3]
 *                                   [--clients-session own|shared] [--client per-pair|single|both]
 *                                   [--out FILE]
 *
 * --client: who drives the pairs in the echo runs. per-pair (default): one C client process per
 * pair (bench/c/client.c). single: ONE C process for all the pairs (bench/c/multi_client.c,
 * epoll, same messages and checks), so 1 and 100 pairs cost the same client processes. both:
 * both, alternating run by run on the same server; one table row per pair count and client.
 *
 * --clients-session: each client in a session of its own (default: spawned detached, so each
 * is its own scheduler autogroup on Linux, as for independently started programs), or all in
 * this bench's session (one autogroup, as for clients started by one supervisor).
 *
 * For each pair count, a fresh server process (this file with --child) starts a
 * MultiPipeServer with an echo handler and adds the pairs (concurrently). Reported:
 *   - RSS (VmRSS) and thread count (/proc/self/status Threads) before and after start,
 *     and peak RSS (VmHWM) after the echo run;
 *   - start time: start() + every addPair() resolved (clients can open every pipe);
 *   - aggregate echo throughput: `--total` messages of `--size` bytes split evenly over
 *     the pairs, one external C client per pair (bench/c/client.c, pipelined, every reply
 *     checked) or one for all pairs (--client single: bench/c/multi_client.c), all released
 *     at once (see echoRun), `--repeat` times (median reported, every
 *     run in the JSON); msgs/s = total / span from the first
 *     client's start to the last client's end (also: total / wall time including spawns);
 *   - CPU per message over each run: the server process (main thread + worker; /proc/self/stat
 *     utime+stime), its main thread alone (/proc/self/task/PID/stat), and the clients (this
 *     process's cutime+cstime: the reaped clients);
 *   - stop() latency with every pair's client mid-transfer, and whether the server
 *     process then exits by itself.
 * Targets: 100 pairs < 300 MB RSS, started < 2 s, aggregate throughput >= 1 pair's.
 * Prints a Markdown table on stdout and writes JSON to --out (default bench/results/multi-pairs.json).
 */
const fs = require('node:fs');
const path = require('node:path');
const u = require('./lib/util');

function procStatus() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const num = (re) => Number((s.match(re) || [])[1]);
  return { rssKB: num(/^VmRSS:\s+(\d+)/m), hwmKB: num(/^VmHWM:\s+(\d+)/m), threads: num(/^Threads:\s+(\d+)/m) };
}

/** utime+stime (and cutime+cstime: reaped children) of /proc/<path>/stat, in seconds. */
function cpuTimes(statPath) {
  const f = fs.readFileSync(statPath, 'utf8').replace(/^.*\) /s, '').split(' ');
  // after "pid (comm) ": state=0 ... utime=11 stime=12 cutime=13 cstime=14 (clock ticks, 100/s)
  return { self: (Number(f[11]) + Number(f[12])) / 100, children: (Number(f[13]) + Number(f[14])) / 100 };
}

/** CPU seconds of this server process: all threads, and its main thread alone. */
function serverCpu() {
  return { process: cpuTimes('/proc/self/stat').self, main: cpuTimes(`/proc/self/task/${process.pid}/stat`).self };
}

/** Server side, in its own process: --child N DIR */
async function child(count, dir) {
  const before = procStatus();
  const { MultiPipeServer } = u.loadPackage();
  const t0 = performance.now();
  const multi = new MultiPipeServer(dir);
  multi.handleMessage = (name, message) => {
    multi.send(name, message);
  };
  multi.on('error', (err, name) => process.stderr.write(`error ${name} ${err.code} ${err.message}\n`));
  await multi.start();
  const workerMs = performance.now() - t0;
  await Promise.all(Array.from({ length: count }, (_, i) => multi.addPair(`p${i}`)));
  const readyMs = performance.now() - t0;
  const after = procStatus();
  process.on('SIGUSR2', () => process.stdout.write(`STATUS ${JSON.stringify({ ...procStatus(), cpu: serverCpu() })}\n`));
  process.once('SIGTERM', () => {
    const s0 = performance.now();
    void multi.stop().then(() => {
      process.stdout.write(`STOPPED ${JSON.stringify({ stopMs: performance.now() - s0 })}\n`);
      process.removeAllListeners('SIGUSR2'); // a signal listener would keep nothing alive anyway
    });
  });
  process.stdout.write(`READY ${JSON.stringify({ before, after, workerMs, readyMs })}\n`);
}

/** Machine-wide CPU seconds from /proc/stat: busy (everything but idle/iowait/steal), idle, steal. */
function machineCpu() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  return { busy: (user + nice + system + irq + softirq) / 100, idle: (idle + iowait) / 100, steal: (steal || 0) / 100 };
}

/** Process state letter from /proc/PID/stat ('T' = stopped), or undefined once gone. */
function procState(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
  } catch {
    return undefined;
  }
}

/**
 * One C client per pair, all released at once: each is spawned as `sh` that stops itself
 * (SIGSTOP) and then execs the client, so the ~1-2 ms per spawn of 100 processes does not
 * stretch the run; once all are stopped they get SIGCONT together. Throughput is the total
 * over the span from the first client's start to the last client's end (the clients report
 * CLOCK_MONOTONIC t0/t1), and, for reference, over the wall time including the spawns.
 */
/**
 * Like u.run(), but the child stays in this process's session (so in its scheduler autogroup)
 * instead of a session of its own: `--clients-session shared`.
 */
function runShared(cmd, args, timeoutMs) {
  const { spawn } = require('node:child_process');
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise((resolve) => child.on('close', (code, signal) => {
    clearTimeout(timer);
    resolve({ code, signal, stdout, stderr });
  }));
  return { child, exited };
}

async function echoRun(dir, pairs, perPair, size, sharedSession, client) {
  const t0 = performance.now();
  const runs = [];
  const barrier = ['-c', 'kill -STOP $$; exec "$0" "$@"'];
  const start = (args) => runs.push(sharedSession ? runShared('sh', args, 120000) : u.run('sh', args, { timeoutMs: 120000 }));
  if (client === 'single') {
    const pipes = [];
    for (let i = 0; i < pairs; i++) pipes.push(path.join(dir, `p${i}.out`), path.join(dir, `p${i}.in`));
    start([...barrier, u.MULTI_CLIENT, String(pairs * perPair), String(size), ...pipes]);
  } else {
    for (let i = 0; i < pairs; i++) {
      const out = path.join(dir, `p${i}.out`);
      const inp = path.join(dir, `p${i}.in`);
      start([...barrier, u.CLIENT, out, inp, 'throughput', String(perPair), String(size)]);
    }
  }
  const deadline = performance.now() + 20000;
  for (const r of runs) {
    while (procState(r.child.pid) !== 'T') {
      if (performance.now() > deadline) throw new Error('clients did not reach the start barrier within 20 s');
      await u.delay(1);
    }
  }
  const m0 = machineCpu();
  for (const r of runs) process.kill(r.child.pid, 'SIGCONT');
  const results = await Promise.all(runs.map((r) => r.exited));
  const m1 = machineCpu();
  const wallS = (performance.now() - t0) / 1000;
  const failed = results.filter((r) => r.code !== 0);
  if (failed.length > 0) throw new Error(`${failed.length} clients failed: ${failed[0].stderr || failed[0].stdout}`);
  const reports = results.map((r) => JSON.parse(r.stdout));
  const spanS = Math.max(...reports.map((j) => j.t1)) - Math.min(...reports.map((j) => j.t0));
  const total = pairs * perPair;
  // machine-wide, from the release to the last exit: CPU seconds busy / idle / stolen by the hypervisor
  const machine = { busyS: m1.busy - m0.busy, idleS: m1.idle - m0.idle, stealS: m1.steal - m0.steal };
  // multi_client's own counters: epoll_wait calls, read() and write() calls (single client only)
  const syscalls = client === 'single' ? { waits: reports[0].waits, reads: reports[0].reads, writes: reports[0].writes } : undefined;
  return { client, syscalls, wallS, spanS, machine, msgsPerS: total / spanS, wallMsgsPerS: total / wallS, mbPerS: (total * size) / 1e6 / spanS };
}

/** Extra node flags for the server process, e.g. MULTI_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'. */
function nodeArgs() {
  return (process.env.MULTI_BENCH_NODE_ARGS || '').split(' ').filter(Boolean);
}

async function scenario(count, opts) {
  const dir = path.join(u.makeTmpDir('multi'), 'pipes');
  const { child: server, exited } = u.run(process.execPath, [...nodeArgs(), __filename, '--child', String(count), dir], { timeoutMs: 180000 });
  try {
    const ready = JSON.parse((await u.waitForLine(server, /^READY (.*)$/m, 60000, 'READY'))[1]);
    const perPair = Math.max(1, Math.floor(opts.total / count));
    const askStatus = async () => {
      const at = server.output().stdout.length;
      server.kill('SIGUSR2');
      const deadline = performance.now() + 10000;
      for (;;) {
        const m = server.output().stdout.slice(at).match(/^STATUS (.*)\n/m);
        if (m) return JSON.parse(m[1]);
        if (performance.now() > deadline) throw new Error('no STATUS from the server within 10 s');
        await u.delay(2);
      }
    };
    const echoes = [];
    // with --client both, the two kinds alternate run by run (a shared machine's load drifts)
    for (let i = 0; i < opts.repeat * opts.clients.length; i++) {
      const client = opts.clients[i % opts.clients.length];
      const s0 = await askStatus();
      const c0 = cpuTimes('/proc/self/stat').children;
      const e = await echoRun(dir, count, perPair, opts.size, opts.clientsSession === 'shared', client);
      const s1 = await askStatus();
      const total = count * perPair;
      // CPU microseconds per message: server process (main thread + worker), main thread alone, clients
      e.serverUsPerMsg = ((s1.cpu.process - s0.cpu.process) * 1e6) / total;
      e.mainUsPerMsg = ((s1.cpu.main - s0.cpu.main) * 1e6) / total;
      e.clientUsPerMsg = ((cpuTimes('/proc/self/stat').children - c0) * 1e6) / total;
      echoes.push(e);
    }
    const status = await askStatus();
    // stop with every pair mid-transfer: clients that would run for a long time
    const busy = [];
    for (let i = 0; i < count; i++) {
      busy.push(u.run(u.CLIENT, [path.join(dir, `p${i}.out`), path.join(dir, `p${i}.in`), 'throughput', '100000000', String(opts.size)], { timeoutMs: 60000 }));
    }
    await u.delay(300); // let them get going (a benchmark, not a test)
    server.kill('SIGTERM');
    const stopped = JSON.parse((await u.waitForLine(server, /^STOPPED (.*)$/m, 10000, 'STOPPED'))[1]);
    const exitT0 = performance.now();
    const end = await exited;
    const exitMs = performance.now() - exitT0;
    for (const b of busy) u.killGroup(b.child);
    await Promise.all(busy.map((b) => b.exited));
    const common = {
      pairs: count,
      baseRssMB: ready.before.rssKB / 1024,
      rssMB: ready.after.rssKB / 1024,
      peakRssMB: status.hwmKB / 1024,
      threadsBefore: ready.before.threads,
      threads: ready.after.threads,
      workerMs: ready.workerMs,
      startMs: ready.readyMs,
      stopMs: stopped.stopMs,
      exitedByItself: end.code === 0 && !end.timedOut,
      exitAfterStopMs: exitMs,
    };
    // one row per kind of client; memory, start and stop are the same server's
    return opts.clients.map((client) => {
      const mine = echoes.filter((e) => e.client === client);
      const pick = (key) => u.median(mine.map((e) => e[key]));
      return {
        ...common,
        client,
        echoMsgsPerS: pick('msgsPerS'),
        echoWallMsgsPerS: pick('wallMsgsPerS'),
        echoRuns: mine.map((e) => Math.round(e.msgsPerS)),
        echoRunsCpuUsPerMsg: mine.map((e) => ({ server: e.serverUsPerMsg, main: e.mainUsPerMsg, clients: e.clientUsPerMsg })),
        echoRunsMachineCpuS: mine.map((e) => e.machine),
        ...(client === 'single' ? { echoRunsClientSyscalls: mine.map((e) => e.syscalls) } : {}),
        echoMBPerS: pick('mbPerS'),
        serverCpuUsPerMsg: pick('serverUsPerMsg'),
        mainCpuUsPerMsg: pick('mainUsPerMsg'),
        clientCpuUsPerMsg: pick('clientUsPerMsg'),
      };
    });
  } finally {
    u.killGroup(server);
    u.rmTmpDir(path.dirname(dir));
  }
}

function table(rows) {
  const lines = [
    '| pairs | client | RSS MB (node alone) | peak RSS MB | threads (node alone) | start ms (worker) | echo msgs/s | (incl. spawns) | MB/s | CPU µs/msg server (main) | clients | stop ms mid-transfer | exits by itself |',
    '|---:|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.pairs} | ${r.client} | ${u.fmt(r.rssMB)} (${u.fmt(r.baseRssMB)}) | ${u.fmt(r.peakRssMB)} | ${r.threads} (${r.threadsBefore}) | ` +
        `${u.fmt(r.startMs)} (${u.fmt(r.workerMs)}) | ${u.fmt(r.echoMsgsPerS, 0)} | ${u.fmt(r.echoWallMsgsPerS, 0)} | ${u.fmt(r.echoMBPerS)} | ${u.fmt(r.serverCpuUsPerMsg, 2)} (${u.fmt(r.mainCpuUsPerMsg, 2)}) | ${u.fmt(r.clientCpuUsPerMsg, 2)} | ${u.fmt(r.stopMs)} | ${r.exitedByItself ? 'yes' : 'NO'} |`,
    );
  }
  return lines.join('\n');
}

async function main(argv) {
  if (argv[0] === '--child') return child(Number(argv[1]), argv[2]);
  const opts = { pairs: [1, 10, 100], total: 2000000, size: 100, repeat: 3, clientsSession: 'own', clients: ['per-pair'], out: path.join(__dirname, 'results', 'multi-pairs.json') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--pairs') opts.pairs = argv[++i].split(',').map(Number);
    else if (argv[i] === '--total') opts.total = Number(argv[++i]);
    else if (argv[i] === '--size') opts.size = Number(argv[++i]);
    else if (argv[i] === '--clients-session') opts.clientsSession = argv[++i];
    else if (argv[i] === '--client') {
      const c = argv[++i];
      if (!['per-pair', 'single', 'both'].includes(c)) throw new Error(`--client: per-pair, single or both, not ${c}`);
      opts.clients = c === 'both' ? ['per-pair', 'single'] : [c];
    } else if (argv[i] === '--repeat') opts.repeat = Number(argv[++i]);
    else if (argv[i] === '--out') opts.out = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  u.buildC();
  u.loadPackage();
  const watchdogS = 280 * opts.clients.length;
  const watchdog = setTimeout(() => {
    u.killAll();
    process.stderr.write(`multi-pairs: watchdog (${watchdogS} s)\n`);
    process.exit(1);
  }, watchdogS * 1000);
  const rows = [];
  for (const count of opts.pairs) {
    process.stderr.write(`multi-pairs: ${count} pair(s)...\n`);
    rows.push(...(await scenario(count, opts)));
  }
  clearTimeout(watchdog);
  const hundred = rows.find((r) => r.pairs === 100);
  const aggregate = {};
  for (const client of opts.clients) {
    const one = rows.find((r) => r.pairs === 1 && r.client === client);
    const h = rows.find((r) => r.pairs === 100 && r.client === client);
    if (one && h) aggregate[client] = { ratio: h.echoMsgsPerS / one.echoMsgsPerS, atLeastOnePair: h.echoMsgsPerS >= one.echoMsgsPerS };
  }
  const verdict = hundred && {
    rssUnder300MB: hundred.rssMB < 300 && hundred.peakRssMB < 300,
    startedUnder2s: hundred.startMs < 2000,
    aggregateAtLeastOnePair: aggregate,
  };
  process.stdout.write(`${table(rows)}\n\n${JSON.stringify(verdict)}\n`);
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, opts, rows, verdict }, null, 2)}\n`);
}

main(process.argv.slice(2)).catch((err) => {
  u.killAll();
  process.stderr.write(`${err.stack || err}\n`);
  process.exitCode = 1;
});
