import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '..', '..');

/** The published tarball, installed into an empty project, works from CJS, ESM and TypeScript. */
describe('npm package', () => {
  let dir: string;
  before(async function () {
    this.timeout(120000); // npm pack + npm install from the local tarball
    dir = makeTempDir('pio-pack');
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: REPO });
    const tarball = path.join(dir, stdout.trim().split('\n').pop()!);
    const project = path.join(dir, 'app');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    // The package has no dependencies: installing the tarball needs no network.
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: project });
  });
  after(() => removeTempDir(dir));

  const app = (): string => path.join(dir, 'app');

  it('works with require()', async () => {
    const { stdout } = await run(
      process.execPath,
      ['-e', "const p = require('pipe-io-server'); console.log(typeof p.PipeIOServer, typeof p.PipeIOError, typeof p.UnixServer)"],
      { cwd: app() },
    );
    expect(stdout.trim()).to.equal('function function function');
  });

  it('works with import and runs a server from the installed copy', async function () {
    this.timeout(30000);
    const script = [
      "import { PipeIOServer } from 'pipe-io-server';",
      "const s = new PipeIOServer('in', 'out');",
      'await s.start();',
      "console.log(s.state);",
      'await s.stop();',
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app() });
    expect(stdout.trim()).to.equal('running');
  });

  it('ships its types', async function () {
    this.timeout(60000);
    fs.writeFileSync(
      path.join(app(), 'check.ts'),
      "import { PipeIOServer, type PipeIOErrorCode } from 'pipe-io-server';\n" +
        "const s: PipeIOServer = new PipeIOServer('a', 'b');\nconst c: PipeIOErrorCode = 'PIPEIO_ERR_CLOSED';\nvoid s; void c;\n",
    );
    const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'commonjs', '--target', 'es2022', '--types', 'node', '--typeRoots', path.join(REPO, 'node_modules', '@types'), 'check.ts'], {
      cwd: app(),
    });
  });
});
