import { expect } from 'chai';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import { PipeIOError } from '../../lib/errors';
import { UnixClient } from '../../lib/socket/unix-client';
import { UnixServer } from '../../lib/socket/unix-server';
import { killChild, makeTempDir, removeTempDir, waitForLine } from '../fixtures/helpers';
import { PYTHON } from '../fixtures/python-env';
import { needsTools } from '../fixtures/tools';

const PEER = path.join(__dirname, '..', 'fixtures', 'python', 'jsonline_peer.py');

function runPythonClient(sockPath: string, script: Array<[string, boolean]>, extra: string[] = []): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [PEER, 'client', sockPath, JSON.stringify(script), ...extra], { timeout: 10000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python client failed: ${err.message} ${stderr}`));
      else resolve(JSON.parse(stdout) as unknown[]);
    });
  });
}

describe('wire compatibility with a Python (codechu-ipc protocol) peer', function () {
  this.timeout(15000); // python processes
  before(needsTools('python3'));
  let dir: string;
  let sockPath: string;

  beforeEach(() => {
    dir = makeTempDir();
    sockPath = path.join(dir, 'py.sock');
  });
  afterEach(() => removeTempDir(dir));

  describe('Python client -> our UnixServer', () => {
    let server: UnixServer;
    beforeEach(async () => {
      server = new UnixServer(sockPath, (req) => {
        const r = req as { op?: string };
        if (r.op === 'fail') throw new TypeError('bad input');
        if (r.op === 'notify') return undefined;
        return { got: req };
      });
      await server.start();
    });
    afterEach(() => server.stop());

    const script: Array<[string, boolean]> = [
      ['{"op": "echo", "n": 1}', true],
      ['{"op": "notify"}', false],
      ['{"op": "fail"}', true],
      ['this is not json', true],
      ['{"op": "echo", "text": "caf\\u00e9 \\u4e2d"}', true],
    ];
    const expected = [
      { got: { op: 'echo', n: 1 } },
      null,
      { error: 'bad input', type: 'TypeError' },
      'invalid-json',
      { got: { op: 'echo', text: 'caf\u00e9 \u4e2d' } },
    ];

    function check(replies: unknown[]): void {
      expect(replies).to.have.length(expected.length);
      replies.forEach((reply, i) => {
        if (expected[i] === 'invalid-json') {
          expect(reply).to.include({ type: 'JSONDecodeError' });
          expect((reply as { error: unknown }).error).to.be.a('string');
        } else {
          expect(reply).to.deep.equal(expected[i]);
        }
      });
    }

    it('several requests on one connection', async () => {
      check(await runPythonClient(sockPath, script));
    });

    it('one connection per request', async () => {
      check(await runPythonClient(sockPath, script, ['--one-per-connection']));
    });
  });

  describe('our UnixClient -> Python server', () => {
    let peer: ChildProcess;
    beforeEach(async () => {
      peer = spawn(PYTHON, [PEER, 'server', sockPath], { stdio: ['pipe', 'pipe', 'pipe'] });
      await waitForLine(peer, /^ready$/);
    });
    afterEach(() => killChild(peer));

    it('requests, pipelined requests, errors and notifications', async () => {
      await using client = new UnixClient(sockPath);
      expect(await client.request({ op: 'echo', n: 1 })).to.deep.equal({ op: 'echo', n: 1 });
      const many = await Promise.all(Array.from({ length: 200 }, (_, i) => client.request({ op: 'echo', i })));
      expect(many).to.deep.equal(Array.from({ length: 200 }, (_, i) => ({ op: 'echo', i })));
      const err = await client.request({ op: 'fail' }).then(
        () => expect.fail('should reject'),
        (e: PipeIOError) => e,
      );
      expect(err.code).to.equal('PIPEIO_ERR_REMOTE');
      expect((err.cause as Error).name).to.equal('ValueError');
      expect((err.cause as Error).message).to.equal('boom');
      await client.notify({ op: 'notify' });
      await client.notify({ op: 'anything' }); // the Python server replies {"ok": true}: ignored
      expect(await client.request({ op: 'other' })).to.deep.equal({ ok: true });
    });

    it('a request the Python server does not answer times out without poisoning the next', async () => {
      await using client = new UnixClient(sockPath, { timeout: 100 });
      const err = await client.request({ op: 'notify' }).then(
        () => expect.fail('should reject'),
        (e: PipeIOError) => e,
      );
      expect(err.code).to.equal('PIPEIO_ERR_TIMEOUT');
      expect(await client.request({ op: 'echo', after: true }, { timeout: 5000 })).to.deep.equal({ op: 'echo', after: true });
    });
  });
});
