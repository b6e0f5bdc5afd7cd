'use strict';
/**
 * Typed events benchmark (issue 17): what validation costs, beside the unvalidated path, in
 * the same run. Uses dist/ (`npm run build` first). Never part of `npm test`.
 *
 *   1. In process: CPU per validation of a 3-field object ({ id, name, active }) with zod and
 *      with the plain JSON Schema (ajv), and the provider's whole wrapper (parameters + result
 *      checked) against calling the bare handler.
 *   2. Over a hub (hub, provider, caller: three processes): the same echo event unvalidated,
 *      with zod schemas and with the JSON Schema, on both sides (the provider validates
 *      parameters and result; the caller, a typed channel, checks what it sends and parses
 *      what it gets). Rounds interleave the three modes; reported: calls/s (pipelined, 64
 *      outstanding), provider CPU per call, and the ratios to the unvalidated mode.
 *   3. Memory: a client that registers 10,000 events with distinct schemas (JSON Schema, then
 *      zod), heap after each phase, and the hub's RSS growth.
 *
 *   node bench/typed.bench.js [--quick] [--calls N] [--rounds N] [--events N] [--steps micro,calls,memory] [--out FILE]
 *
 * Prints Markdown on stdout (progress on stderr), writes JSON to --out (default
 * bench/results/typed.json).
 */
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pkg, VALUE, JSON_SCHEMA, zodSchema, cpuMicros } = require('./typed/common');

function parseArgs(argv) {
  const o = { calls: 20000, rounds: 5, events: 10000, steps: ['micro', 'calls', 'memory'], out: path.join(__dirname, 'results', 'typed.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') Object.assign(o, { calls: 4000, rounds: 3, events: 2000 });
    else if (a === '--calls') o.calls = Number(argv[++i]);
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--events') o.events = Number(argv[++i]);
    else if (a === '--steps') o.steps = argv[++i].split(',');
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// -- forked workers with a command channel -------------------------------------------------
const live = new Set();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function worker(script, args, execArgv = []) {
  const child = fork(path.join(__dirname, 'typed', script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  live.add(child);
  let next = 1;
  const pending = new Map();
  child.on('exit', (code, signal) => {
    live.delete(child);
    for (const p of pending.values()) p.reject(new Error(`${script} exited (${code ?? signal})`));
  });
  const ready = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${script}: not ready in 30 s`)), 30000);
    child.on('message', (m) => {
      if (m && m.ready) {
        clearTimeout(t);
        resolve();
        return;
      }
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve(m.result);
    });
  });
  return {
    pid: child.pid,
    ready,
    run(cmd, extra = {}) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, cmd, ...extra });
      });
    },
    async stop() {
      await this.run('stop').catch(() => undefined);
      child.disconnect();
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    },
  };
}

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

// -- 1. in process ---------------------------------------------------------------------------
function cpuPer(n, fn) {
  for (let i = 0; i < Math.min(n, 20000); i++) fn(); // warm-up (JIT)
  const t0 = cpuMicros();
  for (let i = 0; i < n; i++) fn();
  return ((cpuMicros() - t0) * 1000) / n; // ns
}

async function asyncCpuPer(n, fn) {
  for (let i = 0; i < Math.min(n, 20000); i++) await fn();
  const t0 = cpuMicros();
  for (let i = 0; i < n; i++) await fn();
  return ((cpuMicros() - t0) * 1000) / n;
}

async function micro(o) {
  const { compileSchema } = pkg();
  // The provider's wrapper lives in the client; reach it the way HubChannel does.
  const { checkedHandler } = require(path.join(__dirname, '..', 'dist', 'hub', 'client', 'checked.js'));
  const n = o.calls * 25;
  const zod = compileSchema(zodSchema());
  const json = compileSchema(JSON_SCHEMA);
  const res = {};
  const rounds = 3;
  const series = { none: [], zod: [], json: [], wrapNone: [], wrapZod: [], wrapJson: [] };
  const handler = (msg) => msg.data;
  const wrapZod = checkedHandler(handler, false, zod, zod, 'bench:zod');
  const wrapJson = checkedHandler(handler, false, json, json, 'bench:json');
  for (let r = 0; r < rounds; r++) {
    series.none.push(cpuPer(n, () => VALUE));
    series.zod.push(cpuPer(n, () => zod.validate(VALUE)));
    series.json.push(cpuPer(n, () => json.validate(VALUE)));
    series.wrapNone.push(await asyncCpuPer(n / 5, () => handler({ data: VALUE }))); // what serveCall calls without schemas
    series.wrapZod.push(await asyncCpuPer(n / 5, () => wrapZod({ data: VALUE })));
    series.wrapJson.push(await asyncCpuPer(n / 5, () => wrapJson({ data: VALUE })));
  }
  for (const [k, v] of Object.entries(series)) res[k] = median(v);
  return res;
}

// -- 2. over a hub ----------------------------------------------------------------------------
async function pipelined(total, window, call) {
  let sent = 0;
  let done = 0;
  const t0 = process.hrtime.bigint();
  await new Promise((resolve, reject) => {
    const pump = () => {
      while (sent < total && sent - done < window) {
        sent++;
        call().then(() => {
          done++;
          if (done === total) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function calls(o, dir) {
  const { HubClient, defineContract, typedChannel, jsonSchema } = pkg();
  const sock = path.join(dir, 'hub.sock');
  const hub = worker('hub.js', [sock]);
  await hub.ready;
  const provider = worker('provider.js', [sock]);
  await provider.ready;
  const client = new HubClient({ path: sock }, { clientId: 'caller' });
  await client.connect();
  const ch = await client.open('bench');
  const zod = zodSchema();
  const json = jsonSchema(JSON_SCHEMA);
  const contract = defineContract({
    events: { zod: { parameters: zod, returns: zod }, json: { parameters: json, returns: json } },
  });
  const typed = typedChannel(ch, contract);
  const modes = {
    none: () => ch.call('plain', VALUE),
    zod: () => typed.call('zod', VALUE),
    json: () => typed.call('json', VALUE),
  };
  const out = { none: { rate: [], cpu: [], hubCpu: [] }, zod: { rate: [], cpu: [], hubCpu: [] }, json: { rate: [], cpu: [], hubCpu: [] } };
  for (const mode of Object.keys(modes)) await pipelined(Math.min(2000, o.calls), 64, modes[mode]); // warm-up
  for (let r = 0; r < o.rounds; r++) {
    for (const mode of Object.keys(modes)) {
      const p0 = await provider.run('cpu');
      const h0 = await hub.run('cpu');
      const secs = await pipelined(o.calls, 64, modes[mode]);
      const p1 = await provider.run('cpu');
      const h1 = await hub.run('cpu');
      out[mode].rate.push(o.calls / secs);
      out[mode].cpu.push((p1 - p0) / o.calls); // µs per call (a few IPC round trips included: constant per round)
      out[mode].hubCpu.push((h1 - h0) / o.calls);
    }
    log(`  round ${r + 1}/${o.rounds}: ${Object.entries(out).map(([m, v]) => `${m} ${Math.round(v.rate.at(-1))}/s`).join(', ')}`);
  }
  await client.close();
  await provider.stop();
  await hub.stop();
  const summary = {};
  for (const [mode, v] of Object.entries(out)) {
    summary[mode] = { rate: median(v.rate), providerCpuUs: median(v.cpu), hubCpuUs: median(v.hubCpu), rounds: v };
  }
  for (const mode of ['zod', 'json']) {
    // Ratios per round (the modes of one round ran back to back), then their median.
    summary[mode].rateRatio = median(out[mode].rate.map((x, i) => x / out.none.rate[i]));
    summary[mode].providerExtraCpuUs = median(out[mode].cpu.map((x, i) => x - out.none.cpu[i]));
  }
  return summary;
}

// -- 3. memory --------------------------------------------------------------------------------
async function memory(o, dir) {
  const out = {};
  for (const kind of ['json', 'zod']) {
    const sock = path.join(dir, `mem-${kind}.sock`);
    const hub = worker('hub.js', [sock]);
    await hub.ready;
    const hubBefore = rssOf(hub.pid);
    const w = worker('memory.js', [sock, String(o.events), kind], ['--expose-gc']);
    await w.ready;
    log(`  memory: ${o.events} events with ${kind} schemas...`);
    const r = await w.run('run');
    r.hubRssGrowth = rssOf(hub.pid) - hubBefore;
    out[kind] = r;
    await w.stop();
    await hub.stop();
  }
  return out;
}

// -- report -----------------------------------------------------------------------------------
function table(o, res) {
  const lines = [];
  const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  if (res.micro) {
    const m = res.micro;
    lines.push('### Validation of a 3-field object, in process (CPU ns per call, median of 3)', '');
    lines.push('| what | none | zod 4 | JSON Schema (ajv) |', '| --- | --- | --- | --- |');
    lines.push(`| validate() | ${f(m.none, 0)} | ${f(m.zod, 0)} | ${f(m.json, 0)} |`);
    lines.push(`| provider handler call, awaited (parameters + result checked) | ${f(m.wrapNone, 0)} | ${f(m.wrapZod, 0)} | ${f(m.wrapJson, 0)} |`);
    lines.push(`| provider CPU added per call | - | ${f(m.wrapZod - m.wrapNone, 0)} | ${f(m.wrapJson - m.wrapNone, 0)} |`);
    lines.push('');
  }
  if (res.calls) {
    const c = res.calls;
    lines.push(`### Calls over a hub, validated on both sides (${o.calls} calls x ${o.rounds} rounds, 64 outstanding, medians)`, '');
    lines.push('| mode | calls/s | vs none | provider CPU µs/call | provider extra µs/call | hub CPU µs/call |', '| --- | --- | --- | --- | --- | --- |');
    for (const mode of ['none', 'zod', 'json']) {
      const v = c[mode];
      lines.push(`| ${mode} | ${Math.round(v.rate)} | ${v.rateRatio ? `${(v.rateRatio * 100).toFixed(1)} %` : '100 %'} | ${f(v.providerCpuUs)} | ${v.providerExtraCpuUs !== undefined ? f(v.providerExtraCpuUs) : '-'} | ${f(v.hubCpuUs)} |`);
    }
    lines.push('');
  }
  if (res.memory) {
    lines.push(`### Memory of ${o.events} events with distinct schemas (heap after GC)`, '');
    lines.push('| schemas | user\'s schema objects | registered (per event) | a caller\'s table of them (per event) | all compiled (per event) | register ms | first calls ms | hub RSS growth |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [kind, r] of Object.entries(res.memory)) {
      const per = (a, b) => `${((r[b].heapUsed - r[a].heapUsed) / 1024 / 1024).toFixed(1)} MiB (${Math.round((r[b].heapUsed - r[a].heapUsed) / o.events)} B)`;
      lines.push(`| ${kind} | ${per('base', 'schemasMade')} | ${per('schemasMade', 'registered')} | ${per('registered', 'callerSynced')} | ${per('callerSynced', 'called')} | ${Math.round(r.registerMs)} | ${Math.round(r.callMs)} | ${(r.hubRssGrowth / 1024 / 1024).toFixed(1)} MiB |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'typed-bench-'));
  const res = { date: new Date().toISOString(), node: process.version, cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}`, loadavg: os.loadavg(), options: o };
  try {
    if (o.steps.includes('micro')) {
      log('micro: validation in process...');
      res.micro = await micro(o);
    }
    if (o.steps.includes('calls')) {
      log('calls: hub + provider + caller...');
      res.calls = await calls(o, dir);
    }
    if (o.steps.includes('memory')) {
      log('memory...');
      res.memory = await memory(o, dir);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${table(o, res)}\n`);
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, `${JSON.stringify(res, null, 2)}\n`);
  log(`written ${o.out}`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      log(err.stack || String(err));
      process.exit(1);
    },
  );
}
