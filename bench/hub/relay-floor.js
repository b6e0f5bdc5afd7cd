'use strict';
/**
 * The floor under every broker figure on this machine: a caller, a byte relay and an echo
 * server, three Node processes on 127.0.0.1 TCP, no decoding at all. The caller sends 100
 * bytes and waits for them to come back through the relay (4 socket hops, as caller -> broker
 * -> provider -> broker -> caller). Prints nothing; the driver forks it and gets
 * { p50us, p99us } over IPC.
 *   role (argv[2]): 'echo' | 'relay' <echoPort> | (none: the caller, which forks the others)
 */
const net = require('node:net');
const { fork } = require('node:child_process');
const { latencySummary } = require('./common');

const role = process.argv[2];
process.on('disconnect', () => process.exit(0));

if (role === 'echo') {
  net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => undefined);
  }).listen(0, '127.0.0.1', function () {
    process.send(this.address().port);
  });
} else if (role === 'relay') {
  const echoPort = Number(process.argv[3]);
  net.createServer((s) => {
    s.setNoDelay(true);
    const up = net.connect(echoPort, '127.0.0.1');
    up.setNoDelay(true);
    s.on('data', (d) => up.write(d));
    up.on('data', (d) => s.write(d));
    s.on('error', () => undefined);
    up.on('error', () => undefined);
  }).listen(0, '127.0.0.1', function () {
    process.send(this.address().port);
  });
} else {
  const n = Number(process.env.FLOOR_N || 20000);
  const warmup = 2000;
  const kids = [];
  const portOf = (k) => new Promise((resolve) => k.once('message', resolve));
  (async () => {
    const echo = fork(__filename, ['echo']);
    kids.push(echo);
    const relay = fork(__filename, ['relay', String(await portOf(echo))]);
    kids.push(relay);
    const port = await portOf(relay);
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    await new Promise((r) => s.once('connect', r));
    const buf = Buffer.alloc(100);
    const samples = new Float64Array(n);
    let i = 0;
    let got = 0;
    let t0 = 0;
    await new Promise((resolve) => {
      s.on('data', (d) => {
        got += d.length;
        if (got < buf.length) return;
        got -= buf.length;
        const t = Number(process.hrtime.bigint());
        if (i >= warmup) samples[i - warmup] = t - t0;
        if (++i >= n + warmup) return resolve();
        t0 = Number(process.hrtime.bigint());
        s.write(buf);
      });
      t0 = Number(process.hrtime.bigint());
      s.write(buf);
    });
    s.destroy();
    const r = latencySummary(samples);
    for (const k of kids) k.kill();
    if (process.send) process.send(r);
    else console.log(r);
    setTimeout(() => process.exit(0), 50);
  })();
}
