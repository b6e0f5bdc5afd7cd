import { expect } from 'chai';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PipeIOServer, type PipeIOError } from '../../lib';
import { makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';
import { holdPeer, killPeers, runPeer, startPeer, collect, echoThroughPeer } from './peer';
import { needsTools } from '../fixtures/tools';

function echoServer(dir: string, options = {}): PipeIOServer {
  const server = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'), options);
  server.handleMessage = (m) => {
    server.sendMessage(m);
  };
  return server;
}

describe('PipeIOServer', () => {
  before(needsTools('python3'));
  let dir: string;
  let server: PipeIOServer | undefined;

  beforeEach(() => {
    dir = makeTempDir('pio-io');
  });
  afterEach(async () => {
    await killPeers();
    await server?.stop();
    server = undefined;
    removeTempDir(dir);
  });

  function echo(payload: Buffer, timeout = 20000): Promise<Buffer> {
    return echoThroughPeer(server!, dir, payload, timeout);
  }

  describe('message I/O', () => {
    it('echoes 10,000 messages in order', async () => {
      server = echoServer(dir);
      const seen: string[] = [];
      server.on('message', (m) => seen.push(m.toString()));
      await server.start();
      const lines = Array.from({ length: 10000 }, (_, i) => `message ${i} ${'x'.repeat(i % 200)}`);
      const payload = Buffer.from(lines.join('\n') + '\n');
      expect((await echo(payload)).equals(payload)).to.equal(true);
      expect(seen).to.deep.equal(lines);
    });

    it('treats empty lines as messages and passes any byte but \\n', async () => {
      server = echoServer(dir);
      const seen: Buffer[] = [];
      server.on('message', (m) => seen.push(Buffer.from(m)));
      await server.start();
      const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((b) => b !== 10));
      const payload = Buffer.concat([Buffer.from('\n\n'), binary, Buffer.from('\n\n')]);
      expect((await echo(payload)).equals(payload)).to.equal(true);
      expect(seen.map((b) => b.length)).to.deep.equal([0, 0, 255, 0]);
      expect(seen[2]!.equals(binary)).to.equal(true);
    });

    it('round-trips JSON text unchanged', async () => {
      server = echoServer(dir);
      const received: unknown[] = [];
      server.on('message', (m) => received.push(JSON.parse(m.toString('utf8'))));
      await server.start();
      const values = [{ a: 1, b: 'ü \u2028 \\n "q"' }, [1, 2.5, null, true], 'text', { nested: { deep: ['x'] } }];
      const payload = Buffer.from(values.map((v) => JSON.stringify(v)).join('\n') + '\n');
      expect((await echo(payload)).toString('utf8')).to.equal(payload.toString('utf8'));
      expect(received).to.deep.equal(values);
    });

    it('carries a 16 MiB message both ways', async function () {
      this.timeout(60000); // 32 MiB through two FIFOs and python
      server = echoServer(dir);
      let size = -1;
      server.on('message', (m) => (size = m.length));
      await server.start();
      const big = Buffer.alloc(16 * 1024 * 1024, 'abcdefghij');
      const payload = Buffer.concat([big, Buffer.from('\nafter\n')]);
      const back = await echo(payload, 50000);
      expect(back.length).to.equal(payload.length);
      expect(back.equals(payload)).to.equal(true);
      expect(size).to.equal(5); // the last message seen was "after"
    });

    it('reports a line over maxMessageSize with a code and keeps serving', async () => {
      server = echoServer(dir, { maxMessageSize: 1000 });
      const errors: PipeIOError[] = [];
      server.on('error', (e) => errors.push(e));
      await server.start();
      const payload = Buffer.from(`${'y'.repeat(5000)}\nok\n`);
      const reader = startPeer(['read', server.outPipe, '3']);
      reader.stdin?.end();
      const done = collect(reader);
      expect((await runPeer(['write', server.inPipe, payload.toString()])).code).to.equal(0);
      expect((await done).stdout.toString()).to.equal('ok\n');
      expect(errors.map((e) => e.code)).to.deep.equal(['PIPEIO_ERR_LINE_TOO_LONG']);
    });

    it('rejects an outgoing message containing a newline, and a wrong type', async () => {
      server = echoServer(dir);
      expect(() => server!.sendMessage('a\nb')).to.throw().with.property('code', 'PIPEIO_ERR_INVALID_MESSAGE');
      expect(() => server!.sendMessage(42 as unknown as string)).to.throw(TypeError);
    });
  });

  describe('handleMessage', () => {
    it('accepts the API of the issue as written (the one-line echo handler type-checks)', async () => {
      server = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'), { permissions: 0o600, managePipes: true });
      const s = server;
      s.handleMessage = (message: Buffer) => s.sendMessage(message);
      await s.start();
      const reader = startPeer(['read', s.outPipe, '5']);
      reader.stdin?.end();
      const done = collect(reader);
      await runPeer(['write', s.inPipe, 'ping\\n']);
      expect((await done).stdout.toString()).to.equal('ping\n');
    });

    it('turns a throw or a rejection into an error event and keeps serving', async () => {
      server = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'));
      const s = server;
      s.handleMessage = (m) => {
        const text = m.toString();
        if (text === 'throw') throw new Error('boom');
        if (text === 'reject') return Promise.reject(new Error('async boom'));
        s.sendMessage(`got ${text}`);
        return undefined;
      };
      const errors: PipeIOError[] = [];
      s.on('error', (e) => errors.push(e));
      await s.start();
      const file = path.join(dir, 'p');
      fs.writeFileSync(file, 'throw\nreject\nfine\n');
      const reader = startPeer(['read', s.outPipe, '9']);
      reader.stdin?.end();
      const done = collect(reader);
      expect((await runPeer(['write', s.inPipe, 'throw\\nreject\\nfine\\n'])).code).to.equal(0);
      expect((await done).stdout.toString()).to.equal('got fine\n');
      await waitFor(() => errors.length === 2, 'two handler errors');
      expect(errors.map((e) => e.code)).to.deep.equal(['PIPEIO_ERR_HANDLER', 'PIPEIO_ERR_HANDLER']);
      expect((errors[0]!.cause as Error).message).to.equal('boom');
    });

    it('works as a subclass override', async () => {
      class Upper extends PipeIOServer {
        override handleMessage(m: Buffer): void {
          this.sendMessage(m.toString().toUpperCase());
        }
      }
      server = new Upper(path.join(dir, 'in'), path.join(dir, 'out'));
      await server.start();
      const reader = startPeer(['read', server.outPipe, '6']);
      reader.stdin?.end();
      const done = collect(reader);
      await runPeer(['write', server.inPipe, 'hello\\n']);
      expect((await done).stdout.toString()).to.equal('HELLO\n');
    });
  });

  describe('queueing', () => {
    it('delivers messages sent before start and with no reader to the next reader, in order', async () => {
      server = echoServer(dir);
      server.sendMessage('before start');
      await server.start();
      const lines = ['before start'];
      for (let i = 0; i < 2000; i++) {
        lines.push(`queued ${i} ${'z'.repeat(60)}`);
        server.sendMessage(lines[lines.length - 1]!);
      }
      const expected = lines.join('\n') + '\n';
      const result = await runPeer(['read', server.outPipe, String(Buffer.byteLength(expected))]);
      expect(result.stdout.toString()).to.equal(expected);
    });

    it('holds 24 MiB of big messages for a reader that comes later, and writes them whole and in order', async () => {
      server = echoServer(dir, { maxQueueBytes: 64 * 1024 * 1024 });
      await server.start();
      // The writer takes a few MiB ahead and blocks (no reader); the rest waits in the queue
      // as the messages themselves and is copied out piece by piece as the writer catches up.
      const messages = Array.from({ length: 24 }, (_, i) => {
        const m = Buffer.alloc(1024 * 1024 - 1 + (i % 3), 97 + (i % 26));
        m.write(`#${i}#`, 0);
        return m;
      });
      const small = Array.from({ length: 100 }, (_, i) => Buffer.from(`small ${i}`));
      messages.forEach((m, i) => {
        server!.sendMessage(m);
        if (i % 6 === 0) for (const s of small) server!.sendMessage(s); // runs of short lines between
      });
      const expected = Buffer.concat(
        messages.flatMap((m, i) => [m, Buffer.from('\n'), ...(i % 6 === 0 ? small.flatMap((s) => [s, Buffer.from('\n')]) : [])]),
      );
      expect(server.queuedBytes).to.equal(expected.length);
      const result = await runPeer(['read', server.outPipe, String(expected.length)], 30000);
      expect(result.stdout.length).to.equal(expected.length);
      expect(result.stdout.equals(expected)).to.equal(true);
      await waitFor(() => server!.queuedBytes === 0, 'the queue to empty');
    });

    it('returns false at highWaterMark, emits drain, and throws QUEUE_FULL past maxQueueBytes', async () => {
      server = echoServer(dir, { highWaterMark: 200 * 1024, maxQueueBytes: 400 * 1024 });
      await server.start();
      const msg = 'q'.repeat(1023); // 1 KiB with its newline
      let accepted = 0;
      let sawFalse = false;
      let err: PipeIOError | undefined;
      try {
        for (let i = 0; i < 1000; i++) {
          const ok = server.sendMessage(msg);
          accepted++;
          if (!ok) sawFalse = true;
        }
      } catch (e) {
        err = e as PipeIOError;
      }
      expect(sawFalse).to.equal(true);
      expect(err?.code).to.equal('PIPEIO_ERR_QUEUE_FULL');
      expect(accepted).to.be.at.least(300).and.at.most(400);
      const drained = once(server, 'drain');
      const result = await runPeer(['read', server.outPipe, String(accepted * 1024)]);
      await drained;
      expect(result.stdout.length).to.equal(accepted * 1024);
      expect(result.stdout.toString().split('\n').slice(0, -1).every((l) => l === msg)).to.equal(true);
    });
  });

  describe('clients coming and going', () => {
    it('gives 50 clients one after another exactly their own replies', async function () {
      this.timeout(60000); // 50 python processes
      server = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'));
      const s = server;
      s.handleMessage = (m) => void s.sendMessage(`re:${m.toString()}`);
      await s.start();
      for (let c = 0; c < 50; c++) {
        const lines = Array.from({ length: 20 }, (_, i) => `c${c}-m${i}`);
        const file = path.join(dir, 'p');
        fs.writeFileSync(file, lines.join('\n') + '\n');
        // The reply of each line is 3 bytes longer: read exactly that many.
        const expected = lines.map((l) => `re:${l}\n`).join('');
        const reader = startPeer(['read', s.outPipe, String(expected.length)]);
        reader.stdin?.end();
        const done = collect(reader);
        expect((await runPeer(['write', s.inPipe, lines.join('\\n') + '\\n'])).code).to.equal(0);
        expect((await done).stdout.toString()).to.equal(expected);
      }
    });

    it('delivers an unterminated fragment as its own message when its writer leaves', async () => {
      server = echoServer(dir);
      const seen: string[] = [];
      server.on('message', (m) => seen.push(m.toString()));
      await server.start();
      await runPeer(['write', server.inPipe, 'first\\nfragment']);
      await waitFor(() => seen.length === 2, 'the fragment at EOF');
      await runPeer(['write', server.inPipe, 'next\\n']);
      await waitFor(() => seen.length === 3, 'the next client message');
      expect(seen).to.deep.equal(['first', 'fragment', 'next']);
    });

    it('does not glue a SIGKILLed writer\'s half line to the next client', async () => {
      server = echoServer(dir);
      const seen: string[] = [];
      server.on('message', (m) => seen.push(m.toString()));
      const disconnected = once(server, 'disconnect');
      await server.start();
      const victim = await holdPeer(['hold-write', server.inPipe, 'whole\\nhalf a li']);
      victim.kill('SIGKILL');
      await disconnected;
      await runPeer(['write', server.inPipe, 'next client\\n']);
      await waitFor(() => seen.length === 3, 'three messages');
      expect(seen).to.deep.equal(['whole', 'half a li', 'next client']);
    });

    it('survives a client closing the out pipe and keeps unread replies for the next reader', async () => {
      server = echoServer(dir);
      await server.start();
      const lines = Array.from({ length: 3000 }, (_, i) => `reply ${String(i).padStart(5, '0')} ${'r'.repeat(40)}`);
      for (const l of lines) server.sendMessage(l);
      const lineLength = lines[0]!.length + 1;
      const first = await runPeer(['read', server.outPipe, String(lineLength * 10)]);
      expect(first.stdout.toString()).to.equal(lines.slice(0, 10).map((l) => l + '\n').join(''));
      // The rest (pipe buffer + queue) goes to the next reader, nothing lost.
      const rest = await runPeer(['read', server.outPipe, String(lineLength * (lines.length - 10))]);
      expect(rest.stdout.toString()).to.equal(lines.slice(10).map((l) => l + '\n').join(''));
      expect(server.state).to.equal('running');
      expect(server.queuedBytes).to.equal(0);
    });
  });
});
