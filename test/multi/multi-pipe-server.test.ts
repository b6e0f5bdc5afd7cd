import { expect } from 'chai';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MultiPipeServer, PipeIOError } from '../../lib';
import { makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';
import { runBash, runPythonEcho } from './clients';
import { needsTools } from '../fixtures/tools';

async function rejection(p: Promise<unknown>): Promise<PipeIOError> {
  try {
    await p;
  } catch (err) {
    return err as PipeIOError;
  }
  throw new Error('expected a rejection');
}

function thrown(fn: () => unknown): PipeIOError {
  try {
    fn();
  } catch (err) {
    return err as PipeIOError;
  }
  throw new Error('expected a throw');
}

describe('MultiPipeServer', function () {
  this.timeout(30000);
  let base: string;

  beforeEach(() => {
    base = makeTempDir('multi');
  });
  afterEach(() => removeTempDir(base));

  describe('constructor and lifecycle', () => {
    it('validates arguments synchronously', () => {
      expect(() => new MultiPipeServer('')).to.throw(TypeError);
      expect(() => new MultiPipeServer(base, { permissions: 0o1000 })).to.throw(RangeError);
      expect(() => new MultiPipeServer(base, { highWaterMark: 0 })).to.throw(RangeError);
      expect(() => new MultiPipeServer(base, { maxQueueBytes: -1 })).to.throw(RangeError);
    });

    it('stop() before start() resolves, is idempotent, and start() then rejects CLOSED', async () => {
      const multi = new MultiPipeServer(path.join(base, 'd'));
      const closed = once(multi, 'close');
      const a = multi.stop();
      expect(multi.stop()).to.equal(a);
      await a;
      await closed;
      expect(multi.state).to.equal('closed');
      expect((await rejection(multi.start())).code).to.equal('PIPEIO_ERR_CLOSED');
      expect(fs.existsSync(path.join(base, 'd'))).to.equal(false);
    });

    it('rejects addPair and throws on send before start', async () => {
      const multi = new MultiPipeServer(path.join(base, 'd'));
      expect((await rejection(multi.addPair('a'))).code).to.equal('PIPEIO_ERR_INVALID_STATE');
      expect(thrown(() => multi.send('a', 'x')).code).to.equal('PIPEIO_ERR_INVALID_STATE');
      await multi.stop();
    });

    it('refuses a dir path that is not a directory', async () => {
      const file = path.join(base, 'file');
      fs.writeFileSync(file, 'x');
      const multi = new MultiPipeServer(file);
      expect((await rejection(multi.start())).code).to.equal('PIPEIO_ERR_PERMISSION');
      await multi.stop();
      expect(fs.readFileSync(file, 'utf8')).to.equal('x');
    });
  });

  describe('with a running server', () => {
    let multi: MultiPipeServer;
    let dir: string;
    let errors: Array<[PipeIOError, string | undefined]>;

    before(async function () {
      // one server for this block: a worker start costs ~0.1-1 s on a loaded CI box
      dir = makeTempDir('multi-shared');
      const oldMask = process.umask(0);
      try {
        multi = new MultiPipeServer(path.join(dir, 'pipes'));
        await multi.start();
      } finally {
        process.umask(oldMask);
      }
    });
    after(async () => {
      const closed = once(multi, 'close');
      await multi.stop();
      await closed;
      expect(fs.existsSync(path.join(dir, 'pipes')), 'the dir it created is removed').to.equal(false);
      removeTempDir(dir);
    });
    beforeEach(() => {
      errors = [];
      multi.removeAllListeners();
      multi.on('error', (err, name) => errors.push([err, name]));
      multi.handleMessage = (name, message) => {
        multi.send(name, message);
      };
    });
    afterEach(async () => {
      for (const info of multi.pairs()) await multi.removePair(info.name);
    });

    it('creates the dir 0700 and FIFOs 0600 even under umask 0, named <name>.in/.out', async () => {
      const oldMask = process.umask(0);
      let info;
      try {
        info = await multi.addPair('perm');
      } finally {
        process.umask(oldMask);
      }
      expect(info).to.deep.equal({
        name: 'perm',
        inPipe: path.join(dir, 'pipes', 'perm.in'),
        outPipe: path.join(dir, 'pipes', 'perm.out'),
      });
      expect(fs.statSync(path.join(dir, 'pipes')).mode & 0o777).to.equal(0o700);
      for (const p of [info.inPipe, info.outPipe]) {
        const st = fs.lstatSync(p);
        expect(st.isFIFO()).to.equal(true);
        expect(st.mode & 0o777).to.equal(0o600);
      }
      expect(multi.has('perm')).to.equal(true);
      expect(multi.pairs()).to.deep.equal([info]);
    });

    it('validates names and reports duplicates and unknown pairs with codes', async () => {
      for (const bad of ['', '.hidden', 'a/b', 'x'.repeat(65), 'sp ace']) {
        expect(await rejection(multi.addPair(bad))).to.be.instanceOf(TypeError);
      }
      await multi.addPair('dup');
      expect((await rejection(multi.addPair('dup'))).code).to.equal('PIPEIO_ERR_PAIR_EXISTS');
      expect(thrown(() => multi.send('nope', 'x')).code).to.equal('PIPEIO_ERR_NO_SUCH_PAIR');
      expect((await rejection(multi.removePair('nope'))).code).to.equal('PIPEIO_ERR_NO_SUCH_PAIR');
      expect(thrown(() => multi.send('dup', 'a\nb')).code).to.equal('PIPEIO_ERR_INVALID_MESSAGE');
    });

    it('echoes with a bash client; a fragment at EOF is its own message; attach/detach observed', async () => {
      const info = await multi.addPair('bash');
      const seen: string[] = [];
      multi.on('message', (name, m) => seen.push(`${name}:${m.toString()}`));
      const detached = once(multi, 'detach');
      const attached = once(multi, 'attach');
      const res = await runBash(
        `exec 3<"$PIPE_IO_READ_PIPE"; printf 'one\\n\\ntwo\\nfrag' > "$PIPE_IO_WRITE_PIPE"; ` +
          `for i in 1 2 3 4; do IFS= read -r l <&3; printf '[%s]' "$l"; done`,
        { PIPE_IO_READ_PIPE: info.outPipe, PIPE_IO_WRITE_PIPE: info.inPipe },
      );
      expect(res.stdout).to.equal('[one][][two][frag]');
      expect(await attached).to.deep.equal(['bash']);
      expect(await detached).to.deep.equal(['bash']);
      expect(seen).to.deep.equal(['bash:one', 'bash:', 'bash:two', 'bash:frag']);
      // next client is not glued to the fragment
      const res2 = await runBash(`exec 3<"${info.outPipe}"; echo next > "${info.inPipe}"; IFS= read -r l <&3; echo "$l"`);
      expect(res2.stdout).to.equal('next\n');
      expect(errors).to.deep.equal([]);
    });

    it('routes to per-pair handlers (message, name) and the default handler (name, message)', async () => {
      const perPair: Array<[string, string]> = [];
      const byDefault: Array<[string, string]> = [];
      await multi.addPair('special', {
        handler: (m, name) => {
          perPair.push([m.toString(), name]);
          multi.send(name, `special:${m.toString()}`);
        },
      });
      const plain = await multi.addPair('plain');
      multi.handleMessage = (name, m) => {
        byDefault.push([name, m.toString()]);
        multi.send(name, `plain:${m.toString()}`);
      };
      const sp = multi.pairs().find((p) => p.name === 'special')!;
      const [a, b] = await Promise.all([
        runBash(`exec 3<"${sp.outPipe}"; echo hi > "${sp.inPipe}"; read -r l <&3; echo "$l"`),
        runBash(`exec 3<"${plain.outPipe}"; echo yo > "${plain.inPipe}"; read -r l <&3; echo "$l"`),
      ]);
      expect(a.stdout).to.equal('special:hi\n');
      expect(b.stdout).to.equal('plain:yo\n');
      expect(perPair).to.deep.equal([['hi', 'special']]);
      expect(byDefault).to.deep.equal([['plain', 'yo']]);
    });

    it('queues sends made before any reader for the next reader, in order; broadcast reaches every pair', async () => {
      const infos = await Promise.all(['b1', 'b2', 'b3'].map((n) => multi.addPair(n)));
      for (let i = 0; i < 100; i++) multi.send('b1', `m${i}`);
      expect(multi.broadcast('all')).to.equal(true);
      const res = await runBash(`head -n 101 "${infos[0]!.outPipe}"`);
      expect(res.stdout.split('\n').slice(0, 101)).to.deep.equal([...Array.from({ length: 100 }, (_, i) => `m${i}`), 'all']);
      for (const info of infos.slice(1)) {
        expect((await runBash(`head -n 1 "${info.outPipe}"`)).stdout).to.equal('all\n');
      }
    });

    it('survives a reader that leaves early: unread replies stay for the next reader', async () => {
      const info = await multi.addPair('broken');
      for (let i = 0; i < 5; i++) multi.send('broken', `r${i}`);
      // reads two lines and closes the out pipe with the rest unread
      const first = await runBash(`exec 3<"${info.outPipe}"; read -r a <&3; read -r b <&3; echo "$a $b"`);
      expect(first.stdout).to.equal('r0 r1\n');
      multi.send('broken', 'r5');
      // bash `read` on a pipe reads byte by byte, so nothing past r1 was consumed
      const second = await runBash(`head -n 4 "${info.outPipe}"`);
      expect(second.stdout).to.equal('r2\nr3\nr4\nr5\n');
      expect(errors).to.deep.equal([]);
    });

    it('send() returns false at highWaterMark, emits drain, and throws QUEUE_FULL beyond maxQueueBytes', async () => {
      const small = new MultiPipeServer(path.join(base, 'small'), { highWaterMark: 100 * 1024, maxQueueBytes: 200 * 1024 });
      try {
        await small.start();
        const info = await small.addPair('q');
        const line = 'x'.repeat(1023); // 1 KiB with the newline
        let returned = true;
        let sent = 0;
        while (returned) {
          returned = small.send('q', line);
          sent++;
        }
        expect(sent).to.equal(100);
        // the kernel pipe takes 64 KiB; the rest stays queued (no reader)
        let err: PipeIOError | undefined;
        for (let i = 0; i < 200 && !err; i++) {
          try {
            small.send('q', line);
          } catch (e) {
            err = e as PipeIOError;
          }
        }
        expect(err?.code).to.equal('PIPEIO_ERR_QUEUE_FULL');
        const drained = once(small, 'drain');
        const reader = runBash(`cat "${info.outPipe}" > /dev/null`);
        expect(await drained).to.deep.equal(['q']);
        await small.stop(); // the reader sees EOF once the server's writer is gone
        expect((await reader).code).to.equal(0);
      } finally {
        await small.stop();
      }
    });

    it('reports a line over maxMessageSize as LINE_TOO_LONG with the pair name and keeps serving', async () => {
      const tiny = new MultiPipeServer(path.join(base, 'tiny'), { maxMessageSize: 10 });
      const errs: Array<[string, string | undefined]> = [];
      tiny.on('error', (e, name) => errs.push([e.code, name]));
      tiny.handleMessage = (name, m) => {
        tiny.send(name, m);
      };
      try {
        await tiny.start();
        const info = await tiny.addPair('t');
        const res = await runBash(`exec 3<"${info.outPipe}"; printf 'short\\n%s\\nok\\n' "$(printf 'y%.0s' {1..50})" > "${info.inPipe}"; read -r a <&3; read -r b <&3; echo "$a $b"`);
        expect(res.stdout).to.equal('short ok\n');
        expect(errs).to.deep.equal([['PIPEIO_ERR_LINE_TOO_LONG', 't']]);
      } finally {
        await tiny.stop();
      }
    });

    it('turns handler throws and rejections into PIPEIO_ERR_HANDLER errors and keeps serving', async () => {
      const info = await multi.addPair('h');
      multi.handleMessage = (name, m) => {
        const text = m.toString();
        if (text === 'throw') throw new Error('boom');
        if (text === 'reject') return Promise.reject(new Error('bang'));
        multi.send(name, text);
        return undefined;
      };
      const res = await runBash(`exec 3<"${info.outPipe}"; printf 'throw\\nreject\\nfine\\n' > "${info.inPipe}"; read -r l <&3; echo "$l"`);
      expect(res.stdout).to.equal('fine\n');
      await waitFor(() => errors.length === 2, 'two handler errors');
      expect(errors.map(([e, n]) => [e.code, n])).to.deep.equal([
        ['PIPEIO_ERR_HANDLER', 'h'],
        ['PIPEIO_ERR_HANDLER', 'h'],
      ]);
    });

    it('removes a pair while others keep working; the name can be added again', async function () {
      needsTools('python3').call(this);
      const a = await multi.addPair('keep');
      const b = await multi.addPair('drop');
      await multi.removePair('drop');
      expect(fs.existsSync(b.inPipe) || fs.existsSync(b.outPipe)).to.equal(false);
      expect(multi.has('drop')).to.equal(false);
      expect(thrown(() => multi.send('drop', 'x')).code).to.equal('PIPEIO_ERR_NO_SUCH_PAIR');
      const res = await runPythonEcho(a.outPipe, a.inPipe, 500, 'keep');
      expect(res.stdout).to.equal('OK 500\n');
      const again = await multi.addPair('drop');
      const res2 = await runPythonEcho(again.outPipe, again.inPipe, 50, 'again');
      expect(res2.stdout).to.equal('OK 50\n');
    });
  });
});
