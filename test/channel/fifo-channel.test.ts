import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PipeIOError } from '../../lib/errors';
import { FifoChannel } from '../../lib/channel/fifo-channel';
import { makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';

function rejection(p: Promise<unknown>): Promise<PipeIOError> {
  return p.then(() => expect.fail('should reject'), (e: PipeIOError) => e);
}

/** Writes `text` into the FIFO from a separate shell process (a writer that comes and goes). */
function shellWrite(fifo: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', 'printf "%s" "$1" > "$2"', 'sh', text, fifo], { timeout: 10000 }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

describe('FifoChannel', () => {
  let dir: string;
  let fifo: string;
  const channels: FifoChannel[] = [];

  function channel(...args: ConstructorParameters<typeof FifoChannel> extends [string, ...infer R] ? R : never): FifoChannel {
    const ch = new FifoChannel(fifo, ...args);
    channels.push(ch);
    return ch;
  }

  beforeEach(() => {
    dir = makeTempDir();
    fifo = path.join(dir, 'sub', 'chan.fifo');
  });
  afterEach(async () => {
    for (const ch of channels.splice(0)) await ch.close();
    removeTempDir(dir);
  });

  it('creates the FIFO owner-only (and parents 0700) on open, whatever the umask', async () => {
    const oldMask = process.umask(0);
    try {
      await channel().open();
    } finally {
      process.umask(oldMask);
    }
    const st = fs.lstatSync(fifo);
    expect(st.isFIFO()).to.equal(true);
    expect(st.mode & 0o777).to.equal(0o600);
    expect(fs.statSync(path.dirname(fifo)).mode & 0o777).to.equal(0o700);
  });

  it('refuses a non-FIFO and a symlink with PIPEIO_ERR_NOT_A_FIFO, leaving them alone', async () => {
    fs.mkdirSync(path.dirname(fifo));
    fs.writeFileSync(fifo, 'precious');
    const ch = channel();
    expect((await rejection(ch.send({ a: 1 }))).code).to.equal('PIPEIO_ERR_NOT_A_FIFO');
    expect((await rejection(ch.recv())).code).to.equal('PIPEIO_ERR_NOT_A_FIFO');
    expect(fs.readFileSync(fifo, 'utf8')).to.equal('precious');

    // A symlink, even to a real FIFO, is never followed.
    const real = path.join(dir, 'real.fifo');
    const realChannel = new FifoChannel(real);
    channels.push(realChannel);
    await realChannel.open();
    const link = path.join(dir, 'link.fifo');
    fs.symlinkSync(real, link);
    const viaLink = new FifoChannel(link);
    channels.push(viaLink);
    expect((await rejection(viaLink.send({ a: 1 }))).code).to.equal('PIPEIO_ERR_NOT_A_FIFO');
    expect((await rejection(viaLink.recv({ timeout: 1000 }))).code).to.equal('PIPEIO_ERR_NOT_A_FIFO');
    expect(fs.lstatSync(link).isSymbolicLink()).to.equal(true);
  });

  describe('#send', () => {
    it('fails at once with PIPEIO_ERR_NO_READER when nobody reads', async () => {
      const ch = channel();
      const err = await rejection(ch.send({ hello: 1 }));
      expect(err.code).to.equal('PIPEIO_ERR_NO_READER');
    });

    it('fails with PIPEIO_ERR_TIMEOUT when the reader never drains a full pipe', async () => {
      const sender = channel({ sendTimeout: 100 });
      await sender.open();
      const stuckReader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      try {
        const err = await rejection(sender.send('z'.repeat(1024 * 1024)));
        expect(err.code).to.equal('PIPEIO_ERR_TIMEOUT');
      } finally {
        fs.closeSync(stuckReader);
      }
    });

    it('rejects a value with no JSON text with a TypeError', async () => {
      const err = await channel().send(undefined).then(() => expect.fail('should reject'), (e: Error) => e);
      expect(err).to.be.instanceOf(TypeError);
    });
  });

  describe('#recv', () => {
    it('round-trips values between two channels, large ones included, in order', async () => {
      const rx = channel();
      const tx = channel();
      await rx.listen();
      const first = rx.recv();
      const big = { blob: 'b'.repeat(200_000) };
      await tx.send({ n: 1 });
      expect(await first).to.deep.equal({ n: 1 });
      const sends = Promise.all([tx.send(big), tx.send({ n: 2 })]);
      expect(await rx.recv({ timeout: 5000 })).to.deep.equal(big);
      expect(await rx.recv({ timeout: 5000 })).to.deep.equal({ n: 2 });
      await sends;
    });

    it('loses none of several messages read in one chunk, from writers that come and go', async () => {
      const rx = channel();
      await rx.listen();
      const pending = rx.recv();
      await shellWrite(fifo, '{"a":1}\n{"a":2}\n{"a":3}\n');
      await shellWrite(fifo, 'not json\n{"a":4}\n');
      expect(await pending).to.deep.equal({ a: 1 });
      expect(await rx.recv({ timeout: 5000 })).to.deep.equal({ a: 2 });
      expect(await rx.recv({ timeout: 5000 })).to.deep.equal({ a: 3 });
      expect(await rx.recv({ timeout: 5000 })).to.deep.equal({ a: 4 });
    });

    it('emits coded errors for bad lines when listened to, and goes on', async () => {
      const rx = channel({ maxLineLength: 32 });
      const errors: string[] = [];
      rx.on('error', (e) => errors.push(e.code));
      await rx.listen();
      const pending = rx.recv();
      await shellWrite(fifo, `oops\n"${'x'.repeat(100)}"\n{"ok":true}\n`);
      expect(await pending).to.deep.equal({ ok: true });
      expect(errors).to.deep.equal(['PIPEIO_ERR_INVALID_JSON', 'PIPEIO_ERR_LINE_TOO_LONG']);
    });

    it('times out, aborts, and fails with PIPEIO_ERR_CLOSED on close', async () => {
      const rx = channel();
      expect((await rejection(rx.recv({ timeout: 20 }))).code).to.equal('PIPEIO_ERR_TIMEOUT');
      const ac = new AbortController();
      const aborted = rx.recv({ signal: ac.signal });
      ac.abort();
      expect((await rejection(aborted)).code).to.equal('PIPEIO_ERR_ABORTED');
      const waiting = rejection(rx.recv());
      await rx.close();
      expect((await waiting).code).to.equal('PIPEIO_ERR_CLOSED');
      expect((await rejection(rx.recv())).code).to.equal('PIPEIO_ERR_CLOSED');
    });

    it('never blocks the event loop or the libuv thread pool while waiting', async () => {
      // More waiting receivers than pool threads (4): a thread-based read would starve fs.
      const receivers = Array.from({ length: 6 }, (_, i) => new FifoChannel(path.join(dir, `r${i}.fifo`)));
      channels.push(...receivers);
      await Promise.all(receivers.map((r) => r.listen()));
      const waits = receivers.map((r) => r.recv().catch((e: PipeIOError) => e.code));
      const started = Date.now();
      await Promise.all(Array.from({ length: 8 }, () => fs.promises.readFile(__filename)));
      expect(Date.now() - started, 'fs calls through the pool finish promptly').to.be.below(2000);
      await new Promise((resolve) => setImmediate(resolve)); // the loop turns
      for (const r of receivers) await r.close();
      expect(await Promise.all(waits)).to.deep.equal(Array(6).fill('PIPEIO_ERR_CLOSED'));
    });
  });

  describe('async iteration', () => {
    it('yields values until the channel is closed', async () => {
      const rx = channel();
      const tx = channel();
      const got: unknown[] = [];
      await rx.listen();
      const loop = (async () => {
        for await (const v of rx) {
          got.push(v);
          if (got.length === 3) await rx.close();
        }
      })();
      await tx.send(1);
      await tx.send(2);
      await tx.send(3);
      await loop;
      expect(got).to.deep.equal([1, 2, 3]);
    });
  });

  describe('#close', () => {
    it('is idempotent, emits close, and removes the FIFO only with removeOnClose', async () => {
      const a = channel({ removeOnClose: true });
      await a.open();
      let closes = 0;
      a.on('close', () => closes++);
      await Promise.all([a.close(), a.close()]);
      await waitFor(() => closes === 1, 'the close event');
      expect(fs.existsSync(fifo)).to.equal(false);
      const b = channel();
      await b.open();
      await b.close();
      expect(fs.existsSync(fifo)).to.equal(true);
    });
  });
});
