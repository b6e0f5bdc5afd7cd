// Child processes of bench/gateway.bench.js. Usage: node servers.js <role> <socket>
//   hub       a Hub on <socket>; in the same process, a HubGateway given the Hub (`{ hub }`:
//             the in-process link, as `pipe-io-server hub --http` runs it) and the minimal
//             node:http handler over an in-process HubClient (the baseline of that arrangement)
//   provider  a Node provider of math:add (pydantic-like schema), math:blob (a file stream of
//             GWBENCH_BLOB_MIB MiB in GWBENCH_BLOB_CHUNK_KIB chunks, base64 text with
//             GWBENCH_BLOB_BASE64=1), math:sink (upload chunks), and the topic math:ticks
//             (publishes on an IPC message { publish: n, rate: per second })
//   gateway   HubGateway in a process of its own, over <socket>
//   direct    the minimal node:http handler in a process of its own, one HubClient over <socket>
// Each prints `READY <json>` once serving; stops on SIGTERM.
'use strict';
const http = require('node:http');
const { Hub, HubClient, HubGateway } = require('../../dist/index.js');
// Builds before the in-process link (to compare with them) have none: their baseline in the hub process then uses the socket.
const inProcessOpener = (() => {
  try {
    return require('../../dist/gateway/in-process-link.js').inProcessOpener;
  } catch {
    return undefined;
  }
})();

const [role, socket] = process.argv.slice(2);

// GWBENCH_HEAP_MIB=N: this process keeps about N MiB of live objects, as an application's own
// state would (docs/gateway-bench.md: V8 collects far more often in a process whose old
// generation is just past 8 MiB than in a smaller or a larger one).
const ballast = [];
for (const want = Number(process.env.GWBENCH_HEAP_MIB || 0) * 1048576, base = process.memoryUsage().heapUsed; want > 0 && process.memoryUsage().heapUsed - base < want; ) {
  for (let i = 0; i < 10000; i++) ballast.push({ i, s: `ballast ${ballast.length}` });
}
const ADD = { title: 'AddParams', type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'] };
const BLOB = Buffer.alloc(Number(process.env.GWBENCH_BLOB_CHUNK_KIB || 256) * 1024, 7);
const BLOB_SIZE = Number(process.env.GWBENCH_BLOB_MIB || 256) * 1024 * 1024;
// GWBENCH_GATEWAY_OPTIONS (JSON) adds gateway options, to try settings: '{"uploadWindow":8}'
const GATEWAY_OPTIONS = { channels: ['math'], uploadLimit: 2 ** 31, keepAlive: 0, ...JSON.parse(process.env.GWBENCH_GATEWAY_OPTIONS || '{}') };

/** The baseline: parse the JSON body, call math:add, answer its JSON; nothing else. */
async function bareHandler(client) {
  await client.connect();
  const ch = await client.open('math');
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      ch.call('add', JSON.parse(Buffer.concat(parts).toString())).then(
        (r) => {
          const body = JSON.stringify(r.data);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        },
        (err) => {
          res.writeHead(500);
          res.end(String(err.message));
        },
      );
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

async function provider() {
  const p = new HubClient({ path: socket }, { clientId: 'bench-provider' });
  await p.connect();
  const ch = await p.open('math');
  // GWBENCH_NO_SCHEMA=1: math:add without its schema (no schema compiled in this process; see
  // docs/gateway-bench.md on V8's full collections during transfers)
  await ch.addEvent('add', (m) => m.data.a + m.data.b, process.env.GWBENCH_NO_SCHEMA === '1' ? {} : { parameters: ADD });
  // GWBENCH_BLOB_BASE64=1: chunks as base64 text, as a provider without bytes on the wire sends them
  const base64 = process.env.GWBENCH_BLOB_BASE64 === '1';
  await ch.addEvent('blob', async function* (m) {
    const { offset, length } = m.data;
    yield { size: BLOB_SIZE, type: 'application/octet-stream', ...(base64 ? { encoding: 'base64' } : {}) };
    const end = length === null ? BLOB_SIZE : Math.min(BLOB_SIZE, offset + length);
    for (let at = offset; at < end; at += BLOB.length) {
      const bytes = at + BLOB.length <= end ? BLOB : BLOB.subarray(0, end - at);
      yield base64 ? bytes.toString('base64') : bytes;
    }
  });
  let received = 0;
  await ch.addEvent('sink', (m) => {
    received += m.data.chunk.length;
    if (!m.data.final) return null;
    const answer = { size: m.data.size, received };
    received = 0;
    return answer;
  });
  await ch.addSubscription('ticks');
  process.on('message', async (msg) => {
    if (!msg.publish) return;
    const every = 1000 / msg.rate;
    const start = Date.now();
    for (let k = 0; k < msg.publish; k++) {
      const wait = start + k * every - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await ch.publish('ticks', k);
    }
    process.send({ published: msg.publish, ms: Date.now() - start });
  });
  return {};
}

async function main() {
  let info;
  if (role === 'hub') {
    const hub = new Hub({ serverId: 'bench' });
    hub.on('clientError', () => undefined);
    await hub.listen({ path: socket });
    const g = new HubGateway({ hub }, GATEWAY_OPTIONS);
    const { port } = await g.listen({ port: 0 });
    const barePort = await bareHandler(new HubClient(inProcessOpener ? inProcessOpener(hub) : { path: socket }, { clientId: 'bench-bare-in-hub' }));
    info = { port, barePort };
  } else if (role === 'provider') {
    info = await provider();
  } else if (role === 'gateway') {
    const g = new HubGateway({ address: { path: socket } }, GATEWAY_OPTIONS);
    info = { port: (await g.listen({ port: 0 })).port };
  } else if (role === 'direct') {
    info = { port: await bareHandler(new HubClient({ path: socket }, { clientId: 'bench-direct' })) };
  } else {
    throw new Error(`unknown role ${role}`);
  }
  console.log(`READY ${JSON.stringify({ ...info, pid: process.pid })}`);
}
process.on('SIGTERM', () => process.exit(0));
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
