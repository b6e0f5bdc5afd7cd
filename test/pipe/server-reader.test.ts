/**
 * The in pipe's reader: a writer session is read on the main thread until a
 * long line comes in, then by the reader worker, and handed back after a run
 * of short lines. Nothing may be lost, glued or invented across the moves.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PipeIOServer } from '../../lib';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';
import { killPeers, runPeer } from './peer';
import { needsTools } from '../fixtures/tools';

describe('PipeIOServer in-pipe reader', () => {
  before(needsTools('python3'));
  let dir: string;
  let server: PipeIOServer | undefined;

  beforeEach(() => {
    dir = makeTempDir('pio-reader');
  });
  afterEach(async () => {
    await killPeers();
    await server?.stop();
    server = undefined;
    removeTempDir(dir);
  });

  it('keeps every message whole and in order while one session moves to the worker and back, twice', async function () {
    this.timeout(60000); // about 6 MiB through two FIFOs and python
    server = new PipeIOServer(path.join(dir, 'in'), path.join(dir, 'out'));
    const s = server;
    s.handleMessage = (m) => {
      s.sendMessage(m);
    };
    const events: string[] = [];
    s.on('connect', () => events.push('connect'));
    s.on('disconnect', () => events.push('disconnect'));
    await s.start();
    const small = (from: number): string[] => Array.from({ length: 3000 }, (_, i) => `small ${from + i} ${'s'.repeat(i % 150)}`);
    const lines = [
      ...small(0),
      'L'.repeat(300 * 1024), // past the main thread's limit: the worker takes over
      ...small(3000), // a run of short lines: back to the main thread
      'M'.repeat(2 * 1024 * 1024 + 7),
      'N'.repeat(1024 * 1024),
      ...small(6000),
    ];
    const payload = Buffer.from(lines.join('\n') + '\n');
    const file = path.join(dir, 'payload');
    fs.writeFileSync(file, payload);
    const result = await runPeer(['echo', s.inPipe, s.outPipe, file], 50000);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout.length).to.equal(payload.length);
    expect(result.stdout.equals(payload)).to.equal(true);
    expect(events).to.deep.equal(['connect', 'disconnect']);
    // The worker did take over, and the main thread reads again (the next session).
    const reader = (s as unknown as { reader: { worker?: unknown; threadSession?: unknown; session?: unknown } }).reader;
    expect(reader.worker, 'the reader worker was started').to.not.equal(undefined);
    expect(reader.threadSession, 'no session left on the worker').to.equal(undefined);
    expect(reader.session, 'the main thread waits for the next writer').to.not.equal(undefined);
  });
});
