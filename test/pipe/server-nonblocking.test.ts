import { expect } from 'chai';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PipeIOServer } from '../../lib';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';
import { holdPeer, killPeers } from './peer';
import { needsTools } from '../fixtures/tools';

/** Resolves with how late each of `count` successive `intervalMs` timers fired, in ms. */
async function timerLateness(count: number, intervalMs: number): Promise<number[]> {
  const late: number[] = [];
  for (let i = 0; i < count; i++) {
    const due = performance.now() + intervalMs;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    late.push(performance.now() - due);
  }
  return late;
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

describe('PipeIOServer never blocks the process', () => {
  before(needsTools('python3'));
  let dir: string;
  const servers: PipeIOServer[] = [];

  before(() => {
    dir = makeTempDir('pio-nb');
  });
  after(async () => {
    await killPeers();
    await Promise.all(servers.map((s) => s.stop()));
    removeTempDir(dir);
  });

  it('keeps timers on schedule and the libuv pool free with 8 servers and idle clients attached', async function () {
    this.timeout(60000); // 8 servers and 8 python clients
    for (let i = 0; i < 8; i++) {
      const s = new PipeIOServer(path.join(dir, `in${i}`), path.join(dir, `out${i}`));
      s.handleMessage = (m) => void s.sendMessage(m);
      servers.push(s);
      await s.start();
    }
    // Half the servers have a client holding both pipes, half none at all:
    // 16 workers sit in blocking open()/read() calls.
    for (let i = 0; i < 4; i++) await holdPeer(['hold', servers[i]!.inPipe, servers[i]!.outPipe]);

    // The pool's 4 threads must all be free: 4 pbkdf2 and a readFile at once.
    const file = path.join(dir, 'data');
    fs.writeFileSync(file, 'x'.repeat(1000));
    const pool = Promise.all([
      fs.promises.readFile(file, 'utf8'),
      ...Array.from(
        { length: 4 },
        () => new Promise((resolve, reject) => crypto.pbkdf2('pw', 'salt', 1000, 32, 'sha256', (e, k) => (e ? reject(e) : resolve(k)))),
      ),
    ]);
    const [text] = await withDeadline(pool, 2000, 'readFile and 4 pbkdf2 on the libuv pool');
    expect(text).to.have.length(1000);

    const late = (await timerLateness(50, 10)).sort((a, b) => a - b);
    const median = late[Math.floor(late.length / 2)]!;
    expect(median, `median timer lateness (ms); all: ${late.map((l) => l.toFixed(1)).join(' ')}`).to.be.below(10);
  });
});
