/** OutQueue on a real socket pair: a window in the socket, the rest in order behind it. */
import { expect } from 'chai';
import * as net from 'node:net';
import * as path from 'node:path';
import { OutQueue } from '../../lib/hub/server/out-queue';
import { makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';

describe('OutQueue', () => {
  let dir = '';
  let server: net.Server | undefined;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
    removeTempDir(dir);
  });

  /** A connected pair: `writer` (ours) and `reader`, which starts paused. */
  async function pair(): Promise<{ writer: net.Socket; reader: net.Socket }> {
    dir = makeTempDir('outq');
    const p = path.join(dir, 's.sock');
    const accepted = new Promise<net.Socket>((resolve) => {
      server = net.createServer((s) => {
        s.pause();
        resolve(s);
      });
    });
    await new Promise<void>((r) => server!.listen(p, r));
    const writer = net.connect(p);
    await new Promise((r) => writer.once('connect', r));
    const reader = await accepted;
    sockets.push(writer, reader);
    return { writer, reader };
  }

  it('keeps at most about a window in the socket behind a reader that does not read, and delivers everything in order once it does', async () => {
    const { writer, reader } = await pair();
    const window = 64 * 1024;
    let progress = 0;
    const q = new OutQueue(writer, window, () => progress++);
    const frame = (i: number): Buffer => Buffer.alloc(1000, i % 251);
    const n = 4000; // 4 MB, far beyond what the kernel takes
    for (let i = 0; i < n; i++) {
      q.push(frame(i));
      if (i % 50 === 49) {
        q.flush();
        await new Promise((r) => setImmediate(r));
      }
    }
    q.flush();
    expect(q.bytes).to.equal(n * 1000 - (writer.bytesWritten - writer.writableLength));
    expect(writer.writableLength, 'unsent bytes in the socket').to.be.at.most(window + 50 * 1000);
    const got: Buffer[] = [];
    let total = 0;
    reader.on('data', (d: Buffer) => {
      got.push(d);
      total += d.length;
    });
    reader.resume();
    await waitFor(() => total === n * 1000, 'every byte to arrive', 10000);
    const all = Buffer.concat(got);
    for (let i = 0; i < n; i++) expect(all[i * 1000], `frame ${i}`).to.equal(i % 251);
    expect(q.bytes).to.equal(0);
    expect(progress, 'progress reports while the backlog moved').to.be.greaterThan(10);
  });

  it('drainAll() hands the backlog and this tick to the socket at once (before a close)', async () => {
    const { writer, reader } = await pair();
    const q = new OutQueue(writer, 16 * 1024, () => undefined);
    for (let i = 0; i < 300; i++) {
      q.push(Buffer.alloc(1000, 7));
      q.flush();
    }
    q.push(Buffer.from('end'));
    q.drainAll();
    expect(q.bytes).to.equal(writer.writableLength);
    writer.end();
    const chunks: Buffer[] = [];
    reader.on('data', (d: Buffer) => chunks.push(d));
    reader.resume();
    await new Promise((r) => reader.once('end', r));
    const all = Buffer.concat(chunks);
    expect(all.length).to.equal(300 * 1000 + 3);
    expect(all.subarray(-3).toString()).to.equal('end');
  });
});
