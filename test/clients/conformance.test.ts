/**
 * One conformance suite for every reference client (clients/bash, python, c):
 * each scenario runs against a real PipeIOServer, once per adapter in
 * ./adapters.ts. The client is always its echo program, started as a real
 * process: `echo READ_PIPE WRITE_PIPE` = `echo server.outPipe server.inPipe`.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { PipeIOServer } from '../../lib';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';
import { ADAPTERS, type ClientAdapter } from './adapters';
import { RawPipes } from './raw-pipes';
import { eventWithin, killAll, startChild, stopChild, waitForExit, waitForOutput, type RunningChild } from './child-process';

const EXIT_DEADLINE_MS = 5000; // a client must be gone this long after the server stops
const ECHO_DEADLINE_MS = 10000; // all echoes of one scenario must be back by then

/** Collects what a server receives; waits for a count with a deadline. */
class Inbox {
  readonly messages: Buffer[] = [];
  constructor(private readonly server: PipeIOServer) {
    server.on('message', (message: Buffer) => this.messages.push(Buffer.from(message)));
  }

  /** Resolves once `count` messages arrived in total. */
  async waitFor(count: number, ms = ECHO_DEADLINE_MS): Promise<Buffer[]> {
    const deadline = Date.now() + ms;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`server received ${this.messages.length} of ${count} echoed messages within ${ms} ms`);
      await eventWithin(this.server, 'message', left, `waiting for echo ${this.messages.length + 1} of ${count}`);
    }
    return this.messages;
  }
}

for (const adapter of ADAPTERS) {
  describe(`reference client: ${adapter.name}`, function () {
    let dir: string;
    let servers: PipeIOServer[] = [];
    let serverErrors: Error[] = [];

    before(async function () {
      this.timeout(60000); // compiling the C client with sanitizers takes a few seconds
      const reason = await adapter.prepare();
      if (reason !== undefined) {
        console.log(`      skipping ${adapter.name}: ${reason}`);
        this.skip(); // the adapter cannot run here: reason printed above
      }
    });

    beforeEach(() => {
      dir = makeTempDir('pio-client');
    });

    afterEach(async () => {
      await killAll();
      await Promise.all(servers.map((server) => server.stop()));
      servers = [];
      serverErrors = [];
      removeTempDir(dir);
    });

    function newServer(): { server: PipeIOServer; inbox: Inbox } {
      const server = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'));
      server.on('error', (err) => serverErrors.push(err));
      servers.push(server);
      return { server, inbox: new Inbox(server) };
    }

    function startClient(server: PipeIOServer, env?: NodeJS.ProcessEnv): RunningChild {
      return startEcho(adapter, server.outPipe, server.inPipe, env);
    }

    /** Stops the server and asserts the client exits 0, quietly, in time. */
    async function stopAndExpectCleanExit(server: PipeIOServer, client: RunningChild): Promise<void> {
      await server.stop();
      const exit = await waitForExit(client, EXIT_DEADLINE_MS, 'exit at end of stream');
      expect(exit, client.stderr()).to.deep.equal({ code: 0, signal: null });
      expect(client.stderr()).to.equal('');
      expect(serverErrors).to.deep.equal([]);
    }

    async function roundTrip(messages: Buffer[]): Promise<void> {
      const { server, inbox } = newServer();
      await server.start();
      const client = startClient(server);
      for (const message of messages) server.sendMessage(message);
      const got = await inbox.waitFor(messages.length);
      expect(got.length).to.equal(messages.length);
      for (let i = 0; i < messages.length; i++) {
        if (!got[i].equals(messages[i])) {
          expect.fail(`message ${i} differs: sent ${messages[i].length} bytes, got ${got[i].length}`);
        }
      }
      await stopAndExpectCleanExit(server, client);
    }

    it('echoes a message', async () => {
      await roundTrip([Buffer.from('hello, pipes')]);
    });

    it('echoes 1,000 messages in order', async () => {
      await roundTrip(Array.from({ length: 1000 }, (_, i) => Buffer.from(`message ${i}`)));
    });

    it('echoes a 1 MiB message', async function () {
      this.timeout(30000); // bash's read builtin takes a pipe one byte at a time
      const big = Buffer.from(randomBytes(768 * 1024).toString('base64')); // 1 MiB, no newline
      expect(big.length).to.equal(1024 * 1024);
      await roundTrip([big, Buffer.from('after')]);
    });

    it('echoes empty lines', async () => {
      await roundTrip(['', 'a', '', '', 'b', ''].map((s) => Buffer.from(s)));
    });

    it('echoes bytes that are not UTF-8', async function () {
      if (!adapter.nonUtf8) this.skip(); // the language cannot pass raw non-UTF-8 bytes
      await roundTrip([Buffer.from([0xff, 0xfe, 0x80, 0xc3, 0x28, 0x41, 0xe2, 0x82]), Buffer.from('\u00e9t\u00e9 \u{1f600}')]);
    });

    it('echoes NUL bytes', async function () {
      if (!adapter.nulBytes) this.skip(); // bash variables cannot hold NUL
      await roundTrip([Buffer.from('a\0b'), Buffer.from([0, 0])]);
    });

    it('finds its pipes through PIPE_IO_READ_PIPE / PIPE_IO_WRITE_PIPE', async () => {
      const { server, inbox } = newServer();
      await server.start();
      const client = startEcho(adapter, undefined, undefined, {
        PIPE_IO_READ_PIPE: server.outPipe,
        PIPE_IO_WRITE_PIPE: server.inPipe,
      });
      server.sendMessage('from env');
      expect((await inbox.waitFor(1))[0].toString()).to.equal('from env');
      await stopAndExpectCleanExit(server, client);
    });

    it('sees end of stream and exits 0 promptly when the server stops', async () => {
      const { server, inbox } = newServer();
      await server.start();
      const client = startClient(server);
      server.sendMessage('ping');
      await inbox.waitFor(1); // the client is connected and idle in read
      const stoppedAt = Date.now();
      await stopAndExpectCleanExit(server, client);
      expect(Date.now() - stoppedAt).to.be.below(EXIT_DEADLINE_MS);
    });

    it('exits 0 quietly when the server stops with messages in flight', async () => {
      const { server, inbox } = newServer();
      await server.start();
      const client = startClient(server);
      server.sendMessage('ping');
      await inbox.waitFor(1);
      for (let i = 0; i < 200; i++) server.sendMessage(`in flight ${i} ${'x'.repeat(1000)}`);
      await stopAndExpectCleanExit(server, client); // whatever it had read, it ends cleanly
    });

    it('waits for a server that appears after it started', async () => {
      const inPipe = path.join(dir, 'in');
      const outPipe = path.join(dir, 'out');
      const client = startEcho(adapter, outPipe, inPipe, { PIPE_IO_VERBOSE: '1' });
      await waitForOutput(client, 'stderr', /waiting for/, ECHO_DEADLINE_MS); // it is polling now
      const { server, inbox } = newServer();
      await server.start();
      server.sendMessage('late');
      expect((await inbox.waitFor(1))[0].toString()).to.equal('late');
      await server.stop();
      const exit = await waitForExit(client, EXIT_DEADLINE_MS, 'exit at end of stream');
      expect(exit, client.stderr()).to.deep.equal({ code: 0, signal: null });
      expect(client.stderr().trim().split('\n')).to.satisfy((lines: string[]) => lines.every((l) => l.startsWith('pipe-io: waiting')));
    });

    it('gives up with exit code 2 after PIPE_IO_WAIT_TIMEOUT seconds', async () => {
      const startedAt = Date.now();
      const client = startEcho(adapter, path.join(dir, 'out'), path.join(dir, 'in'), { PIPE_IO_WAIT_TIMEOUT: '0.3' });
      const exit = await waitForExit(client, EXIT_DEADLINE_MS, 'give up waiting');
      expect(exit).to.deep.equal({ code: 2, signal: null });
      expect(Date.now() - startedAt).to.be.at.least(250);
      expect(client.stderr()).to.match(/did not appear|timed out/i);
    });

    it('serves two clients one after another', async () => {
      const { server, inbox } = newServer();
      await server.start();
      const first = startClient(server);
      server.sendMessage('first');
      await inbox.waitFor(1);
      await stopChild(first, 'SIGTERM', EXIT_DEADLINE_MS); // a plugin replaced while the server runs
      const second = startClient(server);
      server.sendMessage('second');
      const got = await inbox.waitFor(2);
      expect(got.map(String)).to.deep.equal(['first', 'second']);
      await stopAndExpectCleanExit(server, second);
    });

    // The two scenarios below need control over the exact moment the peer goes
    // away, so they play the server with raw FIFO fds instead of PipeIOServer.
    describe('against raw FIFOs', () => {
      let raw: RawPipes;
      beforeEach(() => (raw = new RawPipes(dir)));
      afterEach(() => raw.close());

      it('treats EPIPE on write as the end of the session (exit 0, quiet)', async () => {
        const client = startEcho(adapter, raw.outPipe, raw.inPipe);
        raw.write('ping\n');
        expect(await raw.readUntil('ping\n')).to.equal('ping\n'); // both pipes open
        raw.closeReader(); // nobody reads the in pipe any more
        raw.write('pong\n'); // the client echoes it into a pipe without reader
        const exit = await waitForExit(client, EXIT_DEADLINE_MS, 'exit after EPIPE');
        expect(exit, client.stderr()).to.deep.equal({ code: 0, signal: null });
        expect(client.stderr()).to.equal('');
      });

      it('delivers an unterminated last line at end of stream as a message', async () => {
        const client = startEcho(adapter, raw.outPipe, raw.inPipe);
        raw.write('a\n');
        await raw.readUntil('a\n');
        raw.write('tail');
        raw.closeWriter(); // end of stream after an unterminated line
        expect(await raw.readUntil('a\ntail\n')).to.equal('a\ntail\n');
        const exit = await waitForExit(client, EXIT_DEADLINE_MS, 'exit at end of stream');
        expect(exit, client.stderr()).to.deep.equal({ code: 0, signal: null });
      });
    });
  });
}

function startEcho(adapter: ClientAdapter, readPipe?: string, writePipe?: string, env?: NodeJS.ProcessEnv): RunningChild {
  const command = adapter.echo(readPipe, writePipe);
  return startChild(command.file, command.args, { env: { ...command.env, ...env }, label: `${adapter.name} echo` });
}
