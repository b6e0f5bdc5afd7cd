/**
 * The pipe-io-server CLI as a real process (dist/cli/main.js, built once):
 * help and usage errors, send/recv exit codes, serve + its printed bash line,
 * exec bridging plugins.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeTempDir, waitFor, waitForExit, waitForLine } from '../fixtures/helpers';
import { processExists } from '../plugin/helpers';
import { buildOnce, copyCliForOtherUsers, runCli, startCli } from './run-cli';

const ECHO_PLUGIN = path.join(__dirname, '..', 'plugin', 'fixtures', 'echo-plugin.sh');
/** A bash plugin: replies "got: LINE" and copies each line to stderr as "log LINE". */
const BASH_ECHO = `while IFS= read -r line; do echo "got: $line"; echo "log $line" >&2; done < "$PIPE_IO_READ_PIPE" > "$PIPE_IO_WRITE_PIPE"`;

function mkfifo(file: string): Promise<void> {
  return new Promise((resolve, reject) => execFile('mkfifo', ['-m', '600', file], (err) => (err ? reject(err) : resolve())));
}

/** Accumulates a child's stdout and stderr as text. */
function collectOutput(child: ChildProcess): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out.stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out.stderr += c));
  return out;
}

function bash(line: string, timeout = 5000): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', line], { timeout }, (err, stdout) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout });
    });
  });
}

describe('pipe-io-server CLI', function () {
  let dir: string;

  before(function () {
    this.timeout(120000); // slow: compiles the project once
    buildOnce();
  });

  beforeEach(function () {
    dir = makeTempDir('pio-cli');
  });

  afterEach(function () {
    removeTempDir(dir);
  });

  describe('help and usage', function () {
    it('--help exits 0 for the tool and every command', async function () {
      for (const args of [['--help'], ['serve', '--help'], ['exec', '--help'], ['send', '-h'], ['recv', '--help']]) {
        const r = await runCli(args);
        expect(r.code, args.join(' ')).to.equal(0);
        expect(r.stdout).to.match(/^Usage: pipe-io-server/);
      }
    });

    it('--version prints the package version', async function () {
      const r = await runCli(['--version']);
      expect(r.code).to.equal(0);
      expect(r.stdout.trim()).to.equal(JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version);
    });

    it('exits 2 with a message for bad arguments', async function () {
      const env = { ...process.env, PIPE_IO_READ_PIPE: '', PIPE_IO_WRITE_PIPE: '' };
      const cases: Array<[string[], RegExp]> = [
        [[], /Usage: pipe-io-server/],
        [['frobnicate'], /unknown command 'frobnicate'/],
        [['serve', '--bogus'], /Unknown option '--bogus'/],
        [['serve', '--in', '/tmp/x'], /both --in and --out/],
        [['send', 'hello'], /missing --pipe PATH/],
        [['recv', '--pipe', '/tmp/x', '--count', 'many'], /--count needs a non-negative integer/],
        [['recv', '--pipe', '/tmp/x', '--timeout'], /argument missing/],
        [['exec'], /missing COMMAND/],
        [['send', '--pipe', '/tmp/x', 'two\nlines'], /contains a newline/],
      ];
      const results = await Promise.all(cases.map(([args]) => runCli(args, { env })));
      cases.forEach(([args, pattern], i) => {
        expect(results[i]?.code, args.join(' ')).to.equal(2);
        expect(results[i]?.stderr, args.join(' ')).to.match(pattern);
      });
    });
  });

  describe('send / recv', function () {
    it('exits 4 for a missing pipe and 5 for a path that is not a FIFO', async function () {
      const missing = path.join(dir, 'missing');
      const file = path.join(dir, 'file');
      fs.writeFileSync(file, '');
      for (const cmd of ['send', 'recv']) {
        const args = cmd === 'send' ? ['hi'] : [];
        const r4 = await runCli([cmd, '--pipe', missing, ...args]);
        expect(r4.code).to.equal(4);
        expect(r4.stderr).to.contain(`no such pipe: ${missing}`);
        const r5 = await runCli([cmd, '--pipe', file, ...args]);
        expect(r5.code).to.equal(5);
        expect(r5.stderr).to.contain('is a regular file, not a FIFO');
      }
      expect(fs.readFileSync(file, 'utf8')).to.equal('');
    });

    it('exits 6 for a pipe it may not open', async function () {
      const fifo = path.join(dir, 'locked');
      await mkfifo(fifo);
      fs.chmodSync(fifo, 0o000);
      // root ignores permission bits: run the CLI as nobody then (the temp dir is 0700: no access),
      // from a world-readable copy of dist/, since the checkout may be private to root.
      const uid = process.getuid?.() === 0 ? 65534 : undefined;
      const copy = uid === undefined ? undefined : copyCliForOtherUsers();
      try {
        for (const args of [['recv', '--pipe', fifo, '--timeout', '200'], ['send', '--pipe', fifo, '--timeout', '200', 'x']]) {
          const r = await runCli(args, { uid, cli: copy?.cli });
          expect(r.code, r.stderr).to.equal(6);
          expect(r.stderr).to.contain(`permission denied: ${fifo}`);
        }
      } finally {
        removeTempDir(copy?.dir);
      }
    });

    it('exits 3 after --timeout when nobody reads or writes the pipe', async function () {
      const fifo = path.join(dir, 'lonely');
      await mkfifo(fifo);
      const recv = await runCli(['recv', '--pipe', fifo, '--timeout', '300']);
      expect(recv.code).to.equal(3);
      expect(recv.stderr).to.contain('timed out after 300 ms');
      expect(recv.elapsed).to.be.below(3000);
      const send = await runCli(['send', '--pipe', fifo, '--timeout', '300', 'hi']);
      expect(send.code).to.equal(3);
      expect(send.stderr).to.contain('nobody is reading');
    });

    it('sends arguments and stdin as lines; recv reads exactly --count messages', async function () {
      const fifo = path.join(dir, 'p');
      await mkfifo(fifo);
      // keep a writer open so that recv waits for data instead of seeing end-of-file
      const holder = fs.openSync(fifo, fs.constants.O_RDWR);
      try {
        expect((await runCli(['send', '--pipe', fifo, 'one', 'two'])).code).to.equal(0);
        expect((await runCli(['send', '--pipe', fifo], { input: 'three\nfour' })).code).to.equal(0);
        const first = await runCli(['recv', '--pipe', fifo, '--count', '3']);
        expect(first).to.include({ code: 0, stdout: 'one\ntwo\nthree\n' });
        const second = await runCli(['recv', '--pipe', fifo], { env: { ...process.env, PIPE_IO_READ_PIPE: fifo } });
        expect(second).to.include({ code: 0, stdout: 'four\n' });
        const partial = await runCli(['recv', '--pipe', fifo, '--timeout', '200']);
        expect(partial.code).to.equal(3);
        expect(partial.stderr).to.contain('received 0 of 1');
      } finally {
        fs.closeSync(holder);
      }
    });

    it('recv exits 1 at end of stream once the writer it saw has left', async function () {
      const fifo = path.join(dir, 'eos');
      await mkfifo(fifo);
      const holder = fs.openSync(fifo, fs.constants.O_RDWR);
      fs.writeSync(holder, 'x\n');
      const child = startCli(['recv', '--pipe', fifo, '--count', '2', '--timeout', '10000']);
      try {
        expect(await waitForLine(child, /^x$/)).to.equal('x');
      } finally {
        fs.closeSync(holder);
      }
      expect(await waitForExit(child)).to.deep.equal([1, null]);
    });
  });

  describe('serve', function () {
    it('prints a bash line that talks to it, and stops on SIGTERM with exit 0 and no pipes left', async function () {
      this.timeout(20000);
      const serveDir = path.join(dir, 'srv');
      const child = startCli(['serve', '--dir', serveDir]);
      try {
        const line = (await waitForLine(child, /^ {2}echo hello > /)).trim();
        expect(line).to.equal(`echo hello > ${serveDir}/in && head -n1 ${serveDir}/out`);
        expect(fs.statSync(serveDir).mode & 0o777).to.equal(0o700);
        for (let i = 0; i < 3; i++) expect(await bash(line)).to.deep.equal({ code: 0, stdout: 'hello\n' });

        // the one-shot helpers against the live server
        expect((await runCli(['send', '--pipe', `${serveDir}/in`, 'a', 'b'])).code).to.equal(0);
        expect(await runCli(['recv', '--pipe', `${serveDir}/out`, '-n', '2'])).to.include({ code: 0, stdout: 'a\nb\n' });

        // a second server on the same pipes is refused
        const second = await runCli(['serve', '--dir', serveDir]);
        expect(second.code).to.equal(1);
        expect(second.stderr).to.contain('already reading');

        child.kill('SIGTERM');
        expect(await waitForExit(child)).to.deep.equal([0, null]);
        expect(fs.existsSync(`${serveDir}/in`)).to.equal(false);
        expect(fs.existsSync(`${serveDir}/out`)).to.equal(false);
        expect(fs.existsSync(serveDir)).to.equal(false);
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('uses $TMPDIR/pipe-io-server-$UID by default and stops on SIGINT', async function () {
      this.timeout(20000);
      const child = startCli(['serve'], { env: { ...process.env, TMPDIR: dir } });
      try {
        const expected = path.join(dir, `pipe-io-server-${process.getuid?.()}`);
        const inLine = await waitForLine(child, /in pipe/);
        expect(inLine).to.contain(path.join(expected, 'in'));
        expect(await bash(`echo hi > ${expected}/in && head -n1 ${expected}/out`)).to.deep.equal({ code: 0, stdout: 'hi\n' });
        child.kill('SIGINT');
        expect(await waitForExit(child)).to.deep.equal([0, null]);
        expect(fs.existsSync(expected)).to.equal(false);
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('refuses a path that is not a FIFO (exit 5)', async function () {
      fs.writeFileSync(path.join(dir, 'in'), 'data');
      const r = await runCli(['serve', '--in', path.join(dir, 'in'), '--out', path.join(dir, 'out')]);
      expect(r.code).to.equal(5);
      expect(r.stderr).to.contain('not a FIFO');
      expect(fs.readFileSync(path.join(dir, 'in'), 'utf8')).to.equal('data');
    });
  });

  describe('exec', function () {
    it('bridges stdin lines to a bash plugin and its messages to stdout', async function () {
      // stdin stays open: the end is our SIGTERM, not --linger's silence timer (no timing).
      const child = startCli(['exec', '--', 'bash', '-c', BASH_ECHO]);
      const out = collectOutput(child);
      try {
        child.stdin!.write('alpha\nbeta\n');
        await waitFor(() => out.stdout.includes('got: beta\n') && out.stderr.includes('log beta\n'), 'both replies and logs');
        child.kill('SIGTERM');
        expect(await waitForExit(child)).to.deep.equal([0, null]);
        expect(out.stdout).to.equal('got: alpha\ngot: beta\n');
        expect(out.stderr).to.contain('log alpha\nlog beta\n');
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('after end of stdin, ends with 0 once the plugin was silent for --linger ms', async function () {
      const r = await runCli(['exec', '--linger', '200', '--', 'bash', '-c', BASH_ECHO], { input: '' });
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal('');
      expect(r.elapsed).to.be.at.least(200);
    });

    it("exits with the plugin's status when it exits by itself, after printing its last messages", async function () {
      const script = 'read -r l < "$PIPE_IO_READ_PIPE"; { echo "1 $l"; echo "2 $l"; } > "$PIPE_IO_WRITE_PIPE"; exit 3';
      const r = await runCli(['exec', '--', 'bash', '-c', script], { input: 'x\n' });
      expect(r.code).to.equal(3);
      expect(r.stdout).to.equal('1 x\n2 x\n');
    });

    it('restarts a crashing plugin with --restart', async function () {
      const child = startCli(['exec', '--restart', '--', ECHO_PLUGIN]);
      const out = collectOutput(child);
      try {
        child.stdin!.write('crash\nhello\n');
        await waitFor(() => /^echo: hello$/m.test(out.stdout), 'the restarted plugin to answer', 10000);
        expect(out.stderr).to.contain('restart 1');
        child.kill('SIGTERM');
        expect(await waitForExit(child)).to.deep.equal([0, null]);
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('exits 127 for a command that does not exist', async function () {
      const r = await runCli(['exec', '--', path.join(dir, 'no-such-plugin')]);
      expect(r.code).to.equal(127);
      expect(r.stderr).to.contain('command not found');
    });

    it('stops the plugin and exits 0 on SIGTERM', async function () {
      const child = startCli(['exec', '--', ECHO_PLUGIN]);
      try {
        const pluginPid = Number((await waitForLine(child, /^ready \d+$/)).split(' ')[1]);
        expect(processExists(pluginPid)).to.equal(true);
        child.kill('SIGTERM');
        expect(await waitForExit(child)).to.deep.equal([0, null]);
        expect(processExists(pluginPid)).to.equal(false);
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
});
