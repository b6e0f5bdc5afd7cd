// Child processes of bench/gateway.bench.js. Usage: node servers.js <role> <socket> [port]
//   hub       a Hub on <socket> with a Node provider of math:add (pydantic-like schema),
//             math:blob (a 256 MiB file stream) and math:sink (upload chunks), and the topic math:ticks
//   gateway   HubGateway on 127.0.0.1:0 in front of <socket>
//   direct    a minimal node:http handler calling the hub through one HubClient (the baseline)
// Each prints `READY <json>` once serving; stops on SIGTERM.
'use strict';
const http = require('node:http');
const { Hub, HubClient, HubGateway } = require('../../dist/index.js');

const [role, socket] = process.argv.slice(2);
const ADD = { title: 'AddParams', type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'] };
const BLOB = Buffer.alloc(256 * 1024, 7);
const BLOB_SIZE = Number(process.env.GWBENCH_BLOB_MIB || 256) * 1024 * 1024;

async function main() {
  if (role === 'hub') {
    const hub = new Hub({ serverId: 'bench' });
    hub.on('clientError', () => undefined);
    await hub.listen({ path: socket });
    const p = new HubClient({ path: socket }, { clientId: 'bench-provider' });
    await p.connect();
    const ch = await p.open('math');
    await ch.addEvent('add', (m) => m.data.a + m.data.b, { parameters: ADD });
    await ch.addEvent('blob', async function* (m) {
      const { offset, length } = m.data;
      yield { size: BLOB_SIZE, type: 'application/octet-stream' };
      const end = length === null ? BLOB_SIZE : Math.min(BLOB_SIZE, offset + length);
      for (let at = offset; at < end; at += BLOB.length) yield at + BLOB.length <= end ? BLOB : BLOB.subarray(0, end - at);
    });
    let received = 0;
    await ch.addEvent('sink', (m) => {
      received += m.data.chunk.length;
      return m.data.final ? { size: m.data.size, received } : null;
    });
    await ch.addSubscription('ticks');
    process.on('message', async (msg) => {
      if (msg.publish) {
        // msg.publish messages at msg.rate per second
        const every = 1000 / msg.rate;
        const start = Date.now();
        for (let k = 0; k < msg.publish; k++) {
          const due = start + k * every;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          await ch.publish('ticks', k);
        }
        process.send({ published: msg.publish, ms: Date.now() - start });
      }
    });
    console.log(`READY ${JSON.stringify({ pid: process.pid })}`);
  } else if (role === 'gateway') {
    const g = new HubGateway({ address: { path: socket } }, { channels: ['math'], uploadLimit: 2 ** 31, keepAlive: 0 });
    const { port } = await g.listen({ port: 0 });
    console.log(`READY ${JSON.stringify({ port, pid: process.pid })}`);
  } else if (role === 'direct') {
    const c = new HubClient({ path: socket }, { clientId: 'bench-direct' });
    await c.connect();
    const ch = await c.open('math');
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
    server.listen(0, '127.0.0.1', () => console.log(`READY ${JSON.stringify({ port: server.address().port, pid: process.pid })}`));
  }
}
process.on('SIGTERM', () => process.exit(0));
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
