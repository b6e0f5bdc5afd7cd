import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PipeIOServer, type PipeIOError } from '../../lib';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';

async function startError(server: PipeIOServer): Promise<PipeIOError | undefined> {
  return server.start().then(
    () => undefined,
    (e: PipeIOError) => e,
  );
}

describe('PipeIOServer pipe files', () => {
  let dir: string;
  let server: PipeIOServer | undefined;
  const inPath = (): string => path.join(dir, 'in');
  const outPath = (): string => path.join(dir, 'out');

  beforeEach(() => {
    dir = makeTempDir('pio-files');
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    removeTempDir(dir);
  });

  it('creates owner-only FIFOs even under umask 000, and honours permissions', async () => {
    const old = process.umask(0);
    try {
      server = new PipeIOServer(inPath(), outPath());
      await server.start();
      expect(fs.statSync(inPath()).mode & 0o777).to.equal(0o600);
      expect(fs.statSync(outPath()).mode & 0o777).to.equal(0o600);
      await server.stop();
      server = new PipeIOServer(inPath(), outPath(), { permissions: 0o640 });
      await server.start();
      expect(fs.statSync(inPath()).mode & 0o777).to.equal(0o640);
    } finally {
      process.umask(old);
    }
  });

  it('replaces a stale FIFO and removes its FIFOs on stop', async () => {
    execFileSync('mkfifo', ['-m', '666', inPath()]);
    const witness = path.join(dir, 'stale-witness');
    fs.linkSync(inPath(), witness); // a second name for the stale inode
    server = new PipeIOServer(inPath(), outPath());
    await server.start();
    expect(fs.statSync(inPath()).mode & 0o777).to.equal(0o600);
    const stale = fs.lstatSync(witness);
    expect([stale.nlink, stale.mode & 0o777], 'the stale FIFO was unlinked, not reused').to.deep.equal([1, 0o666]);
    await server.stop();
    expect(fs.existsSync(inPath())).to.equal(false);
    expect(fs.existsSync(outPath())).to.equal(false);
  });

  /** Listens on argv[1], then SIGKILLs itself: the socket file stays, nobody listens. */
  const STALE_SOCKET = "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))";
  const intruders: Array<[string, (p: string) => void]> = [
    ['a regular file', (p) => fs.writeFileSync(p, 'precious')],
    ['a directory', (p) => fs.mkdirSync(p)],
    ['a symlink to a FIFO', (p) => {
      execFileSync('mkfifo', [path.join(dir, 'target')]);
      fs.symlinkSync(path.join(dir, 'target'), p);
    }],
    // A bound socket file that outlives its owner: a process killed while it listens.
    ['a socket', (p) => void spawnSync(process.execPath, ['-e', STALE_SOCKET, p])],
  ];
  for (const [what, make] of intruders) {
    it(`never follows or clobbers ${what} at a pipe path`, async () => {
      await make(inPath());
      const before = fs.lstatSync(inPath());
      server = new PipeIOServer(inPath(), outPath());
      const err = await startError(server);
      expect(err?.code).to.equal('PIPEIO_ERR_NOT_A_FIFO');
      const after = fs.lstatSync(inPath());
      expect([after.ino, after.mode]).to.deep.equal([before.ino, before.mode]);
      expect(fs.existsSync(outPath()), 'nothing left behind').to.equal(false);
      if (what === 'a regular file') expect(fs.readFileSync(inPath(), 'utf8')).to.equal('precious');
    });
  }

  it('refuses to take over the pipes of a live server (PIPEIO_ERR_ADDRESS_IN_USE)', async () => {
    const live = new PipeIOServer(inPath(), outPath());
    await live.start();
    try {
      const inode = fs.statSync(inPath()).ino;
      server = new PipeIOServer(inPath(), outPath());
      const err = await startError(server);
      expect(err?.code).to.equal('PIPEIO_ERR_ADDRESS_IN_USE');
      expect(fs.statSync(inPath()).ino, 'the live server keeps its FIFO').to.equal(inode);
      expect(live.state).to.equal('running');
    } finally {
      await live.stop();
    }
  });

  it('with managePipes: false rejects a missing FIFO at once and leaves FIFOs in place', async () => {
    server = new PipeIOServer(inPath(), outPath(), { managePipes: false });
    const err = await startError(server);
    expect(err?.code).to.equal('PIPEIO_ERR_PIPE_MISSING');
    execFileSync('mkfifo', ['-m', '600', inPath(), outPath()]);
    server = new PipeIOServer(inPath(), outPath(), { managePipes: false });
    await server.start();
    await server.stop();
    expect(fs.lstatSync(inPath()).isFIFO()).to.equal(true);
    expect(fs.lstatSync(outPath()).isFIFO()).to.equal(true);
  });

  it('rejects with PIPEIO_ERR_MKFIFO when the directory does not exist', async () => {
    server = new PipeIOServer(path.join(dir, 'nope', 'in'), path.join(dir, 'nope', 'out'));
    const err = await startError(server);
    expect(err?.code).to.equal('PIPEIO_ERR_MKFIFO');
  });

  it('validates its arguments synchronously', () => {
    expect(() => new PipeIOServer('', 'b')).to.throw(TypeError);
    expect(() => new PipeIOServer('a', 'a')).to.throw(TypeError);
    expect(() => new PipeIOServer('a', 'b', { permissions: 0o1777 })).to.throw(RangeError);
    expect(() => new PipeIOServer('a', 'b', { maxQueueBytes: 0 })).to.throw(RangeError);
    expect(() => new PipeIOServer('a', 'b', { managePipes: 'yes' as unknown as boolean })).to.throw(TypeError);
  });
});
