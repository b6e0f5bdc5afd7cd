import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { PipeIOError } from '../../lib/errors';
import { UnixClient } from '../../lib/socket/unix-client';
import { UnixServer } from '../../lib/socket/unix-server';
import { killChild, makeTempDir, removeTempDir, waitFor, waitForLine } from '../fixtures/helpers';
import { PYTHON } from '../fixtures/python-env';
import { needsTools } from '../fixtures/tools';

function rejection(p: Promise<unknown>): Promise<PipeIOError> {
  return p.then(() => expect.fail('should reject'), (e: PipeIOError) => e);
}

describe('UnixClient', () => {
  let dir: string;
  let sockPath: string;
  let server: UnixServer | undefined;
  let client: UnixClient | undefined;

  beforeEach(() => {
    dir = makeTempDir();
    sockPath = path.join(dir, 's.sock');
  });
  afterEach(async () => {
    await client?.destroy();
    client = undefined;
    await server?.stop();
    server = undefined;
    removeTempDir(dir);
  });

  async function startServer(handler: (r: unknown) => unknown): Promise<UnixServer> {
    // Short closeTimeout: some handlers here never settle.
    server = new UnixServer(sockPath, handler, { closeTimeout: 20 });
    await server.start();
    return server;
  }

  describe('#request', () => {
    it('round-trips and pipelines many requests on one connection, in order', async () => {
      const s = await startServer((r) => r);
      let connections = 0;
      s.on('connection', () => connections++);
      client = new UnixClient(sockPath);
      const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => client!.request({ i })));
      expect(replies).to.deep.equal(Array.from({ length: 500 }, (_, i) => ({ i })));
      expect(await client.request(null)).to.equal(null);
      expect(connections).to.equal(1);
    });

    it('rejects with PIPEIO_ERR_REMOTE carrying the remote type', async () => {
      const s = await startServer((r) => {
        if (r === 'bad') throw new RangeError('out of range');
        return r;
      });
      let connections = 0;
      s.on('connection', () => connections++);
      client = new UnixClient(sockPath);
      const err = await rejection(client.request('bad'));
      expect(err.code).to.equal('PIPEIO_ERR_REMOTE');
      expect((err.cause as Error).name).to.equal('RangeError');
      expect((err.cause as Error).message).to.equal('out of range');
      // the same connection goes on serving
      expect(await client.request('good')).to.equal('good');
      expect(connections).to.equal(1);
    });

    it('retries with backoff until the server appears', async () => {
      client = new UnixClient(sockPath, { retries: 6, retryBackoff: 20 });
      // request() issues its first connect() synchronously (uv_pipe_connect), so it
      // has already failed with ENOENT when the server below binds.
      const pending = client.request('hello');
      expect(fs.existsSync(sockPath)).to.equal(false);
      await startServer((r) => `${String(r)} back`);
      expect(await pending).to.equal('hello back');
    });

    it('retries a refused connect (stale socket) with exponential backoff', async () => {
      // A stale socket: bound, then its server gone without unlinking it.
      const stale = net.createServer();
      await new Promise<void>((resolve) => stale.listen(sockPath, resolve));
      const keep = path.join(dir, 'keep');
      fs.linkSync(sockPath, keep);
      await new Promise<void>((resolve) => stale.close(() => resolve()));
      fs.renameSync(keep, sockPath);
      client = new UnixClient(sockPath, { retries: 3, retryBackoff: 40 });
      const started = performance.now();
      const err = await rejection(client.request(1));
      const elapsed = performance.now() - started;
      expect(err.code).to.equal('PIPEIO_ERR_CONNECTION');
      expect((err.cause as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
      // 40 + 80 + 160 ms of backoff (timers never fire early); a constant 40 ms would be 120.
      expect(elapsed).to.be.at.least(279);
    });

    it('retries while the listen backlog is full (EAGAIN)', async function () {
      needsTools('python3').call(this);
      this.timeout(15000); // a python3 child
      // A listener with backlog 0 that accepts nothing until told to on stdin, then echoes lines.
      const script =
        'import socket, sys\n' +
        's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(0)\n' +
        'print("ready", flush=True); sys.stdin.readline()\n' +
        'while True:\n' +
        '    c, _ = s.accept(); f = c.makefile("rwb")\n' +
        '    for line in f:\n' +
        '        f.write(line); f.flush()\n';
      const py = spawn(PYTHON, ['-c', script, sockPath], { stdio: ['pipe', 'pipe', 'pipe'] });
      const fillers: net.Socket[] = [];
      try {
        await waitForLine(py, /^ready$/);
        // Fill the backlog until the kernel answers EAGAIN.
        let full = false;
        for (let i = 0; i < 64 && !full; i++) {
          const sock = net.connect(sockPath);
          fillers.push(sock);
          full = await new Promise<boolean>((resolve) => {
            sock.once('connect', () => resolve(false));
            sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EAGAIN'));
          });
        }
        expect(full, 'the backlog never filled up').to.equal(true);
        client = new UnixClient(sockPath, { retries: 8, retryBackoff: 20 });
        // The first connect fails synchronously with EAGAIN: only a retry can succeed.
        const pending = client.request({ via: 'backlog' }, { timeout: 10000 });
        for (const sock of fillers) sock.destroy();
        py.stdin!.write('go\n');
        expect(await pending).to.deep.equal({ via: 'backlog' });
      } finally {
        for (const sock of fillers) sock.destroy();
        await client?.destroy();
        client = undefined;
        await killChild(py);
      }
    });

    it('gives up with PIPEIO_ERR_CONNECTION after the retries', async () => {
      client = new UnixClient(sockPath, { retries: 2, retryBackoff: 5 });
      const err = await rejection(client.request(1));
      expect(err.code).to.equal('PIPEIO_ERR_CONNECTION');
      expect((err.cause as NodeJS.ErrnoException).code).to.equal('ENOENT');
    });

    it('times out with PIPEIO_ERR_TIMEOUT, and the late reply is never taken for the next one', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      await startServer(async (r) => {
        if (r === 'slow') await gate;
        return r;
      });
      client = new UnixClient(sockPath, { timeout: 50 });
      const err = await rejection(client.request('slow'));
      expect(err.code).to.equal('PIPEIO_ERR_TIMEOUT');
      release();
      expect(await client.request('fast', { timeout: 2000 })).to.equal('fast');
      expect(await client.request('fast2', { timeout: 2000 })).to.equal('fast2');
    });

    it('a timeout fails the requests pipelined behind it with PIPEIO_ERR_CONNECTION', async () => {
      await startServer((r) => (r === 'never' ? new Promise(() => undefined) : r));
      client = new UnixClient(sockPath);
      const first = client.request('never', { timeout: 40 });
      const second = client.request('x', { timeout: 5000 });
      expect((await rejection(first)).code).to.equal('PIPEIO_ERR_TIMEOUT');
      expect((await rejection(second)).code).to.equal('PIPEIO_ERR_CONNECTION');
    });

    it('is cancelled by an AbortSignal with PIPEIO_ERR_ABORTED', async () => {
      await startServer(() => new Promise(() => undefined));
      client = new UnixClient(sockPath);
      const ac = new AbortController();
      const p = client.request('x', { signal: ac.signal });
      ac.abort();
      expect((await rejection(p)).code).to.equal('PIPEIO_ERR_ABORTED');
      const pre = await rejection(client.request('y', { signal: AbortSignal.abort() }));
      expect(pre.code).to.equal('PIPEIO_ERR_ABORTED');
    });

    it('rejects a reply that is not JSON with PIPEIO_ERR_INVALID_JSON', async () => {
      const raw = net.createServer((s) => s.on('data', () => s.write('garbage\n')));
      await new Promise<void>((resolve) => raw.listen(sockPath, resolve));
      try {
        client = new UnixClient(sockPath);
        expect((await rejection(client.request(1))).code).to.equal('PIPEIO_ERR_INVALID_JSON');
        await client.destroy();
      } finally {
        await new Promise((resolve) => raw.close(resolve));
      }
    });

    it('fails with PIPEIO_ERR_CONNECTION when the server closes without replying', async () => {
      const raw = net.createServer((s) => s.on('data', () => s.destroy()));
      await new Promise<void>((resolve) => raw.listen(sockPath, resolve));
      try {
        client = new UnixClient(sockPath);
        expect((await rejection(client.request(1))).code).to.equal('PIPEIO_ERR_CONNECTION');
        await client.destroy();
      } finally {
        await new Promise((resolve) => raw.close(resolve));
      }
    });

    it('throws synchronously on a too-long path and rejects a non-JSON payload', async () => {
      expect(() => new UnixClient(path.join(dir, 'y'.repeat(200)))).to.throw(PipeIOError).with.property(
        'code',
        'PIPEIO_ERR_SOCKET_PATH_TOO_LONG',
      );
      expect(() => new UnixClient(sockPath, { timeout: -1 })).to.throw(RangeError);
      client = new UnixClient(sockPath);
      const err = await client.request(undefined).then(() => expect.fail('should reject'), (e: Error) => e);
      expect(err).to.be.instanceOf(TypeError);
    });
  });

  describe('#notify', () => {
    it('sends without waiting, and replies to notifications never shift request replies', async () => {
      const seen: unknown[] = [];
      await startServer((r) => {
        seen.push(r);
        return { echo: r }; // answers even notifications
      });
      client = new UnixClient(sockPath);
      await client.notify('n1');
      await client.notify('n2');
      expect(await client.request('r1')).to.deep.equal({ echo: 'r1' });
      await waitFor(() => seen.length === 3, 'both notifications to arrive');
      expect(seen).to.have.members(['n1', 'n2', 'r1']);
    });
  });

  describe('#close', () => {
    it('waits for in-flight requests, then refuses new ones with PIPEIO_ERR_CLOSED', async () => {
      await startServer(async (r) => {
        await new Promise((resolve) => setImmediate(resolve));
        return r;
      });
      client = new UnixClient(sockPath);
      let closes = 0;
      client.on('close', () => closes++);
      const inflight = client.request('a');
      const closing = client.close();
      expect(client.close()).to.equal(closing);
      expect(await inflight).to.equal('a');
      await closing;
      expect((await rejection(client.request('b'))).code).to.equal('PIPEIO_ERR_CLOSED');
      await waitFor(() => closes === 1, 'the close event');
      await waitFor(() => server!.connectionCount === 0, 'the server to see the connection close');
    });

    it('destroy() fails pending requests with PIPEIO_ERR_CLOSED', async () => {
      await startServer(() => new Promise(() => undefined));
      client = new UnixClient(sockPath);
      const p = rejection(client.request('x'));
      await waitFor(() => server!.connectionCount === 1, 'the connection');
      await client.destroy();
      expect((await p).code).to.equal('PIPEIO_ERR_CLOSED');
    });

    it('works with await using', async () => {
      await startServer((r) => r);
      {
        await using c = new UnixClient(sockPath);
        expect(await c.request(7)).to.equal(7);
      }
      await waitFor(() => server!.connectionCount === 0, 'the connection to close');
      expect(fs.existsSync(sockPath)).to.equal(true);
    });
  });
});
