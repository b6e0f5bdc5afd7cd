import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { GatewayFixture, SOURCES } from './gateway-fixture';
import { waitFor } from '../fixtures/helpers';
import { HubGateway } from '../../lib/gateway/gateway';
import type { HubMessage } from '../../lib/hub/protocol/messages';

const FILE = randomBytes(300_000);

/** A file provider per the gateway's contract: header, then the bytes from offset. */
async function* serveFile(msg: HubMessage): AsyncGenerator<unknown> {
  const d = msg.data as { offset: number; length: number | null; name?: string };
  yield { size: FILE.length, type: 'application/octet-stream', name: d.name ?? 'data.bin', etag: '"v1"' };
  const end = d.length === null ? FILE.length : Math.min(FILE.length, d.offset + d.length);
  for (let at = d.offset; at < end; at += 64 * 1024) yield FILE.subarray(at, Math.min(end, at + 64 * 1024));
}

for (const source of SOURCES) {
  describe(`HubGateway files (${source} link)`, () => {
    const f = new GatewayFixture(source);
    const uploads: Array<{ offset: number; size: number; final: boolean; filename: unknown }> = [];
    let received = Buffer.alloc(0);
    let maxInFlight = 0;
    let inFlight = 0;
    before(async () => {
      await f.start({ uploadChunkSize: 64 * 1024, uploadWindow: 2 });
      await f.math.addEvent('file', serveFile);
      await f.math.addEvent('store', async (msg) => {
        const d = msg.data as { chunk: Buffer; offset: number; final: boolean; filename: unknown; size?: number };
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        uploads.push({ offset: d.offset, size: d.chunk.length, final: d.final, filename: d.filename });
        if (d.chunk.length > 0) {
          const next = Buffer.alloc(Math.max(received.length, d.offset + d.chunk.length));
          received.copy(next);
          d.chunk.copy(next, d.offset);
          received = next;
        }
        return d.final ? { size: d.size, sha256: createHash('sha256').update(received).digest('hex') } : null;
      });
    });
    after(() => f.stop());

    it('downloads the whole file byte-exact with Accept-Ranges and Content-Length', async () => {
      const res = await fetch(`${f.base}/channels/math/files/file`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('accept-ranges')).to.equal('bytes');
      expect(res.headers.get('content-length')).to.equal(String(FILE.length));
      expect(res.headers.get('etag')).to.equal('"v1"');
      expect(res.headers.get('content-disposition')).to.equal(`attachment; filename="data.bin"; filename*=UTF-8''data.bin`);
      expect(Buffer.from(await res.arrayBuffer()).equals(FILE)).to.equal(true);
    });

    it('answers a range with 206 and the real Content-Range, including open and suffix ranges', async () => {
      for (const [range, start, end] of [
        ['bytes=100-199', 100, 199],
        ['bytes=299990-', 299990, FILE.length - 1],
        ['bytes=-10', FILE.length - 10, FILE.length - 1],
        ['bytes=299000-999999', 299000, FILE.length - 1],
      ] as const) {
        const res = await fetch(`${f.base}/channels/math/files/file`, { headers: { range } });
        expect(res.status, range).to.equal(206);
        expect(res.headers.get('content-range'), range).to.equal(`bytes ${start}-${end}/${FILE.length}`);
        expect(Buffer.from(await res.arrayBuffer()).equals(FILE.subarray(start, end + 1)), range).to.equal(true);
      }
    });

    it('answers 416 with bytes */size for an unsatisfiable range, and ignores a malformed or multi range', async () => {
      let res = await fetch(`${f.base}/channels/math/files/file`, { headers: { range: 'bytes=400000-' } });
      expect(res.status).to.equal(416);
      expect(res.headers.get('content-range')).to.equal(`bytes */${FILE.length}`);
      await res.arrayBuffer();
      res = await fetch(`${f.base}/channels/math/files/file`, { headers: { range: 'bytes=0-1,5-6' } });
      expect(res.status).to.equal(200);
      expect((await res.arrayBuffer()).byteLength).to.equal(FILE.length);
    });

    it('honours If-Range: a matching ETag keeps the range, another sends the whole file', async () => {
      let res = await fetch(`${f.base}/channels/math/files/file`, { headers: { range: 'bytes=0-9', 'if-range': '"v1"' } });
      expect(res.status).to.equal(206);
      await res.arrayBuffer();
      res = await fetch(`${f.base}/channels/math/files/file`, { headers: { range: 'bytes=0-9', 'if-range': '"old"' } });
      expect(res.status).to.equal(200);
      expect((await res.arrayBuffer()).byteLength).to.equal(FILE.length);
    });

    it('answers HEAD with the headers only', async () => {
      const res = await fetch(`${f.base}/channels/math/files/file`, { method: 'HEAD' });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-length')).to.equal(String(FILE.length));
    });

    it('streams an upload into the event chunk by chunk, with at most uploadWindow chunks in flight', async () => {
      uploads.length = 0;
      received = Buffer.alloc(0);
      maxInFlight = 0;
      const data = randomBytes(1_000_000);
      const res = await fetch(`${f.base}/channels/math/files/store?filename=a.bin`, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
      expect(res.status).to.equal(200);
      const body = (await res.json()) as { size: number; sha256: string };
      expect(body).to.deep.equal({ size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
      expect(maxInFlight).to.be.at.most(2);
      expect(uploads.filter((u) => !u.final).every((u) => u.size <= 64 * 1024)).to.equal(true);
      expect(uploads.at(-1)).to.deep.include({ final: true, offset: data.length, filename: 'a.bin' });
    });

    it('refuses an upload past uploadLimit with 413 before reading it', async () => {
      const g = f.track(new HubGateway(f.gatewaySource(), { uploadLimit: 1000 }));
      const { port } = await g.listen();
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/channels/math/files/store', headers: { 'content-length': 5000 } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.write(Buffer.alloc(100));
      });
      expect(status).to.equal(413);
    });
  });
}

for (const source of SOURCES) {
  describe(`HubGateway file downloads, flow control (${source} link)`, () => {
    const f = new GatewayFixture(source);
    const SIZE = 24 * 1024 * 1024;
    const SEGMENT = 512 * 1024;
    let yielded = 0;
    const hubErrors: string[] = [];
    before(async () => {
      // A hub that cuts a member off past 1 MiB of unread frames: a download must never make it hold more.
      await f.start({ downloadSegmentSize: SEGMENT }, true, { maxQueueBytes: 1024 * 1024 });
      f.hub.on('clientError', (err) => hubErrors.push(err.code));
      await f.math.addEvent('big', async function* (msg) {
        const d = msg.data as { offset: number; length: number | null };
        yield { size: SIZE, type: 'application/octet-stream' };
        const end = d.length === null ? SIZE : Math.min(SIZE, d.offset + d.length);
        for (let at = d.offset; at < end; at += 64 * 1024) {
          const n = Math.min(64 * 1024, end - at);
          yielded += n;
          yield Buffer.alloc(n, (at / (64 * 1024)) % 251);
        }
      });
    });
    after(() => f.stop());

    it('asks the provider for a segment at a time: a paused reader holds it back, then gets the whole file byte-exact', async () => {
      const { res, done } = await new Promise<{ res: http.IncomingMessage; done: Promise<Buffer> }>((resolve, reject) => {
        http.get(`${f.base}/channels/math/files/big`, (r) => {
          r.pause();
          const parts: Buffer[] = [];
          const done = new Promise<Buffer>((ok, fail) => {
            r.on('data', (c: Buffer) => parts.push(c));
            r.on('end', () => ok(Buffer.concat(parts)));
            r.on('error', fail);
            r.on('close', () => (r.complete ? undefined : fail(new Error(`the body was cut after ${parts.reduce((n, p) => n + p.length, 0)} bytes`))));
          });
          resolve({ res: r, done });
        }).on('error', reject);
      });
      await waitFor(() => yielded >= SEGMENT, 'the first segment');
      // While nobody reads, the provider stops once the buffers on the way are full.
      let last = -1;
      let still = 0;
      await waitFor(() => {
        still = yielded === last ? still + 1 : 0;
        last = yielded;
        return still >= 20; // 100 ms without a chunk
      }, 'the provider to stop producing');
      expect(yielded).to.be.below(SIZE / 2);
      res.resume();
      const body = await done;
      expect(body.length).to.equal(SIZE);
      for (let at = 0; at < SIZE; at += 64 * 1024) expect(body[at], `byte ${at}`).to.equal((at / (64 * 1024)) % 251);
      expect(hubErrors).to.not.include('PIPEIO_ERR_SLOW_CONSUMER');
    });
  });
}
