import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { PipeIOError } from '../../lib/errors';
import { checkSocketPath } from '../../lib/socket/socket-path';
import { UnixServer } from '../../lib/socket/unix-server';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';

/** Raw client: sends `lines`, collects `expected` reply lines. */
async function exchange(socketPath: string, text: string, expected: number): Promise<unknown[]> {
  const sock = net.connect(socketPath);
  await once(sock, 'connect');
  sock.write(text);
  let buf = '';
  const out: unknown[] = [];
  for await (const chunk of sock) {
    buf += String(chunk);
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) out.push(JSON.parse(l));
    if (out.length >= expected) break;
  }
  sock.destroy();
  return out;
}

describe('UnixServer', () => {
  let dir: string;
  let server: UnixServer | undefined;

  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    removeTempDir(dir);
  });

  describe('#start', () => {
    it('creates the socket 0600 whatever the umask, and missing parents 0700', async () => {
      const sockPath = path.join(dir, 'a', 'b', 'ctl.sock');
      server = new UnixServer(sockPath, (r) => r);
      // umask 0 would leave a plainly bound socket 0777 and new directories 0777.
      const oldMask = process.umask(0);
      try {
        await server.start();
      } finally {
        process.umask(oldMask);
      }
      expect(server.state).to.equal('running');
      expect(fs.lstatSync(sockPath).isSocket()).to.equal(true);
      expect(fs.lstatSync(sockPath).mode & 0o777).to.equal(0o600);
      expect(fs.statSync(path.join(dir, 'a')).mode & 0o777).to.equal(0o700);
      expect(fs.statSync(path.join(dir, 'a', 'b')).mode & 0o777).to.equal(0o700);
      // nothing left behind but the socket
      expect(fs.readdirSync(path.join(dir, 'a', 'b'))).to.deep.equal(['ctl.sock']);
    });

    it('honours options.mode exactly, even under a narrower umask', async () => {
      const sockPath = path.join(dir, 's.sock');
      server = new UnixServer(sockPath, (r) => r, { mode: 0o660 });
      const oldMask = process.umask(0o077);
      try {
        await server.start();
      } finally {
        process.umask(oldMask);
      }
      expect(fs.lstatSync(sockPath).mode & 0o777).to.equal(0o660);
    });

    it('leaves an existing parent directory and a FIFO at the path alone', async () => {
      fs.chmodSync(dir, 0o755);
      const fifo = path.join(dir, 'p.sock');
      execFileSync('mkfifo', ['-m', '0644', fifo]);
      const s = new UnixServer(fifo, (r) => r);
      const err = await s.start().then(() => expect.fail('should reject'), (e: PipeIOError) => e);
      expect(err.code).to.equal('PIPEIO_ERR_NOT_A_SOCKET');
      expect(fs.lstatSync(fifo).isFIFO()).to.equal(true);
      expect(fs.lstatSync(fifo).mode & 0o777).to.equal(0o644);
      expect(fs.statSync(dir).mode & 0o777, 'an existing parent keeps its mode').to.equal(0o755);
      expect(s.state).to.equal('idle');
    });

    it('a symlink to a live socket is not followed: PIPEIO_ERR_NOT_A_SOCKET, both left as they are', async () => {
      const real = path.join(dir, 'real.sock');
      server = new UnixServer(real, (r) => r);
      await server.start();
      const link = path.join(dir, 'link.sock');
      fs.symlinkSync(real, link);
      const s = new UnixServer(link, () => 'intruder');
      const err = await s.start().then(() => expect.fail('should reject'), (e: PipeIOError) => e);
      expect(err.code).to.equal('PIPEIO_ERR_NOT_A_SOCKET');
      expect(fs.lstatSync(link).isSymbolicLink()).to.equal(true);
      expect(await exchange(real, '7\n', 1)).to.deep.equal([7]);
    });

    it('checks the macOS limit (103 bytes) as well as the Linux one (107)', () => {
      const at = (n: number): string => '/' + 'x'.repeat(n - 1);
      expect(() => checkSocketPath(at(107), 'linux')).not.to.throw();
      expect(() => checkSocketPath(at(108), 'linux')).to.throw(PipeIOError).with.property('code', 'PIPEIO_ERR_SOCKET_PATH_TOO_LONG');
      expect(() => checkSocketPath(at(103), 'darwin')).not.to.throw();
      expect(() => checkSocketPath(at(104), 'darwin')).to.throw(PipeIOError).with.property('code', 'PIPEIO_ERR_SOCKET_PATH_TOO_LONG');
      // bytes, not characters
      expect(() => checkSocketPath('/' + 'é'.repeat(54), 'linux')).to.throw(PipeIOError);
    });

    it('rejects a path over the OS limit before binding', async () => {
      const sockPath = path.join(dir, 'x'.repeat(120));
      server = new UnixServer(sockPath, (r) => r);
      const err = await server.start().then(() => expect.fail('should reject'), (e: PipeIOError) => e);
      expect(err.code).to.equal('PIPEIO_ERR_SOCKET_PATH_TOO_LONG');
      expect(fs.readdirSync(dir)).to.deep.equal([]);
    });

    it('replaces a stale socket nobody listens on', async () => {
      const sockPath = path.join(dir, 's.sock');
      // A stale socket: bound by a server whose fd is gone without unlinking (like a crash).
      const stale = net.createServer();
      await new Promise<void>((resolve) => stale.listen(sockPath, resolve));
      const tmp = path.join(dir, 'keep');
      fs.linkSync(sockPath, tmp);
      await new Promise<void>((resolve) => stale.close(() => resolve()));
      fs.renameSync(tmp, sockPath);
      expect(fs.lstatSync(sockPath).isSocket()).to.equal(true);

      server = new UnixServer(sockPath, (r) => r);
      await server.start();
      expect(await exchange(sockPath, '{"x":1}\n', 1)).to.deep.equal([{ x: 1 }]);
    });

    it('rejects with PIPEIO_ERR_ADDRESS_IN_USE when a live server listens', async () => {
      const sockPath = path.join(dir, 's.sock');
      server = new UnixServer(sockPath, (r) => r);
      await server.start();
      const second = new UnixServer(sockPath, () => 'other');
      const err = await second.start().then(() => expect.fail('should reject'), (e: PipeIOError) => e);
      expect(err.code).to.equal('PIPEIO_ERR_ADDRESS_IN_USE');
      await second.stop();
      expect(await exchange(sockPath, '1\n', 1)).to.deep.equal([1]);
    });

    it('never touches a non-socket file or a symlink at the path', async () => {
      const file = path.join(dir, 'file.sock');
      fs.writeFileSync(file, 'precious');
      const s1 = new UnixServer(file, (r) => r);
      const e1 = await s1.start().then(() => expect.fail('should reject'), (e: PipeIOError) => e);
      expect(e1.code).to.equal('PIPEIO_ERR_NOT_A_SOCKET');
      expect(fs.readFileSync(file, 'utf8')).to.equal('precious');

      const link = path.join(dir, 'link.sock');
      fs.symlinkSync(file, link);
      const s2 = new UnixServer(link, (r) => r);
      const e2 = await s2.start().then(() => expect.fail('should reject'), (e: PipeIOError) => e);
      expect(e2.code).to.equal('PIPEIO_ERR_NOT_A_SOCKET');
      expect(fs.lstatSync(link).isSymbolicLink()).to.equal(true);
    });

    it('rejects a second start with PIPEIO_ERR_INVALID_STATE', async () => {
      server = new UnixServer(path.join(dir, 's.sock'), (r) => r);
      await server.start();
      await server.start(); // concurrent/same promise is fine
      await server.stop();
      const err = await server.start().then(() => expect.fail('should reject'), (e: PipeIOError) => e);
      expect(err.code).to.equal('PIPEIO_ERR_INVALID_STATE');
    });

    it('throws synchronously on bad arguments', () => {
      expect(() => new UnixServer('', (r) => r)).to.throw(TypeError);
      expect(() => new UnixServer('/tmp/x', 5 as never)).to.throw(TypeError);
      expect(() => new UnixServer('/tmp/x', (r) => r, { mode: 0o1777 })).to.throw(RangeError);
    });
  });

  describe('requests', () => {
    it('answers several requests per connection in order, sync and async', async () => {
      const sockPath = path.join(dir, 's.sock');
      server = new UnixServer(sockPath, async (req) => {
        const { n, wait } = req as { n: number; wait: number };
        if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
        return n;
      });
      await server.start();
      const text = '{"n":1,"wait":30}\n{"n":2,"wait":0}\n{"n":3,"wait":10}\n';
      expect(await exchange(sockPath, text, 3)).to.deep.equal([1, 2, 3]);
    });

    it('sends nothing for undefined, an error object for a throw, and keeps serving', async () => {
      const sockPath = path.join(dir, 's.sock');
      server = new UnixServer(sockPath, (req) => {
        const r = req as { op: string };
        if (r.op === 'notify') return undefined;
        if (r.op === 'throw') throw new RangeError('bad range');
        if (r.op === 'reject') return Promise.reject(new Error('nope'));
        if (r.op === 'null') return null;
        return { ok: r.op };
      });
      await server.start();
      const text = ['notify', 'throw', 'a', 'reject', 'null', 'b'].map((op) => JSON.stringify({ op })).join('\n') + '\n';
      expect(await exchange(sockPath, text, 5)).to.deep.equal([
        { error: 'bad range', type: 'RangeError' },
        { ok: 'a' },
        { error: 'nope', type: 'Error' },
        null,
        { ok: 'b' },
      ]);
    });

    it('answers invalid JSON with the error shape and keeps the connection', async () => {
      const sockPath = path.join(dir, 's.sock');
      server = new UnixServer(sockPath, (r) => r, { maxLineLength: 64 });
      await server.start();
      const text = `not json\n${JSON.stringify('z'.repeat(100))}\n{"after":true}\n`;
      const replies = (await exchange(sockPath, text, 3)) as Array<Record<string, unknown>>;
      expect(replies[0]).to.include({ type: 'JSONDecodeError', code: 'PIPEIO_ERR_INVALID_JSON' });
      expect(replies[0]!.error).to.be.a('string');
      expect(replies[1]).to.include({ code: 'PIPEIO_ERR_LINE_TOO_LONG' });
      expect(replies[2]).to.deep.equal({ after: true });
    });

    it('serves many clients at once', async () => {
      const sockPath = path.join(dir, 's.sock');
      server = new UnixServer(sockPath, (r) => r);
      await server.start();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => exchange(sockPath, `${i}\n${i + 100}\n`, 2)),
      );
      results.forEach((r, i) => expect(r).to.deep.equal([i, i + 100]));
    });

    it('replies to a last line sent without newline before a half-close', async () => {
      const sockPath = path.join(dir, 's.sock');
      server = new UnixServer(sockPath, (r) => r);
      await server.start();
      const sock = net.connect(sockPath);
      await once(sock, 'connect');
      sock.end('{"last":1}');
      let text = '';
      for await (const chunk of sock) text += String(chunk);
      expect(text).to.equal('{"last":1}\n');
    });
  });

  describe('#stop', () => {
    it('flushes pending replies, closes connections, removes the socket, emits close once', async () => {
      const sockPath = path.join(dir, 's.sock');
      let release!: () => void;
      let entered!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const inHandler = new Promise<void>((resolve) => (entered = resolve));
      server = new UnixServer(sockPath, async (r) => {
        entered();
        await gate;
        return r;
      });
      await server.start();
      let closes = 0;
      server.on('close', () => closes++);
      const sock = net.connect(sockPath);
      await once(sock, 'connect');
      sock.write('"pending"\n');
      let text = '';
      sock.on('data', (c) => (text += String(c)));
      const sockClosed = once(sock, 'close');
      await inHandler;
      const stopping = server.stop();
      expect(server.stop()).to.equal(stopping);
      expect(server.state).to.equal('closing');
      release();
      await stopping;
      await sockClosed;
      expect(text).to.equal('"pending"\n');
      expect(fs.existsSync(sockPath)).to.equal(false);
      await new Promise((resolve) => setImmediate(resolve));
      expect(closes).to.equal(1);
      expect(server.state).to.equal('closed');
    });

    it('destroys connections whose handler never settles after closeTimeout', async () => {
      const sockPath = path.join(dir, 's.sock');
      server = new UnixServer(sockPath, () => new Promise(() => undefined), { closeTimeout: 50 });
      await server.start();
      const sock = net.connect(sockPath);
      sock.on('error', () => undefined);
      await once(sock, 'connect');
      sock.write('1\n');
      await new Promise((resolve) => setImmediate(resolve));
      const sockClosed = new Promise((resolve) => sock.once('close', resolve));
      await server.stop();
      await sockClosed;
      expect(server.connectionCount).to.equal(0);
    });

    it('works with await using', async () => {
      const sockPath = path.join(dir, 's.sock');
      {
        await using srv = new UnixServer(sockPath, (r) => r);
        await srv.start();
        expect(fs.existsSync(sockPath)).to.equal(true);
      }
      expect(fs.existsSync(sockPath)).to.equal(false);
    });
  });
});
