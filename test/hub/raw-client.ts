/**
 * A raw comm-ipc wire client for hub tests: sends maps, receives decoded
 * frames in order, waits for the next one matching a predicate (with a
 * deadline). Knows nothing of channels or calls: tests speak the protocol.
 */
import * as net from 'node:net';
import { decodeClientFrame, encodeFrame } from '../../lib/hub/protocol/codec';
import { FrameReader } from '../../lib/hub/protocol/frame-reader';

export type Frame = Record<string, unknown>;

export class RawClient {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  private readonly reader = new FrameReader(1 << 30);
  private waiters: Array<() => void> = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const payload of this.reader.push(chunk)) this.frames.push(decodeClientFrame(payload));
      this.wake();
    });
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
  }

  static connect(where: { path: string } | { host: string; port: number }): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(where as net.NetConnectOpts, () => {
        s.removeListener('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  /** Connects and identifies (no secret). */
  static async identified(where: { path: string } | { host: string; port: number }, clientId: string, mode?: string): Promise<RawClient> {
    const c = await RawClient.connect(where);
    c.send({ type: 'identify', client_id: clientId, ...(mode ? { mode } : {}) });
    const f = await c.next((x) => x['type'] === 'identified' || x['type'] === 'error');
    if (f['type'] !== 'identified') throw new Error(`identify failed: ${JSON.stringify(f)}`);
    return c;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(message: object): void {
    this.socket.write(encodeFrame(message));
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Removes and returns the first received frame matching `match`, waiting up to `timeout` ms. */
  async next(match: (f: Frame) => boolean = () => true, timeout = 5000): Promise<Frame> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const i = this.frames.findIndex(match);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closed) throw new Error('connection closed before the expected frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeout} ms; got ${JSON.stringify(this.frames.map((f) => f['type']))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next frame of a type (and request id). */
  nextOf(type: string, requestId?: string, timeout?: number): Promise<Frame> {
    return this.next((f) => f['type'] === type && (requestId === undefined || f['request_id'] === requestId), timeout);
  }

  /** Sends a request and waits for its response. */
  async request(message: Frame & { request_id: string }): Promise<Frame> {
    this.send(message);
    return this.nextOf('response', message.request_id);
  }

  /** Opens a channel (no password): returns [channel_sync, response]. */
  async open(channel: string, rid = `open-${channel}`): Promise<[Frame, Frame]> {
    this.send({ type: 'register', request_id: rid, client_id: 'x', channel, is_provider: false });
    const sync = await this.nextOf('channel_sync');
    const res = await this.nextOf('response', rid);
    return [sync, res];
  }

  /** Registers a provider; returns the first response. */
  async provide(channel: string, event: string, isGroup = false, rid = `reg-${channel}-${event}`): Promise<Frame> {
    this.send({ type: 'register', request_id: rid, channel, is_provider: true, event, is_stream: false, is_group: isGroup, param_schema: null, return_schema: null });
    const first = await this.nextOf('response', rid);
    if (!('error' in first)) await this.nextOf('response', rid); // the second, data-carrying one
    return first;
  }

  /** Frames matching `match` received within a short settle window (for "nothing arrives" checks, via a ping round trip). */
  async drainUntilPong(): Promise<Frame[]> {
    this.send({ type: 'ping' });
    await this.nextOf('pong');
    return this.frames.splice(0);
  }

  close(): void {
    this.socket.destroy();
  }
}
