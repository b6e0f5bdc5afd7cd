import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MultiPipeServer } from '../../lib';
import {
  killChild,
  makeTempDir,
  removeTempDir,
  spawnJs,
  transpileForChildren,
  waitFor,
  waitForExit,
  waitForLine,
} from '../fixtures/helpers';

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** A bash client that writes lines forever to the in pipe and reads the out pipe (kept busy mid-transfer). */
function busyClient(outPipe: string, inPipe: string): ChildProcess {
  return spawn('bash', ['-c', `cat "${outPipe}" > /dev/null & exec yes "$(printf 'z%.0s' {1..200})" > "${inPipe}"`], {
    stdio: 'ignore',
  });
}

describe('MultiPipeServer#stop', function () {
  this.timeout(60000);
  let dir: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dir = makeTempDir('multi-stop');
  });
  afterEach(async () => {
    for (const child of children.splice(0)) await killChild(child);
    removeTempDir(dir);
  });

  it('is prompt with 100 pairs and busy clients mid-transfer, closes every fd and removes every FIFO', async function () {
    if (process.platform !== 'linux') this.skip(); // counts /proc/self/fd
    // warm-up: libuv keeps its inotify fd (fs.watch) and Node a /dev/null fd (mkfifo spawns) once created
    const warm = new MultiPipeServer(path.join(dir, 'warm'));
    await warm.start();
    await warm.addPair('w');
    await warm.stop();
    const before = openFds();
    const multi = new MultiPipeServer(path.join(dir, 'p'));
    multi.on('error', () => undefined); // late errors while stopping are not the subject here
    multi.handleMessage = (name, message) => {
      try {
        multi.send(name, message);
      } catch {
        /* queue full: the busy readers are slower than the writers; fine for this test */
      }
    };
    await multi.start();
    const infos = [];
    for (let i = 0; i < 100; i++) infos.push(await multi.addPair(`s${i}`));
    for (const info of infos.slice(0, 10)) children.push(busyClient(info.outPipe, info.inPipe));
    // a 16 MiB message queued to a pair nobody reads
    multi.send('s50', 'm'.repeat(16 * 1024 * 1024));
    let lines = 0;
    multi.on('message', () => lines++);
    await waitFor(() => lines > 10000, 'the busy clients to be mid-transfer', 20000);
    const t0 = performance.now();
    await multi.stop();
    const elapsed = performance.now() - t0;
    // target < 100 ms (see bench/multi-pairs.bench.js); loose here for loaded CI boxes
    expect(elapsed).to.be.below(1000);
    expect(openFds()).to.equal(before);
    expect(fs.existsSync(path.join(dir, 'p'))).to.equal(false);
    // the clients see EOF / EPIPE and end by themselves
    for (const child of children) {
      const [code, signal] = await waitForExit(child, 10000);
      expect(code !== null || signal !== null).to.equal(true);
    }
  });

  it('lets the process exit by itself after stop(), with clients attached mid-transfer', async function () {
    const js = transpileForChildren(path.join(dir, 'build'), [
      'test/multi/stop-child.ts',
      ...fs.readdirSync(path.join(__dirname, '../../lib/multi')).map((f) => `lib/multi/${f}`),
      'lib/internal/worker-loader.ts',
      'lib/pipe/fifo.ts',
      'lib/errors.ts',
      'lib/framing/line-splitter.ts',
      'lib/constants.ts',
    ]);
    const pipes = path.join(dir, 'pipes');
    const child = spawnJs(js, [pipes, '20']);
    children.push(child);
    child.stderr?.on('data', () => undefined);
    await waitForLine(child, /^READY /, 20000);
    for (let i = 0; i < 5; i++) children.push(busyClient(path.join(pipes, `c${i}.out`), path.join(pipes, `c${i}.in`)));
    const idle = spawn('bash', ['-c', `exec 3<"${path.join(pipes, 'c10.out')}" 4>"${path.join(pipes, 'c10.in')}"; read -r -u 3 l`], {
      stdio: 'ignore',
    });
    children.push(idle);
    // wait until the busy clients really are attached (their FIFOs are opened by the writers)
    await waitFor(() => fs.readdirSync(`/proc/${children[1]!.pid}/fd`).length > 0, 'a busy client', 5000);
    const stopped = waitForLine(child, /^STOPPED /, 10000);
    child.kill('SIGTERM');
    const line = await stopped;
    const [code, signal] = await waitForExit(child, 10000);
    expect([code, signal]).to.deep.equal([0, null]);
    expect(Number(line.split(' ')[1])).to.be.below(1000);
    expect(fs.existsSync(pipes)).to.equal(false);
    const [idleCode] = await waitForExit(idle, 10000);
    expect(idleCode).to.equal(1); // `read` saw end-of-file on the out pipe
  });
});
