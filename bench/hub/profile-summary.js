'use strict';
/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per file, as
 * percentages of the busy (non-idle) time. Also usable alone:
 *   node bench/hub/profile-summary.js FILE.cpuprofile [TOP]
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

function shortUrl(url) {
  if (!url) return '(native)';
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(ROOT + '/')) u = u.slice(ROOT.length + 1);
  return u.replace(/^.*node_modules\//, '');
}

function summarizeProfile(file, top = 30) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0; // the delta after sample i is its duration
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const fns = new Map();
  const files = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    total += us;
    if (cf.functionName === '(idle)' || cf.functionName === '(program)') {
      if (cf.functionName === '(idle)') idle += us;
    }
    if (cf.functionName === '(idle)') continue;
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'}|${where}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const f = cf.url ? shortUrl(cf.url) : cf.functionName;
    files.set(f, (files.get(f) ?? 0) + us);
  }
  const busy = total - idle;
  const pctOf = (us) => +((us / busy) * 100).toFixed(1);
  const topFns = [...fns].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => {
    const [name, where] = k.split('|');
    return { name, where, selfPct: pctOf(us), selfMs: Math.round(us / 1000) };
  });
  const byFile = [...files].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([f, us]) => ({ file: f, selfPct: pctOf(us) }));
  return { busyMs: Math.round(busy / 1000), idleMs: Math.round(idle / 1000), top: topFns, byFile };
}

module.exports = { summarizeProfile };

if (require.main === module) {
  const s = summarizeProfile(process.argv[2], Number(process.argv[3] ?? 40));
  console.log(`busy ${s.busyMs} ms, idle ${s.idleMs} ms`);
  for (const f of s.top) console.log(`${String(f.selfPct).padStart(5)}%  ${f.name}  ${f.where}`);
  console.log('\nby file:');
  for (const f of s.byFile) console.log(`${String(f.selfPct).padStart(5)}%  ${f.file}`);
}
