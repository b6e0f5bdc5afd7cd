/**
 * A hub socket path whose directory is missing is refused with a coded error,
 * and nothing is created on the way (the docs' old /run/user/1000/app/hub.sock,
 * run as root, created /run/user/1000 with root as owner).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PipeIOError } from '../../lib/errors';
import { Hub } from '../../lib/hub/server/hub';
import { buildOnce, runCli } from '../cli/run-cli';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';

describe('Hub socket directory', () => {
  let dir: string;
  const hubs: Hub[] = [];
  beforeEach(() => {
    dir = makeTempDir('hub-dir');
  });
  afterEach(async () => {
    await Promise.all(hubs.splice(0).map((h) => h.stop()));
    removeTempDir(dir);
  });

  it('listen({ path }) refuses a missing directory with PIPEIO_ERR_NO_DIRECTORY, creates nothing, and keeps working', async () => {
    const hub = new Hub({ serverId: 'dirs' });
    hubs.push(hub);
    const missing = path.join(dir, 'user', 'app');
    const err = (await hub.listen({ path: path.join(missing, 'hub.sock') }).catch((e: unknown) => e)) as PipeIOError;
    expect(err.code).to.equal('PIPEIO_ERR_NO_DIRECTORY');
    expect(err.path).to.equal(missing);
    expect(err.message).to.include(`mkdir -m 700 ${missing}`);
    expect(fs.readdirSync(dir), 'no directory was created').to.deep.equal([]);
    // The same hub listens on a path whose directory exists.
    const ok = path.join(dir, 'hub.sock');
    expect(await hub.listen({ path: ok })).to.deep.equal({ path: ok });
    expect(fs.lstatSync(ok).isSocket()).to.equal(true);
  });

  it('refuses a path whose "directory" is a file, leaving the file alone', async () => {
    const hub = new Hub({ serverId: 'dirs' });
    hubs.push(hub);
    fs.writeFileSync(path.join(dir, 'file'), 'precious');
    const err = (await hub.listen({ path: path.join(dir, 'file', 'hub.sock') }).catch((e: unknown) => e)) as PipeIOError;
    expect(err.code).to.equal('PIPEIO_ERR_NO_DIRECTORY');
    expect(fs.readFileSync(path.join(dir, 'file'), 'utf8')).to.equal('precious');
  });

  it('hub --socket in a missing directory exits 1 with the code and creates nothing', async function () {
    this.timeout(120000); // builds dist/ if lib/ changed
    buildOnce();
    const missing = path.join(dir, 'user', 'app');
    const r = await runCli(['hub', '--socket', path.join(missing, 'hub.sock')]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.include('PIPEIO_ERR_NO_DIRECTORY');
    expect(r.stderr).to.include(`mkdir -m 700 ${missing}`);
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });
});
