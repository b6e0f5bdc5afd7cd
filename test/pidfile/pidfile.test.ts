import { expect } from 'chai';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PipeIOError } from '../../lib/errors';
import { Pidfile } from '../../lib/pidfile/pidfile';
import {
  killChild,
  makeTempDir,
  removeTempDir,
  spawnJs,
  transpileForChildren,
  waitForExit,
  waitForLine,
} from '../fixtures/helpers';
import { PYTHON } from '../fixtures/python-env';
import { needsTools } from '../fixtures/tools';

function rejection(p: Promise<unknown>): Promise<PipeIOError> {
  return p.then(() => expect.fail('should reject'), (e: PipeIOError) => e);
}

interface ChildResult {
  ok: boolean;
  pid: number;
  code?: string;
  holder?: number;
}

describe('Pidfile', function () {
  this.timeout(30000); // real child processes
  let dir: string;
  let file: string;
  let buildDir: string;
  let fixture: string;
  const children: ChildProcess[] = [];

  before(() => {
    buildDir = makeTempDir('pio-build');
    fixture = transpileForChildren(buildDir, [
      'test/fixtures/pidfile-child.ts',
      'lib/pidfile/pidfile.ts',
      'lib/pidfile/flock.ts',
      'lib/socket/socket-path.ts',
      'lib/errors.ts',
    ]);
  });
  after(() => removeTempDir(buildDir));
  beforeEach(() => {
    dir = makeTempDir();
    file = path.join(dir, 'run', 'app', 'app.pid');
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await killChild(c);
    removeTempDir(dir);
  });

  function child(mode: 'race' | 'hold'): ChildProcess {
    const c = spawnJs(fixture, [file, mode]);
    children.push(c);
    return c;
  }

  describe('.acquire', () => {
    it('creates owner-only parents, writes PID\\n with mode 0600, removes it on release', async () => {
      {
        await using lock = await Pidfile.acquire(file);
        expect(lock.held).to.equal(true);
        expect(fs.readFileSync(file, 'utf8')).to.equal(`${process.pid}\n`);
        expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
        expect(fs.statSync(path.join(dir, 'run')).mode & 0o777).to.equal(0o700);
        expect(fs.statSync(path.dirname(file)).mode & 0o777).to.equal(0o700);
        expect(Pidfile.readPid(file)).to.equal(process.pid);
      }
      expect(fs.existsSync(file)).to.equal(false);
    });

    it('fails with PIPEIO_ERR_PIDFILE_LOCKED naming the holder while held, succeeds after release', async () => {
      const lock = await Pidfile.acquire(file);
      const err = await rejection(Pidfile.acquire(file));
      expect(err.code).to.equal('PIPEIO_ERR_PIDFILE_LOCKED');
      expect(err.pid).to.equal(process.pid);
      await lock.release();
      await lock.release(); // idempotent
      const again = await Pidfile.acquire(file);
      again.releaseSync();
    });

    it('20 racing processes: exactly one wins, the others name the winner', async function () {
      this.timeout(60000); // 20 node processes on 2 cores
      const racers = Array.from({ length: 20 }, () => child('race'));
      await Promise.all(racers.map((c) => waitForLine(c, /^ready$/, 30000)));
      const results = racers.map((c) => waitForLine(c, /^\{/, 30000));
      for (const c of racers) c.stdin!.write('go\n');
      const parsed = (await Promise.all(results)).map((l) => JSON.parse(l) as ChildResult);
      const winners = parsed.filter((r) => r.ok);
      expect(winners, JSON.stringify(parsed)).to.have.length(1);
      const winner = winners[0]!.pid;
      for (const r of parsed.filter((x) => !x.ok)) {
        expect(r.code).to.equal('PIPEIO_ERR_PIDFILE_LOCKED');
        expect(r.holder).to.equal(winner);
      }
      expect(fs.readFileSync(file, 'utf8')).to.equal(`${winner}\n`);
      // Normal exit of the winner (without release()) removes the file.
      for (const c of racers) c.stdin!.end();
      for (const c of racers) expect(await waitForExit(c)).to.deep.equal([0, null]);
      expect(fs.existsSync(file)).to.equal(false);
    });

    it('a pidfile left by a SIGKILLed holder does not block', async () => {
      const holder = child('hold');
      const line = await waitForLine(holder, /^\{/);
      expect(JSON.parse(line)).to.include({ ok: true });
      expect((await rejection(Pidfile.acquire(file))).pid).to.equal(holder.pid);
      holder.kill('SIGKILL');
      await waitForExit(holder);
      expect(fs.readFileSync(file, 'utf8'), 'the killed holder leaves its file').to.equal(`${holder.pid}\n`);
      await using lock = await Pidfile.acquire(file);
      expect(fs.readFileSync(file, 'utf8')).to.equal(`${process.pid}\n`);
      expect(lock.held).to.equal(true);
    });

    it('a pidfile naming a live, unrelated process (PID reuse) does not block', async () => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${process.ppid}\n`); // alive, but holds no lock
      await using lock = await Pidfile.acquire(file);
      expect(fs.readFileSync(file, 'utf8')).to.equal(`${process.pid}\n`);
      expect(lock.pid).to.equal(process.pid);
    });

    it('interoperates with a Python fcntl.flock holder, both ways', async function () {
      needsTools('python3').call(this);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const py = spawn(
        PYTHON,
        [
          '-c',
          'import fcntl, os, sys\n' +
            'f = open(sys.argv[1], "a+")\n' +
            'try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n    print("busy", flush=True); sys.exit(0)\n' +
            'f.seek(0); f.truncate(); f.write("%d\\n" % os.getpid()); f.flush()\n' +
            'print("locked", flush=True)\nsys.stdin.read()\n',
          file,
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      children.push(py);
      await waitForLine(py, /^locked$/);
      const err = await rejection(Pidfile.acquire(file));
      expect(err.code).to.equal('PIPEIO_ERR_PIDFILE_LOCKED');
      expect(err.pid).to.equal(py.pid);
      py.stdin!.end();
      await waitForExit(py);

      await using lock = await Pidfile.acquire(file);
      const py2 = spawn(PYTHON, ['-c', py.spawnargs[2] as string, file], { stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(py2);
      await waitForLine(py2, /^busy$/);
      expect(lock.held).to.equal(true);
    });

    it('never follows a symlink and refuses directories', async () => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const target = path.join(dir, 'target');
      fs.writeFileSync(target, 'precious');
      fs.symlinkSync(target, file);
      const e1 = await rejection(Pidfile.acquire(file));
      expect(e1.code).to.equal('PIPEIO_ERR_PIDFILE_INVALID');
      expect(fs.readFileSync(target, 'utf8')).to.equal('precious');
      const e2 = await rejection(Pidfile.acquire(dir));
      expect(e2.code).to.equal('PIPEIO_ERR_PIDFILE_INVALID');
    });

    it('is exactly 0600 whatever the umask (and honours options.mode under a narrower one)', async () => {
      let oldMask = process.umask(0);
      try {
        await using lock = await Pidfile.acquire(file);
        expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
        expect(fs.statSync(path.dirname(file)).mode & 0o777).to.equal(0o700);
        expect(lock.held).to.equal(true);
      } finally {
        process.umask(oldMask);
      }
      oldMask = process.umask(0o277);
      try {
        await using lock = await Pidfile.acquire(file, { mode: 0o640 });
        expect(fs.statSync(file).mode & 0o777).to.equal(0o640);
        expect(lock.held).to.equal(true);
      } finally {
        process.umask(oldMask);
      }
    });

    it('never clobbers a regular file that is not a pidfile, nor a FIFO', async () => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, 'key = precious\n', { mode: 0o644 });
      const err = await rejection(Pidfile.acquire(file));
      expect(err.code).to.equal('PIPEIO_ERR_PIDFILE_INVALID');
      expect(fs.readFileSync(file, 'utf8')).to.equal('key = precious\n');
      expect(fs.statSync(file).mode & 0o777).to.equal(0o644);
      // the refused file is not left locked either
      fs.writeFileSync(file, '');
      await (await Pidfile.acquire(file)).release();

      const fifo = path.join(dir, 'p.pid');
      spawnSync('mkfifo', [fifo]);
      expect((await rejection(Pidfile.acquire(fifo))).code).to.equal('PIPEIO_ERR_PIDFILE_INVALID');
      expect(fs.lstatSync(fifo).isFIFO()).to.equal(true);
    });

    it('rejects bad arguments', async () => {
      expect(await Pidfile.acquire('').then(() => 'resolved', (e: Error) => e.constructor.name)).to.equal('TypeError');
    });
  });

  describe('.withLock', () => {
    it('holds the lock during fn and releases it after, even on throw', async () => {
      const result = await Pidfile.withLock(file, async (lock) => {
        expect((await rejection(Pidfile.acquire(file))).code).to.equal('PIPEIO_ERR_PIDFILE_LOCKED');
        return lock.pid;
      });
      expect(result).to.equal(process.pid);
      expect(fs.existsSync(file)).to.equal(false);
      const err = await Pidfile.withLock(file, () => {
        throw new Error('inside');
      }).then(() => expect.fail('should reject'), (e: Error) => e);
      expect(err.message).to.equal('inside');
      expect(fs.existsSync(file)).to.equal(false);
    });
  });
});
