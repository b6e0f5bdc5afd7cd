/**
 * The client libraries beyond what the echo programs use: receive with a
 * timeout (a half-received line is kept), refusing a message with a newline,
 * end of stream, idempotent close -- for bash, Python and C alike -- plus the
 * Python-only pieces: reader/writer halves, str/JSON helpers, iterator style,
 * and the Unix-socket JSON-line SocketClient against UnixServer.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { PipeReaderServer, PipeWriterServer, UnixServer } from '../../lib';
import { pipeIOError } from '../../lib/errors';
import { makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';
import { CLIENTS } from './adapters';
import { killAll, startChild, waitForExit, waitForOutput, type RunningChild } from './child-process';
import { RawPipes } from './raw-pipes';
import { PYTHON } from '../fixtures/python-env';
import { needsTools } from '../fixtures/tools';

const DEADLINE_MS = 10000;
const PYTHON_PATH = { PYTHONPATH: path.join(CLIENTS, 'python') };

const BASH_PROBE = `
source "$PIPE_IO_LIB"
pipe_io_open "$1" "$2" || exit 2
pipe_io_receive m 0.3; (( $? == 3 )) && echo timeout || echo "no timeout"
pipe_io_receive m && echo "got $m" || echo "no message"
pipe_io_send $'a\\nb' 2>/dev/null; (( $? == 2 )) && echo refused || echo "not refused"
pipe_io_send done || echo "send failed"
pipe_io_receive m; (( $? == 1 )) && echo "end of stream" || echo more
pipe_io_close; pipe_io_close
`;

const PYTHON_PROBE = `
import sys
from pipe_io_client import PipeClient, PipeIOTimeout
c = PipeClient(sys.argv[1], sys.argv[2]).open()
try:
    c.receive(0.3)
    print("no timeout", flush=True)
except PipeIOTimeout:
    print("timeout", flush=True)
print("got " + c.receive_str(), flush=True)
try:
    c.send("a\\nb")
    print("not refused")
except ValueError:
    print("refused")
c.send("done")
print("end of stream" if c.receive() is None else "more", flush=True)
c.close(); c.close()
`;

describe('client libraries', function () {
  let dir: string;

  beforeEach(() => {
    dir = makeTempDir('pio-apis');
  });

  afterEach(async () => {
    await killAll();
    removeTempDir(dir);
  });

  describe('receive timeout, newline refusal, end of stream', () => {
    let raw: RawPipes;
    beforeEach(() => (raw = new RawPipes(dir)));
    afterEach(() => raw.close());

    async function probe(start: () => RunningChild): Promise<void> {
      raw.write('par'); // half a message: receive(0.3 s) must time out and keep it
      const child = start();
      await waitForOutput(child, 'stdout', /timeout\n/, DEADLINE_MS);
      raw.write('tial\n');
      expect(await raw.readUntil('done\n')).to.equal('done\n');
      raw.closeWriter(); // end of stream
      const exit = await waitForExit(child, DEADLINE_MS);
      expect(exit, child.stderr()).to.deep.equal({ code: 0, signal: null });
      expect(child.stdout().split('\n')).to.deep.equal(['timeout', 'got partial', 'refused', 'end of stream', '']);
      expect(child.stderr()).to.equal('');
    }

    it('bash: pipe_io_receive TIMEOUT returns 3, pipe_io_send refuses a newline with 2', async () => {
      await probe(() =>
        startChild('bash', ['-c', BASH_PROBE, 'probe', raw.outPipe, raw.inPipe], {
          env: { PIPE_IO_LIB: path.join(CLIENTS, 'bash', 'pipe-io.sh') },
          label: 'bash probe',
        }),
      );
    });

    it('python: receive(timeout) raises PipeIOTimeout, send refuses a newline with ValueError', async function () {
      needsTools('python3').call(this);
      await probe(() => startChild(PYTHON, ['-c', PYTHON_PROBE, raw.outPipe, raw.inPipe], { env: PYTHON_PATH, label: 'python probe' }));
    });

    it('c (asan+ubsan): receive times out with ETIMEDOUT, send refuses a newline with EINVAL', async function () {
      this.timeout(60000); // compiles with sanitizers first
      if (spawnSync('cc', ['--version'], { stdio: 'ignore' }).status !== 0) {
        console.log('      skipping: no C compiler (cc) on PATH');
        this.skip(); // no C compiler: reason printed above
      }
      const binary = path.join(dir, 'api-probe');
      const cc = spawnSync('cc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
        `-I${path.join(CLIENTS, 'c')}`, '-o', binary, path.join(__dirname, 'fixtures', 'api-probe.c'), path.join(CLIENTS, 'c', 'pipe_io.c'), '-pthread'], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).to.equal(0);
      await probe(() => startChild(binary, [raw.outPipe, raw.inPipe], { label: 'c probe' }));
    });
  });

  describe('python: PipeReader / PipeWriter halves', () => {
    before(needsTools('python3'));
    it('talks to PipeWriterServer + PipeReaderServer with JSON, str and iterator helpers', async () => {
      const outServer = new PipeWriterServer(path.join(dir, 'out'));
      const inServer = new PipeReaderServer(path.join(dir, 'in'));
      const got: Buffer[] = [];
      inServer.on('message', (m) => got.push(Buffer.from(m)));
      try {
        await Promise.all([outServer.start(), inServer.start()]);
        const script = `
import sys
from pipe_io_client import PipeReader, PipeWriter
with PipeReader(sys.argv[1]) as reader, PipeWriter(sys.argv[2]) as writer:
    value = reader.receive_json()
    writer.send_json({"n": value["n"] + 1})
    writer.send(reader.receive_str().upper())
    for message in reader:
        writer.send(b"iter:" + message)
    writer.send("bye")
`;
        const child = startChild(PYTHON, ['-c', script, outServer.outPipe, inServer.inPipe], { env: PYTHON_PATH, label: 'python halves' });
        outServer.sendMessage(JSON.stringify({ n: 1 }));
        outServer.sendMessage('h\u00e9llo');
        outServer.sendMessage(Buffer.from([0x78, 0xff])); // non-UTF-8 through the bytes iterator
        await waitFor(() => got.length >= 3, 'three replies', DEADLINE_MS);
        await outServer.stop(); // end of stream ends the iterator
        expect((await waitForExit(child, DEADLINE_MS)).code, child.stderr()).to.equal(0);
        await waitFor(() => got.length >= 4, 'the last reply', DEADLINE_MS);
        expect(got.slice(0, 2).map(String)).to.deep.equal(['{"n":2}', 'H\u00c9LLO']);
        expect(got[2].equals(Buffer.from([...Buffer.from('iter:'), 0x78, 0xff])), `got ${got[2].toString('hex')}`).to.equal(true);
        expect(got[3].toString()).to.equal('bye');
      } finally {
        await Promise.all([outServer.stop(), inServer.stop()]);
      }
    });
  });

  describe('python: SocketClient', () => {
    before(needsTools('python3'));
    it('speaks JSON lines to UnixServer: several requests, no-response requests, error replies', async () => {
      const server = new UnixServer(path.join(dir, 's.sock'), (request) => {
        const { cmd, a, b } = request as { cmd: string; a: number; b: number };
        if (cmd === 'add') return { sum: a + b };
        if (cmd === 'silent') return undefined; // no response line
        throw pipeIOError('PIPEIO_ERR_INVALID_MESSAGE', `unknown cmd ${cmd}`);
      });
      await server.start();
      try {
        const script = `
import sys
from pipe_io_client import SocketClient, RemoteError
with SocketClient(sys.argv[1], timeout=5) as c:
    print(c.request({"cmd": "add", "a": 1, "b": 2})["sum"])
    c.send({"cmd": "silent"})
    print(c.request({"cmd": "add", "a": 2, "b": 2})["sum"])
    try:
        c.request({"cmd": "nope"})
    except RemoteError as err:
        print(err.remote_type, err.remote_code, err.remote_message)
    print(c.request({"cmd": "add", "a": 3, "b": 3})["sum"])
`;
        const child = startChild(PYTHON, ['-c', script, server.path], { env: PYTHON_PATH, label: 'python socket client' });
        const exit = await waitForExit(child, DEADLINE_MS);
        expect(exit, child.stderr()).to.deep.equal({ code: 0, signal: null });
        expect(child.stdout().split('\n')).to.deep.equal(['3', '4', 'PipeIOError PIPEIO_ERR_INVALID_MESSAGE unknown cmd nope', '6', '']);
      } finally {
        await server.stop();
      }
    });
  });
});

