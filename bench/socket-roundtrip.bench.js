'use strict';
/**
 * Unix-socket JSON-line request/response bench: sequential round trip
 * (p50/p99) and pipelined throughput on ONE connection, for every pairing of
 * our UnixServer/UnixClient with a stdlib Python server/client speaking the
 * same protocol (bench/socket_peer.py).
 *
 *   npm run build && node bench/socket-roundtrip.bench.js [--lat N] [--pipe N] [--window N]
 *
 * Defaults: --lat 20000 sequential requests, --pipe 200000 pipelined requests,
 * --window 4096 requests in flight. Prints a Markdown table.
 */
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { UnixClient } = require('../dist');

const PEER = path.join(__dirname, 'socket_peer.py');

function parseArgs(argv) {
  const o = { lat: 20000, pipe: 200000, window: 4096 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in o)) throw new Error(`unknown option ${argv[i]}`);
    o[key] = Number(argv[++i]);
  }
  return o;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function nodeClient(sockPath, o) {
  const client = new UnixClient(sockPath, { timeout: 60000 });
  try {
    for (let i = 0; i < 2000; i++) await client.request({ op: 'echo', id: i }); // warm-up
    const lat = new Float64Array(o.lat);
    for (let i = 0; i < o.lat; i++) {
      const t0 = process.hrtime.bigint();
      await client.request({ op: 'echo', id: i });
      lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    lat.sort();
    const t0 = process.hrtime.bigint();
    await new Promise((resolve, reject) => {
      let sent = 0;
      let done = 0;
      let inflight = 0;
      function onReply() {
        done++;
        inflight--;
        if (done === o.pipe) resolve();
        else pump();
      }
      function pump() {
        while (inflight < o.window && sent < o.pipe) {
          inflight++;
          client.request({ op: 'echo', id: sent++ }).then(onReply, reject);
        }
      }
      pump();
    });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    return { p50_us: pct(lat, 0.5), p99_us: pct(lat, 0.99), pipelined_rps: o.pipe / secs };
  } finally {
    await client.close();
  }
}

function pythonClient(sockPath, o) {
  return new Promise((resolve, reject) => {
    execFile('python3', [PEER, 'client', sockPath, String(o.lat), String(o.pipe)], { timeout: 300000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message} ${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

/** Our UnixServer in its own process (as in production: server and client do not share a thread). */
const NODE_SERVER = `
const { UnixServer } = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
const server = new UnixServer(process.argv[1], (request) => request);
server.start().then(() => console.log('ready'));
process.stdin.on('end', () => server.stop().then(() => process.exit(0)));
process.stdin.resume();
`;

function withNodeServer(sockPath, fn) {
  return withChildServer(spawn(process.execPath, ['-e', NODE_SERVER, sockPath], { stdio: ['pipe', 'pipe', 'inherit'] }), fn);
}

function withPythonServer(sockPath, fn) {
  return withChildServer(spawn('python3', [PEER, 'server', sockPath], { stdio: ['pipe', 'pipe', 'inherit'] }), fn);
}

async function withChildServer(child, fn) {
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', () => reject(new Error('server process exited')));
  });
  try {
    return await fn();
  } finally {
    child.stdin.end();
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

async function socketRoundtrip(o) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pio-sock-bench-'));
  const sockPath = path.join(dir, 'b.sock');
  const rows = [];
  try {
    rows.push(['node UnixServer', 'node UnixClient', await withNodeServer(sockPath, () => nodeClient(sockPath, o))]);
    rows.push(['node UnixServer', 'python client', await withNodeServer(sockPath, () => pythonClient(sockPath, o))]);
    rows.push(['python server', 'node UnixClient', await withPythonServer(sockPath, () => nodeClient(sockPath, o))]);
    rows.push(['python server', 'python client', await withPythonServer(sockPath, () => pythonClient(sockPath, o))]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

function socketRoundtripTable(rows) {
  const lines = ['| server | client | p50 (us) | p99 (us) | pipelined req/s (1 connection) |', '|---|---|---:|---:|---:|'];
  for (const [server, client, r] of rows) {
    lines.push(`| ${server} | ${client} | ${r.p50_us.toFixed(1)} | ${r.p99_us.toFixed(1)} | ${Math.round(r.pipelined_rps)} |`);
  }
  return lines.join('\n');
}

module.exports = { socketRoundtrip, socketRoundtripTable };

if (require.main === module) {
  const o = parseArgs(process.argv.slice(2));
  socketRoundtrip(o).then(
    (rows) => console.log(socketRoundtripTable(rows)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
