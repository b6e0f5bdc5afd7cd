import { expect } from 'chai';
import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnixClient } from '../../lib/socket/unix-client';
import {
  killChild,
  makeTempDir,
  removeTempDir,
  spawnJs,
  transpileForChildren,
  waitForExit,
  waitForLine,
} from '../fixtures/helpers';

describe('UnixServer in a real process', function () {
  this.timeout(20000); // real child processes
  let dir: string;
  let buildDir: string;
  let fixture: string;
  const children: ChildProcess[] = [];

  before(() => {
    buildDir = makeTempDir('pio-build');
    fixture = transpileForChildren(buildDir, [
      'test/fixtures/socket-server-child.ts',
      'lib/socket/unix-server.ts',
      'lib/socket/bind-unix.ts',
      'lib/socket/server-connection.ts',
      'lib/socket/private-listen.ts',
      'lib/socket/socket-path.ts',
      'lib/socket/error-reply.ts',
      'lib/protocol/json-line.ts',
      'lib/framing/line-splitter.ts',
      'lib/constants.ts',
      'lib/errors.ts',
    ]);
  });
  after(() => removeTempDir(buildDir));

  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await killChild(c);
    removeTempDir(dir);
  });

  function startChild(sockPath: string): ChildProcess {
    const child = spawnJs(fixture, [sockPath]);
    children.push(child);
    return child;
  }

  it('restarts on the same path after the server was killed with SIGKILL', async () => {
    const sockPath = path.join(dir, 'run', 'ctl.sock');
    const first = startChild(sockPath);
    await waitForLine(first, /^ready/);
    {
      await using client = new UnixClient(sockPath);
      expect(await client.request('one')).to.deep.equal({ pid: first.pid, echo: 'one' });
    }
    first.kill('SIGKILL');
    expect(await waitForExit(first)).to.deep.equal([null, 'SIGKILL']);
    expect(fs.lstatSync(sockPath).isSocket(), 'the killed server leaves its socket behind').to.equal(true);

    const second = startChild(sockPath);
    await waitForLine(second, /^ready/);
    await using client = new UnixClient(sockPath);
    expect(await client.request('two')).to.deep.equal({ pid: second.pid, echo: 'two' });
  });

  it('a second live server on the path fails with PIPEIO_ERR_ADDRESS_IN_USE; SIGTERM removes the socket', async () => {
    const sockPath = path.join(dir, 'ctl.sock');
    const first = startChild(sockPath);
    await waitForLine(first, /^ready/);
    const second = startChild(sockPath);
    const line = await waitForLine(second, /^failed/);
    expect(line).to.match(/PIPEIO_ERR_ADDRESS_IN_USE/);
    first.kill('SIGTERM');
    expect(await waitForExit(first)).to.deep.equal([0, null]);
    expect(fs.existsSync(sockPath)).to.equal(false);
  });
});
