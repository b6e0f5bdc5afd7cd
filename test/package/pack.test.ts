import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '..', '..');
/** The TypeScript of the repo (devDependency) and the current major, fetched from the npm registry at test time. */
const TS_REPO = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const TS_NEXT = 'typescript@^7.0.2';
/** The @types/node the repo builds with, so the consumer sees what we compile against. */
const TYPES_NODE = `@types/node@${(JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as { version: string }).version}`;
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'];

/** A strict NodeNext consumer that touches most of the public types: ESM file. */
const CONSUMER_ESM = `
import { Hub, HubClient, MultiPipeServer, Pidfile, PipeIOError, PipeIOServer, UnixClient, type PipeIOErrorCode } from 'pipe-io-server';

const code: PipeIOErrorCode = 'PIPEIO_ERR_CLOSED';
await using server = new PipeIOServer('/tmp/consumer.in', '/tmp/consumer.out');
server.handleMessage = (message: Buffer) => server.sendMessage(message.toString().toUpperCase());
server.on('error', (err: PipeIOError) => console.error(err.code === code, err.path));
const multi = new MultiPipeServer('/tmp/consumer-pipes');
multi.handleMessage = (name: string, message: Buffer) => void multi.send(name, message);
const hub = new Hub({ serverId: 'consumer' });
const client = new HubClient({ path: '/tmp/consumer.sock' });
const channel = await client.open('math');
await channel.addEvent('add', async (msg) => {
  const { a, b } = msg.data as { a: number; b: number };
  return a + b;
});
const sum: unknown = (await channel.call('add', { a: 1, b: 2 })).data;
const lock: Pidfile = await Pidfile.acquire('/tmp/consumer.pid');
const unix = new UnixClient('/tmp/consumer-ctl.sock');
void sum; void lock; void unix; void hub;
`;

/** The same package from a CommonJS file of the same project (.cts: require() semantics). */
const CONSUMER_CJS = `
import { PipeIOServer, type PipeIOErrorCode } from 'pipe-io-server';
const s: PipeIOServer = new PipeIOServer('a', 'b');
const c: PipeIOErrorCode = 'PIPEIO_ERR_CLOSED';
void s; void c;
export {};
`;

/** The published tarball, installed into an empty project, works from CJS, ESM and TypeScript. */
describe('npm package', () => {
  let dir: string;
  let tsNext: string;
  before(async function () {
    this.timeout(300000); // npm pack, then npm install (from the npm cache, else the registry) twice
    dir = makeTempDir('pio-pack');
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: REPO });
    const tarball = path.join(dir, stdout.trim().split('\n').pop()!);
    const project = path.join(dir, 'app');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    // msgpackr comes from the npm cache (npm ci filled it) or the registry.
    await run('npm', [...NPM_INSTALL, tarball, TYPES_NODE], { cwd: project });
    const ts = path.join(dir, 'ts-next');
    fs.mkdirSync(ts);
    fs.writeFileSync(path.join(ts, 'package.json'), JSON.stringify({ name: 'ts-next', version: '1.0.0', private: true }));
    await run('npm', [...NPM_INSTALL, TS_NEXT], { cwd: ts });
    tsNext = path.join(ts, 'node_modules', 'typescript', 'bin', 'tsc');
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

  it('ships what it refers to: the sources of its source maps, the docs its --help and README name', () => {
    const pkg = path.join(app(), 'node_modules', 'pipe-io-server');
    const files = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    const shipped = files(pkg);
    const maps = shipped.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).to.be.greaterThan(50);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(fs.readFileSync(map, 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> };
      sources.forEach((source, i) => {
        const there = fs.existsSync(path.resolve(path.dirname(map), source));
        expect(there || typeof sourcesContent?.[i] === 'string', `${path.relative(pkg, map)}: ${source} neither shipped nor inlined`).to.equal(true);
      });
    }
    const cli = shipped.filter((f) => /dist\/cli\/.*\.js$/.test(f)).map((f) => fs.readFileSync(f, 'utf8'));
    const readme = fs.readFileSync(path.join(pkg, 'README.md'), 'utf8');
    const named = new Set([...cli, readme].flatMap((text) => [...text.matchAll(/\bdocs\/[\w-]+\.md/g)].map((m) => m[0])));
    expect(named.size).to.be.greaterThan(5);
    for (const doc of named) expect(fs.existsSync(path.join(pkg, doc)), `${doc} is named but not shipped`).to.equal(true);
    expect(shipped.some((f) => f.endsWith('.tsbuildinfo')), 'no build cache in the package').to.equal(false);
  });

  /** Type-checks the consumer with `tsc` (a path) under `types` (undefined: the compiler's default). */
  async function typeCheck(tsc: string, types: string[] | undefined): Promise<string> {
    const project = app();
    fs.writeFileSync(path.join(project, 'index.ts'), CONSUMER_ESM);
    fs.writeFileSync(path.join(project, 'legacy.cts'), CONSUMER_CJS);
    const compilerOptions = {
      strict: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      lib: ['es2022', 'esnext.disposable'],
      skipLibCheck: false, // our .d.ts files are checked too
      noEmit: true,
      ...(types ? { types } : {}),
    };
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['index.ts', 'legacy.cts'] }));
    const version = (await run(process.execPath, [tsc, '--version'])).stdout.trim();
    const r = await run(process.execPath, [tsc, '-p', project], { cwd: project }).catch((err: { stdout?: string; code?: number }) => err);
    expect(r.stdout, `${version}, types ${JSON.stringify(types)}`).to.equal('');
    return version;
  }

  for (const [label, which] of [
    ['the repo TypeScript (5.9)', () => TS_REPO],
    [`the current TypeScript (${TS_NEXT})`, () => tsNext],
  ] as const) {
    describe(`types, for a strict NodeNext consumer with ${label}`, function () {
      this.timeout(120000);

      it('compile with "types": ["node"], as the README says', async () => {
        expect(await typeCheck(which(), ['node'])).to.match(/^Version \d/);
      });

      it('compile without "types" too: our .d.ts references @types/node itself', async () => {
        await typeCheck(which(), undefined);
      });
    });
  }

  it('the TypeScript the second compiler is, is 7 or later', async function () {
    this.timeout(30000);
    const { stdout } = await run(process.execPath, [tsNext, '--version']);
    expect(Number(/Version (\d+)/.exec(stdout)?.[1])).to.be.at.least(7);
  });
});
