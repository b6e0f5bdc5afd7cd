/**
 * The provisioning's report, from a real run on a PATH that lacks the tests'
 * programs: one message naming each missing program and the command that
 * installs it, before anything else; --strict fails.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';
import { satisfies } from './python-venv';
import { PYTHON_PACKAGES, TOOLS } from './requirements';

const REPO = path.resolve(__dirname, '..', '..');

describe('test provisioning', () => {
  let dir: string;
  before(() => {
    dir = makeTempDir('pio-prov');
  });
  after(() => removeTempDir(dir));

  it('reports every missing program once, with its apt-get line, and --strict exits 1', function () {
    this.timeout(60000);
    // A PATH with node alone: every tool the sbin fallback does not find is missing.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const sbin = ['/usr/local/sbin', '/usr/sbin', '/sbin'];
    const expected = TOOLS.filter((t) => !sbin.some((d) => fs.existsSync(path.join(d, t.name))));
    expect(expected.map((t) => t.name)).to.include.members(['mkfifo', 'python3', 'jq']);
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'test/setup/provision.ts', '--install', '--strict'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { PATH: bin, HOME: process.env['HOME'], PIO_NO_INSTALL: '1', PIO_PYTHON: path.join(dir, 'no-such-python') },
    });
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stdout).to.equal('');
    const lines = r.stderr.split('\n');
    expect(lines.filter((l) => l.includes('missing (the tests that need it are skipped')), r.stderr).to.have.length(1);
    for (const tool of expected) expect(lines.filter((l) => l.startsWith(`  ${tool.name} `)), `${tool.name} named once`).to.have.length(1);
    const install = lines.find((l) => l.startsWith('  install them: apt-get install ') || l.startsWith('  install them: sudo apt-get install '));
    expect(install, r.stderr).to.not.equal(undefined);
    for (const tool of expected) expect(install!.split(' ')).to.include(tool.apt);
    expect(install).to.include('not installed by this run: PIO_NO_INSTALL is set');
    expect(r.stderr).to.include(`no-such-python does not run`);
    expect(r.stderr).to.match(/--strict: a requirement is missing/);
  });

  it('accepts a Python package only at the version its pip requirement asks for', () => {
    const pydantic = PYTHON_PACKAGES.find((p) => p.module === 'pydantic')!;
    expect(satisfies(pydantic, '1.10.4'), "Debian 12's python3-pydantic").to.equal(false);
    expect(satisfies(pydantic, '2.0')).to.equal(true);
    expect(satisfies(pydantic, '2.13.4')).to.equal(true);
    expect(satisfies(pydantic, null)).to.equal(false);
    const msgpack = PYTHON_PACKAGES.find((p) => p.module === 'msgpack')!;
    expect(satisfies(msgpack, '1.0.3'), "Debian 12's python3-msgpack").to.equal(true);
    expect(satisfies(msgpack, '0.6.2')).to.equal(false);
  });
});
