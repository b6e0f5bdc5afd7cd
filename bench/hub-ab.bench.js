'use strict';
/**
 * Two builds of the hub side by side (a before/after check): bench/hub.bench.js's hub workloads
 * (raw-wire workers: calls/s on one connection and over 8 callers, group calls/s, stream
 * chunks/s, fan-out deliveries/s), run on build A, then B, then B, then A... so that both see
 * the same machine load. Only the hub process differs (PIPEIO_BENCH_HUB_DIST); the workers
 * use this checkout's dist/. Reports the median of each figure per build, B/A ratios, and the
 * hub's CPU time per operation (steadier than rates on a shared machine).
 *
 *   node bench/hub-ab.bench.js --base DIR [--reps 3] [--full] [--steps pipeline,multi,group,stream,fanout]
 *
 * DIR is the other build's dist/ (e.g. `git archive BASE | tar -x -C /tmp/base && cd /tmp/base &&
 * ln -s $PWD/node_modules && npx tsc -p tsconfig.build.json`); B is this checkout's dist/
 * (`npm run build` first). Without --full every count is divided by 5, as hub.bench.js
 * --quick (a rep takes about a minute). Never part of `npm test`.
 */
const path = require('node:path');
const os = require('node:os');
const { hubBench } = require('./hub.bench');

const log = (...a) => console.error('hub-ab:', ...a);

function parseArgs(argv) {
  const o = { reps: 3, quick: true, steps: ['pipeline', 'multi', 'group', 'stream', 'fanout'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--base') o.base = path.resolve(argv[++i]);
    else if (a === '--reps') o.reps = Number(argv[++i]);
    else if (a === '--full') o.quick = false;
    else if (a === '--steps') o.steps = argv[++i].split(',');
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.base) throw new Error('--base DIR (the other build\'s dist/) is required');
  return o;
}

/** The figures of one hub run: rates, and hub CPU µs per operation. */
function figures(h) {
  const perOp = (x, ops) => (x && ops ? (x.brokerCpuSec / ops) * 1e6 : NaN);
  const streamRep = h.stream ? h.stream.reps[Math.floor(h.stream.reps.length / 2)] : undefined;
  return {
    'RPC, 1 connection, calls/s': h.pipeline?.perSec,
    'RPC, 8 callers, calls/s': h.multi?.perSec,
    'group, calls/s': h.group?.perSec,
    'stream, chunks/s': h.stream?.perSec,
    'fan-out, deliveries/s': h.fanout?.loaded?.perSec,
    'hub CPU µs per call (1 connection)': perOp(h.pipeline, h.pipeline?.n),
    'hub CPU µs per call (8 callers)': perOp(h.multi, h.multi?.n),
    'hub CPU µs per group call': perOp(h.group, h.group?.n),
    'hub CPU µs per chunk': perOp(streamRep, streamRep?.chunks),
    'hub CPU µs per delivery': perOp(h.fanout?.loaded, h.fanout?.loaded?.delivered),
  };
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const builds = { A: o.base, B: undefined };
  const runs = { A: [], B: [] };
  const load0 = os.loadavg();
  for (let rep = 0; rep < o.reps; rep++) {
    for (const b of rep % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
      if (builds[b]) process.env.PIPEIO_BENCH_HUB_DIST = builds[b];
      else delete process.env.PIPEIO_BENCH_HUB_DIST;
      log(`rep ${rep + 1}/${o.reps}: build ${b}`);
      const r = await hubBench({ only: ['hub'], quick: o.quick, steps: o.steps, rssWarmup: 0 });
      if (!r.systems.hub) throw new Error(`build ${b}: no hub result (${r.notes.join('; ')})`);
      for (const n of r.notes) log(`build ${b}: ${n}`);
      runs[b].push(figures(r.systems.hub));
    }
  }
  const out = [`# Hub A/B (${o.reps} reps each, alternating; ${o.quick ? 'counts / 5' : 'full counts'}; load ${load0.map((x) => x.toFixed(1)).join(' ')} -> ${os.loadavg().map((x) => x.toFixed(1)).join(' ')})`, '', `A: ${o.base}`, `B: ${path.resolve(__dirname, '..', 'dist')}`, '', '| figure | A (median) | B (median) | B / A | A runs | B runs |', '|---|---:|---:|---:|---|---|'];
  const f = (x) => (Number.isFinite(x) ? (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2)) : '-');
  for (const k of Object.keys(runs.A[0])) {
    const a = median(runs.A.map((r) => r[k]));
    const b = median(runs.B.map((r) => r[k]));
    out.push(`| ${k} | ${f(a)} | ${f(b)} | ${Number.isFinite(a) && a ? (b / a).toFixed(3) : '-'} | ${runs.A.map((r) => f(r[k])).join(', ')} | ${runs.B.map((r) => f(r[k])).join(', ')} |`);
  }
  console.log(out.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
