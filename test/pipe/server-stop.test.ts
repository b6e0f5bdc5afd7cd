import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PipeIOServer } from '../../lib';
import { killChild, makeTempDir, removeTempDir, spawnTsFixture, waitForExit, waitForLine } from '../fixtures/helpers';
import { holdPeer, killPeers, runPeer, startPeer } from './peer';
import { needsTools } from '../fixtures/tools';

/**
 * Each state runs the server in a child process: stop() must resolve
 * promptly there AND the process must then exit by itself, which proves
 * no worker is still blocked in a FIFO syscall and no handle is left.
 */
describe('PipeIOServer#stop', () => {
  let dir: string;
  let child: ChildProcess | undefined;

  beforeEach(() => {
    dir = makeTempDir('pio-stop');
  });
  afterEach(async () => {
    await killChild(child);
    child = undefined;
    await killPeers();
    removeTempDir(dir);
  });

  const inPath = (): string => path.join(dir, 'in');
  const outPath = (): string => path.join(dir, 'out');

  async function startServer(...flags: string[]): Promise<ChildProcess> {
    if (flags.includes('--unmanaged')) {
      execFileSync('mkfifo', ['-m', '600', inPath(), outPath()]);
    }
    child = spawnTsFixture('pipe-server-child.ts', [inPath(), outPath(), ...flags]);
    // Start-up (ts-node compiling the fixture) is not what is tested: on a busy 2-core machine it
    // has taken over 20 s, so its deadline is generous; stop() itself is held to 1 s below.
    await waitForLine(child, /^READY$/, 60000);
    return child;
  }

  /** Asks the child to stop; returns stop()'s duration after checking the child exits by itself. */
  async function stopAndExit(server: ChildProcess): Promise<number> {
    const stopped = waitForLine(server, /^STOPPED /, 5000);
    server.stdin!.write('stop\n');
    const line = await stopped;
    const [code] = await waitForExit(server, 5000);
    expect(code, 'the server process exits by itself with status 0').to.equal(0);
    return Number(line.split(' ')[1]);
  }

  const cases: Array<[string, string[], (() => Promise<void>) | undefined]> = [
    ['never started', ['--no-start'], undefined],
    ['no client', [], undefined],
    ['a client holding only the in pipe', [], async () => void (await holdPeer(['hold-write', inPath(), '']))],
    [
      'a client holding only the out pipe (blocked reading)',
      [],
      async () => {
        const reader = startPeer(['read', outPath(), '1000000']);
        void reader;
      },
    ],
    ['a client holding both pipes, idle', [], async () => void (await holdPeer(['hold', inPath(), outPath()]))],
    [
      'mid-transfer: 16 MiB queued out, 8 MiB of a line written in',
      ['--queue', String(16 * 1024 * 1024)],
      async () => void (await holdPeer(['hold-write', inPath(), 'x', String(8 * 1024 * 1024)])),
    ],
    [
      'after a broken pipe',
      ['--queue', String(1024 * 1024)],
      async () => {
        const r = await runPeer(['read', outPath(), '100']);
        expect(r.stdout.length).to.equal(100);
      },
    ],
    ['after EOF', [], async () => void (await runPeer(['write', inPath(), 'bye\\n']))],
    [
      'both FIFO paths deleted while the workers were blocked on them (unmanaged: not recreated)',
      ['--unmanaged'],
      async () => {
        fs.unlinkSync(inPath());
        fs.unlinkSync(outPath());
      },
    ],
    [
      'both FIFO paths deleted (managed: recreated)',
      [],
      async () => {
        fs.unlinkSync(inPath());
        fs.unlinkSync(outPath());
      },
    ],
    [
      'the paths replaced by new FIFOs',
      ['--unmanaged'],
      async () => {
        fs.unlinkSync(inPath());
        fs.unlinkSync(outPath());
        execFileSync('mkfifo', ['-m', '600', inPath(), outPath()]);
      },
    ],
  ];

  for (const [state, flags, setup] of cases) {
    it(`returns promptly and leaves nothing behind: ${state}`, async function () {
      needsTools('python3').call(this);
      this.timeout(90000); // spawns a ts-node child (slow to start on a busy machine)
      const server = await startServer(...flags);
      await setup?.();
      const ms = await stopAndExit(server);
      expect(ms).to.be.below(1000);
      if (!flags.includes('--unmanaged')) {
        expect(fs.existsSync(inPath()), 'in FIFO removed').to.equal(false);
        expect(fs.existsSync(outPath()), 'out FIFO removed').to.equal(false);
      }
    });
  }

  describe('in-process', () => {
    it('is idempotent, shares one promise, works before start and with await using', async () => {
      const server = new PipeIOServer(inPath(), outPath());
      const a = server.stop();
      const b = server.stop();
      expect(a).to.equal(b);
      await a;
      expect(server.state).to.equal('closed');
      await server.wait();
      const err = await server.start().then(
        () => undefined,
        (e: { code: string }) => e,
      );
      expect(err?.code).to.equal('PIPEIO_ERR_CLOSED');
      {
        await using s = new PipeIOServer(inPath(), outPath());
        await s.start();
        expect(fs.statSync(inPath()).isFIFO()).to.equal(true);
      }
      expect(fs.existsSync(inPath())).to.equal(false);
    });

    it('emits close once, asynchronously, and resolves wait()', async () => {
      const server = new PipeIOServer(inPath(), outPath());
      await server.start();
      let closes = 0;
      server.on('close', () => closes++);
      let waited = false;
      const waiting = server.wait().then(() => (waited = true));
      await server.stop();
      expect(closes).to.equal(0); // not yet: emitted on the next tick
      await waiting;
      await new Promise((resolve) => setImmediate(resolve));
      expect([closes, waited]).to.deep.equal([1, true]);
      await server.stop();
      expect(closes).to.equal(1);
    });

    it('rejects start() with a coded error when stopped while starting', async () => {
      const server = new PipeIOServer(inPath(), outPath());
      const starting = server.start();
      const stopping = server.stop();
      let code: string | undefined;
      await starting.catch((e: { code: string }) => (code = e.code));
      await stopping;
      expect(code).to.equal('PIPEIO_ERR_CLOSED');
      expect(fs.existsSync(inPath())).to.equal(false);
    });

    it('rejects a second start() with PIPEIO_ERR_INVALID_STATE', async () => {
      const server = new PipeIOServer(inPath(), outPath());
      await server.start();
      try {
        const err = await server.start().then(
          () => undefined,
          (e: { code: string }) => e,
        );
        expect(err?.code).to.equal('PIPEIO_ERR_INVALID_STATE');
      } finally {
        await server.stop();
      }
    });

    it('reports a worker that dies with PIPEIO_ERR_WORKER_EXITED and stops cleanly', async () => {
      const server = new PipeIOServer(inPath(), outPath());
      const errors: string[] = [];
      server.on('error', (e) => errors.push(e.code));
      await server.start();
      // Simulate a crash: end the (idle) writer worker behind the server's back.
      // (The reader sits in a blocking open(), which terminate() cannot interrupt.)
      const writer = (server as unknown as { writer: { worker: import('node:worker_threads').Worker } }).writer;
      await writer.worker.terminate();
      await server.wait();
      expect(errors).to.deep.equal(['PIPEIO_ERR_WORKER_EXITED']);
      expect(server.state).to.equal('closed');
      expect(fs.existsSync(inPath()), 'pipes removed').to.equal(false);
    });

    it('refuses sendMessage after stop with PIPEIO_ERR_CLOSED', async () => {
      const server = new PipeIOServer(inPath(), outPath());
      await server.stop();
      expect(() => server.sendMessage('late')).to.throw().with.property('code', 'PIPEIO_ERR_CLOSED');
    });
  });
});
