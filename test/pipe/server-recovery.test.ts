import { expect } from 'chai';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PipeIOServer, type PipeIOError } from '../../lib';
import { makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';
import { collect, holdPeer, killPeers, runPeer, startPeer } from './peer';
import { needsTools } from '../fixtures/tools';

describe('PipeIOServer recovery', () => {
  before(needsTools('python3'));
  let dir: string;
  let server: PipeIOServer | undefined;

  beforeEach(() => {
    dir = makeTempDir('pio-rec');
  });
  afterEach(async () => {
    await killPeers();
    await server?.stop();
    server = undefined;
    removeTempDir(dir);
  });

  function echoServer(options = {}): PipeIOServer {
    const s = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'), options);
    s.handleMessage = (m) => void s.sendMessage(m);
    s.on('error', () => undefined); // asserted where expected
    return s;
  }

  async function roundTrip(s: PipeIOServer, text: string): Promise<string> {
    const reader = startPeer(['read', s.outPipe, String(text.length + 1)]);
    reader.stdin?.end();
    const done = collect(reader);
    expect((await runPeer(['write', s.inPipe, `${text}\\n`])).code).to.equal(0);
    return (await done).stdout.toString();
  }

  it('recreates deleted pipes (owner-only) and serves new clients', async () => {
    server = echoServer();
    await server.start();
    expect(await roundTrip(server, 'before')).to.equal('before\n');
    const recreated: string[] = [];
    server.on('recreate', (p) => recreated.push(p));
    fs.unlinkSync(server.inPipe);
    fs.unlinkSync(server.outPipe);
    await waitFor(() => recreated.length === 2, 'both pipes recreated', 3000);
    for (const p of [server.inPipe, server.outPipe]) {
      const st = fs.lstatSync(p);
      expect(st.isFIFO()).to.equal(true);
      expect(st.mode & 0o777).to.equal(0o600);
    }
    expect(await roundTrip(server, 'after')).to.equal('after\n');
  });

  it('carries replies left unread in a deleted out pipe over to the new one', async () => {
    server = echoServer();
    await server.start();
    for (let i = 0; i < 100; i++) server.sendMessage(`unread ${i}`);
    await waitFor(() => server!.queuedBytes === 0, 'replies written into the pipe');
    const recreated = once(server, 'recreate');
    fs.unlinkSync(server.outPipe);
    await recreated;
    const expected = Array.from({ length: 100 }, (_, i) => `unread ${i}\n`).join('');
    const result = await runPeer(['read', server.outPipe, String(expected.length)]);
    expect(result.stdout.toString()).to.equal(expected);
  });

  it('carries big replies, blocked in the middle of a write, over to the new out pipe byte for byte', async function () {
    // 4 x 1 MiB with no reader: the pipe takes 64 KiB, the writer blocks inside a write()
    // of up to MAX_WRITE (1 MiB); the rebind must drain it into the carry-over, in order.
    this.timeout(30000);
    server = echoServer();
    await server.start();
    const messages = Array.from({ length: 4 }, (_, i) => {
      const m = Buffer.alloc(1024 * 1024, 0x61 + i);
      m.write(`message ${i} `);
      return m;
    });
    for (const m of messages) server.sendMessage(m);
    const total = messages.reduce((n, m) => n + m.length + 1, 0);
    await waitFor(() => server!.queuedBytes < total, 'the first bytes written into the pipe');
    const recreated = once(server, 'recreate');
    fs.unlinkSync(server.outPipe);
    await recreated;
    const result = await runPeer(['read', server.outPipe, String(total)], 20000);
    const expected = Buffer.concat(messages.flatMap((m) => [m, Buffer.from('\n')]));
    expect(result.stdout.length).to.equal(total);
    expect(result.stdout.equals(expected), 'the replies, in order, nothing lost or added').to.equal(true);
  });

  it('reports a non-FIFO put in place of a pipe, leaves it alone, and recovers once it is gone', async () => {
    server = echoServer();
    const errors: PipeIOError[] = [];
    server.on('error', (e) => errors.push(e));
    await server.start();
    fs.unlinkSync(server.inPipe);
    fs.writeFileSync(server.inPipe, 'not a fifo');
    await waitFor(() => errors.length > 0, 'an error for the regular file', 3000);
    expect(errors[0]!.code).to.equal('PIPEIO_ERR_NOT_A_FIFO');
    expect(fs.readFileSync(server.inPipe, 'utf8')).to.equal('not a fifo');
    const recreated = once(server, 'recreate');
    fs.unlinkSync(server.inPipe);
    await recreated;
    expect(await roundTrip(server, 'back')).to.equal('back\n');
    expect(errors).to.have.length(1);
  });

  it('lets a client still writing to the deleted in pipe finish before moving on', async () => {
    server = echoServer();
    const seen: string[] = [];
    server.on('message', (m) => seen.push(m.toString()));
    await server.start();
    const old = await holdPeer(['hold-write', server.inPipe, 'old client\\n']);
    await waitFor(() => seen.length === 1, 'the old client message');
    const recreated = once(server, 'recreate');
    fs.unlinkSync(server.inPipe);
    await recreated;
    old.stdin!.end(); // the old client leaves: the worker moves to the new FIFO
    await runPeer(['write', server.inPipe, 'new client\\n']);
    await waitFor(() => seen.length === 2, 'the new client message');
    expect(seen).to.deep.equal(['old client', 'new client']);
  });

  it('with managePipes: false reports a deleted pipe and adopts a new FIFO at the path', async () => {
    execFileSync('mkfifo', ['-m', '600', path.join(dir, 'in'), path.join(dir, 'out')]);
    server = echoServer({ managePipes: false });
    const errors: PipeIOError[] = [];
    server.on('error', (e) => errors.push(e));
    await server.start();
    fs.unlinkSync(server.inPipe);
    await waitFor(() => errors.length === 1, 'PIPE_DELETED', 3000);
    expect(errors[0]!.code).to.equal('PIPEIO_ERR_PIPE_DELETED');
    const recreated = once(server, 'recreate');
    execFileSync('mkfifo', ['-m', '600', server.inPipe]);
    await recreated;
    expect(await roundTrip(server, 'adopted')).to.equal('adopted\n');
    await server.stop();
    expect(fs.existsSync(server.inPipe), 'unmanaged FIFOs stay').to.equal(true);
    expect(fs.existsSync(server.outPipe)).to.equal(true);
  });
});
