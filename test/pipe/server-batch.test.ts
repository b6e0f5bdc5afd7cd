/**
 * The opt-in batch API of PipeIOServer: handleMessages(batch) and sendMessages(),
 * with real client processes. Also covers the reader handing over whole lines
 * (and pieces of lines longer than its buffer limit).
 */
import { expect } from 'chai';
import * as path from 'node:path';
import { PipeIOServer, type PipeIOError } from '../../lib';
import { LineBatch } from '../../lib/framing/line-batch';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';
import { collect, killPeers, runPeer, startPeer, echoThroughPeer } from './peer';
import { needsTools } from '../fixtures/tools';

function batchEcho(dir: string, options = {}): { server: PipeIOServer; batches: number[]; perMessage: number[] } {
  const server = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'), options);
  const batches: number[] = [];
  const perMessage: number[] = [];
  server.handleMessage = (m) => {
    perMessage.push(m.length);
  };
  server.handleMessages = (batch) => {
    batches.push(batch.count);
    server.sendMessages(batch);
  };
  return { server, batches, perMessage };
}

describe('PipeIOServer batch API', () => {
  before(needsTools('python3'));
  let dir: string;
  let server: PipeIOServer | undefined;

  beforeEach(() => {
    dir = makeTempDir('pio-batch');
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

  it('hands runs of messages to handleMessages instead of handleMessage, and echoes them whole', async () => {
    const e = batchEcho(dir);
    server = e.server;
    const seen: string[] = [];
    server.on('message', (m) => seen.push(m.toString()));
    await server.start();
    const lines = Array.from({ length: 20000 }, (_, i) => (i % 1000 === 7 ? '' : `message ${i} ${'x'.repeat(i % 300)}`));
    const payload = Buffer.from(lines.join('\n') + '\n');
    expect((await echo(payload)).equals(payload)).to.equal(true);
    expect(seen).to.deep.equal(lines);
    expect(e.perMessage).to.deep.equal([]);
    expect(e.batches.reduce((a, b) => a + b, 0)).to.equal(lines.length);
    expect(e.batches.length, 'fewer calls than messages').to.be.below(lines.length / 10);
  });

  it('carries messages of 1 MiB and one longer than the reader keeps whole (17 MiB) through batches', async function () {
    this.timeout(60000); // 2 x 21 MiB through two FIFOs and python
    const e = batchEcho(dir);
    server = e.server;
    await server.start();
    const mib = Buffer.alloc(1 << 20, 'abcdefghij');
    const huge = Buffer.alloc(17 << 20, 'klmnopqrst');
    const payload = Buffer.concat([mib, Buffer.from('\nsmall\n'), mib, Buffer.from('\n'), huge, Buffer.from('\nlast\n')]);
    const back = await echo(payload, 50000);
    expect(back.length).to.equal(payload.length);
    expect(back.equals(payload)).to.equal(true);
    expect(e.batches.reduce((a, b) => a + b, 0)).to.equal(5);
  });

  it('skips a line over maxMessageSize with a code and passes the others on in batches', async () => {
    const e = batchEcho(dir, { maxMessageSize: 100 });
    server = e.server;
    const errors: PipeIOError[] = [];
    server.on('error', (err) => errors.push(err));
    await server.start();
    const reader = startPeer(['read', server.outPipe, '8']);
    reader.stdin?.end();
    const done = collect(reader);
    expect((await runPeer(['write', server.inPipe, `one\\n${'y'.repeat(5000)}\\ntwo\\n`])).code).to.equal(0);
    expect((await done).stdout.toString()).to.equal('one\ntwo\n');
    expect(errors.map((err) => err.code)).to.deep.equal(['PIPEIO_ERR_LINE_TOO_LONG']);
  });

  it('reports a throwing handleMessages as PIPEIO_ERR_HANDLER and keeps serving', async () => {
    server = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'));
    const s = server;
    s.handleMessages = (batch) => {
      for (const m of batch) if (m.toString() === 'throw') throw new Error('boom');
      s.sendMessages(batch);
    };
    const errors: PipeIOError[] = [];
    s.on('error', (err) => errors.push(err));
    await s.start();
    expect((await runPeer(['write', s.inPipe, 'throw\\n'])).code).to.equal(0);
    const reader = startPeer(['read', s.outPipe, '5']);
    reader.stdin?.end();
    const done = collect(reader);
    expect((await runPeer(['write', s.inPipe, 'fine\\n'])).code).to.equal(0);
    expect((await done).stdout.toString()).to.equal('fine\n');
    expect(errors.map((err) => err.code)).to.deep.equal(['PIPEIO_ERR_HANDLER']);
    expect(errors[0]!.message).to.contain('handleMessages failed: boom');
  });

  it('sendMessages() takes any iterable, checks each message, and refuses after stop', async () => {
    server = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'));
    const s = server;
    await s.start();
    const reader = startPeer(['read', s.outPipe, '14']);
    reader.stdin?.end();
    const done = collect(reader);
    expect(s.sendMessages(['a', Buffer.from('b'), new Uint8Array([99])])).to.equal(true);
    expect(s.sendMessages(new LineBatch(Buffer.from('d\n\ne\n')))).to.equal(true);
    expect(s.sendMessages([])).to.equal(true);
    expect(() => s.sendMessages(['ok', 'x\ny'])).to.throw().with.property('code', 'PIPEIO_ERR_INVALID_MESSAGE');
    expect(() => s.sendMessages(7 as unknown as string[])).to.throw(TypeError);
    expect((await done).stdout.toString()).to.equal('a\nb\nc\nd\n\ne\nok\n');
    await s.stop();
    expect(() => s.sendMessages(new LineBatch(Buffer.from('z\n')))).to.throw().with.property('code', 'PIPEIO_ERR_CLOSED');
  });
});
