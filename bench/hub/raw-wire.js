'use strict';
/**
 * A minimal comm-ipc wire connection for the benchmark's hub workers: the package's own codec
 * (encodeFrame / decodeClientFrame) and FrameReader from dist/, nothing else per message.
 * Frames a workload did not claim (onFrame unset) go to a small queue that control steps
 * (identify, register, subscribe) wait on; workloads set `onFrame` for the hot path.
 * Outgoing frames queued with queue() while a chunk is processed leave in one write.
 * A `ping` every 10 s keeps idle connections (e.g. group providers while other workloads
 * run) from the hub's idle timeout; workloads ignore the `pong`s.
 */
const net = require('node:net');
const path = require('node:path');
const { ROOT } = require('./common');

const { encodeFrame, decodeClientFrame } = require(path.join(ROOT, 'dist', 'hub', 'protocol', 'codec.js'));
const { FrameReader } = require(path.join(ROOT, 'dist', 'hub', 'protocol', 'frame-reader.js'));

const PING = encodeFrame({ type: 'ping' });
const HEARTBEAT_MS = 10000;

class RawConn {
  constructor(socket) {
    this.socket = socket;
    this.reader = new FrameReader(1 << 30);
    this.frames = [];
    this.waiters = [];
    this.out = [];
    this.outBytes = 0;
    /** Hot-path handler: (frame) => void; unset while control steps run. */
    this.onFrame = null;
    this.closed = false;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      const payloads = this.reader.push(chunk);
      const h = this.onFrame;
      for (let i = 0; i < payloads.length; i++) {
        const f = decodeClientFrame(payloads[i]);
        if (f.type === 'pong' && this.pings.shift() === 'heartbeat') continue; // pongs come back in ping order
        if (h) h(f);
        else this.frames.push(f);
      }
      if (!h) this.wake();
      this.flush();
    });
    socket.on('error', () => undefined);
    // A heartbeat as every real client sends (the hub closes connections silent for idleTimeout).
    this.pings = [];
    this.heartbeat = setInterval(() => {
      this.pings.push('heartbeat');
      this.socket.write(PING);
    }, HEARTBEAT_MS).unref();
    socket.on('close', () => {
      this.closed = true;
      clearInterval(this.heartbeat);
      this.wake();
    });
  }

  static connect(addr) {
    return new Promise((resolve, reject) => {
      const s = net.connect(addr.path ? { path: addr.path } : { host: addr.host, port: addr.port }, () => {
        s.removeListener('error', reject);
        resolve(new RawConn(s));
      });
      s.once('error', reject);
    });
  }

  /** Connects and identifies as `clientId`. */
  static async identified(addr, clientId) {
    const c = await RawConn.connect(addr);
    c.send({ type: 'identify', client_id: clientId });
    const f = await c.next((x) => x.type === 'identified' || x.type === 'error');
    if (f.type !== 'identified') throw new Error(`identify ${clientId}: ${JSON.stringify(f)}`);
    c.id = clientId;
    return c;
  }

  /** Writes one frame now. */
  send(obj) {
    this.socket.write(encodeFrame(obj));
  }

  /** Queues encoded bytes; flush() (automatic after each received chunk) writes them at once. */
  queue(buf) {
    this.out.push(buf);
    this.outBytes += buf.length;
  }

  /** Queues a `ping` whose `pong` the workload's onFrame gets (heartbeat pongs are swallowed). */
  queuePing() {
    this.pings.push('workload');
    this.queue(PING);
  }

  /** Writes the queued bytes in one write; returns socket.write()'s answer (false: wait for 'drain'). */
  flush() {
    if (this.out.length === 0) return true;
    const b = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    return this.socket.write(b);
  }

  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The first queued frame matching `match` (control steps only). */
  async next(match, timeout = 10000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const i = this.frames.findIndex(match);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.closed) throw new Error(`${this.id}: connection closed`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.id}: no matching frame within ${timeout} ms; have ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a control request and returns its response. */
  async request(msg) {
    this.send(msg);
    return this.next((f) => f.type === 'response' && f.request_id === msg.request_id);
  }

  /** Registers an event provider (group or not); throws on refusal. */
  async provide(channel, event, { group = false, stream = false } = {}) {
    const rid = `reg-${channel}-${event}`;
    const first = await this.request({
      type: 'register', request_id: rid, channel, is_provider: true, event,
      is_stream: stream, is_group: group, param_schema: null, return_schema: null,
    });
    if (first.error) throw new Error(`register ${channel}:${event}: ${first.error}`);
    await this.next((f) => f.type === 'response' && f.request_id === rid); // the data-carrying second reply
  }

  close() {
    this.socket.destroy();
  }
}

module.exports = { RawConn, encodeFrame, decodeClientFrame };
