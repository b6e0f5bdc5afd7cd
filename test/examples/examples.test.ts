/**
 * Runs every example in examples/ as a real process, the way its README says
 * (`node -r ts-node/register/transpile-only examples/x/main.ts`, against the
 * built package: each imports 'pipe-io-server'), with a deadline, and checks
 * its output, so the examples cannot rot.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../clients/adapters';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';
import { killAll, startChild, stopChild, waitForExit, waitForOutput } from '../clients/child-process';
import { buildOnce } from '../cli/run-cli';
import { needsTools, toolsMissing } from '../fixtures/tools';

const RUN_DEADLINE_MS = 60000; // ts-node start-up plus the example itself, on a loaded machine

/** Runs examples/<name>/main.ts; resolves with its stdout once it exited 0. */
async function runOnce(name: string): Promise<string> {
  const child = startChild(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join('examples', name, 'main.ts')], {
    cwd: ROOT,
    label: `example ${name}`,
  });
  const exit = await waitForExit(child, RUN_DEADLINE_MS, 'finish');
  expect(exit, `stderr: ${child.stderr()}`).to.deep.equal({ code: 0, signal: null });
  expect(child.stderr()).to.equal('');
  return child.stdout();
}

// Each example takes seconds of ts-node start-up, so all start at once (in the
// first call) and each test awaits its own run.
const runs = new Map<string, Promise<string>>();
/** Each example and the programs it needs (test/setup/requirements.ts): one missing, it is neither started nor tested. */
const EXAMPLES: Record<string, string[]> = {
  'bash-while-read': [],
  'node-host-bash-plugin': [],
  'python-plugin': ['python3'],
  'c-plugin': ['cc'],
  'daemon-socket-pidfile': ['python3'],
  'typed-contract': [],
};

function runExample(name: string): Promise<string> {
  if (runs.size === 0) {
    for (const [example, needs] of Object.entries(EXAMPLES)) {
      if (toolsMissing(...needs)) continue;
      const run = runOnce(example);
      run.catch(() => undefined); // reported by the test that awaits it
      runs.set(example, run);
    }
  }
  return runs.get(name) ?? runOnce(name);
}

function lines(text: string): string[] {
  return text.trimEnd().split('\n');
}

describe('examples', function () {
  this.timeout(RUN_DEADLINE_MS + 5000);

  before(function () {
    this.timeout(120000); // compiles dist/ when lib/ changed: the examples import the built package
    buildOnce();
  });
  after(() => killAll());

  it('bash-while-read: a bash while-read loop answers a PipeIOServer', async () => {
    expect(lines(await runExample('bash-while-read'))).to.deep.equal([
      'reply: HELLO',
      'reply: WHILE READ',
      'reply: BYE',
      'loop.sh exited with code 0',
    ]);
  });

  it('node-host-bash-plugin: a Node host drives a bash plugin found through the env vars', async () => {
    expect(lines(await runExample('node-host-bash-plugin'))).to.deep.equal([
      'add 2 3 -> 5',
      'mul 6 7 -> 42',
      'pow 2 8 -> error: unknown operation "pow"',
      'add x 1 -> error: expected "OP INT INT", got "add x 1"',
      'plugin exited with code 0',
    ]);
  });

  it('python-plugin: a Python plugin answers JSON requests', async function () {
    needsTools(...EXAMPLES['python-plugin']!).call(this);
    expect(lines(await runExample('python-plugin'))).to.deep.equal([
      'reply: {"id":1,"words":5,"longest":"anything"}',
      'reply: {"id":2,"words":0,"longest":""}',
      'reply: {"error":"Expecting value: line 1 column 1 (char 0)","type":"ValueError"}',
      'plugin exited with code 0',
    ]);
  });

  it('c-plugin: a C plugin built with cc answers each message', async function () {
    needsTools(...EXAMPLES['c-plugin']!).call(this);
    expect(lines(await runExample('c-plugin'))).to.deep.equal([
      'built plugin with cc',
      '"stressed" -> "8 desserts"',
      '"level" -> "5 level"',
      '"" -> "0 "',
      'plugin exited with code 0',
    ]);
  });

  it('daemon-socket-pidfile: pidfile, control socket via the Python SocketClient, stop request', async function () {
    needsTools(...EXAMPLES['daemon-socket-pidfile']!).call(this);
    expect(lines(await runExample('daemon-socket-pidfile'))).to.deep.equal([
      'daemon is ready',
      "pidfile holds the daemon's pid: true",
      'second owner: PIPEIO_ERR_PIDFILE_LOCKED, holder is the daemon: true',
      'status: ok',
      'echo: {"text": "hi"} (exit 0)',
      'bogus: error: RangeError: unknown cmd "bogus" (exit 1)',
      'stop: {"stopping": true} (exit 0)',
      'daemon exited with code 0',
      'pidfile removed: true, socket removed: true',
    ]);
  });

  it('daemon-socket-pidfile: SIGTERM stops the daemon with exit 0 and removes its files', async () => {
    const dir = makeTempDir('pio-daemon');
    try {
      const daemon = startChild(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join('examples', 'daemon-socket-pidfile', 'daemon.ts'), dir], {
        cwd: ROOT,
            label: 'daemon.ts',
      });
      await waitForOutput(daemon, 'stdout', /ready pid=\d+/, RUN_DEADLINE_MS);
      expect(fs.readFileSync(path.join(dir, 'daemon.pid'), 'utf8')).to.equal(`${daemon.child.pid}\n`);
      expect(fs.lstatSync(path.join(dir, 'control.sock')).isSocket()).to.equal(true);
      const exit = await stopChild(daemon, 'SIGTERM', RUN_DEADLINE_MS);
      expect(exit, daemon.stderr()).to.deep.equal({ code: 0, signal: null });
      expect(daemon.stdout()).to.contain('stopping (SIGTERM)');
      expect(fs.readdirSync(dir)).to.deep.equal([]); // pidfile and socket removed
    } finally {
      removeTempDir(dir);
    }
  });

  it('typed-contract: a contract package, a service implementing it, a typed caller', async () => {
    expect(lines(await runExample('typed-contract'))).to.deep.equal([
      'add: 3',
      'range: 0 1 2 3',
      'centroid: {"x":1,"y":2}',
      'refused: PIPEIO_ERR_VALIDATION: invalid parameters of math:add: b: Invalid input: expected number, received string',
      'centroid announced by math-service, matches the contract: true',
      'published results: add, range, centroid',
    ]);
  });
});
