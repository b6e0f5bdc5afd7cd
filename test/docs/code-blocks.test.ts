/**
 * Every code block of README.md and docs/*.md that is meant to run is
 * type-checked, parsed or run (the convention is at the top of
 * markdown-blocks.ts): a snippet that no longer compiles against lib/, or a
 * shell line that no longer parses, fails here.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildOnce } from '../cli/run-cli';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';
import { PYTHON, pythonMissing } from '../fixtures/python-env';
import { extractBlocks, infoProblem, markdownFiles, where, type CodeBlock } from './markdown-blocks';

const REPO = path.resolve(__dirname, '..', '..');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const RUN_TIMEOUT_MS = 60_000;

const files = markdownFiles(REPO);
const blocks = files.flatMap((f) => extractBlocks(REPO, f));
const has = (b: CodeBlock, word: string): boolean => b.modifiers.includes(word);

/** A TypeScript file made of one `ts` block and the `ts continued` blocks after it. */
interface Unit {
  name: string;
  parts: Array<{ block: CodeBlock; firstLine: number }>;
  text: string;
  lines: number;
}

function tsUnits(): Unit[] {
  const units: Unit[] = [];
  const last = new Map<string, Unit>();
  for (const b of blocks) {
    if (b.lang !== 'ts' || has(b, 'fragment')) continue;
    let unit = has(b, 'continued') ? last.get(b.file) : undefined;
    if (has(b, 'continued') && !unit) throw new Error(`${where(b)}: "ts continued" with no ts block before it`);
    if (!unit) {
      unit = { name: `${b.file.replace(/[^\w]/g, '_')}_${b.line}.ts`, parts: [], text: '', lines: 0 };
      units.push(unit);
      last.set(b.file, unit);
    }
    unit.parts.push({ block: b, firstLine: unit.lines + 1 });
    unit.text += `${b.code}\n`;
    unit.lines += b.code.split('\n').length;
  }
  return units;
}

/** The markdown location of line `line` (1-based) of a unit. */
function locate(unit: Unit, line: number): string {
  const part = [...unit.parts].reverse().find((p) => p.firstLine <= line) ?? unit.parts[0]!;
  return where(part.block, line - part.firstLine);
}

/**
 * Packages the docs' blocks provide to each other: a unit whose first line is a
 * comment naming a scoped package (`// @acme/math-contract`) is what another
 * block's `import ... from '@acme/math-contract'` resolves to.
 */
function packagePaths(dir: string, units: Unit[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const u of units) {
    const m = /^\/\/ (@[\w-]+\/[\w-]+)\s*$/.exec(u.text.split('\n')[0] ?? '');
    if (m) out[m[1]!] = [path.join(dir, u.name)];
  }
  return out;
}

/** Type-checks every unit in one tsc program; returns the errors, located in the markdown. */
function typeCheck(dir: string, units: Unit[]): string[] {
  for (const u of units) fs.writeFileSync(path.join(dir, u.name), `${u.text}export {};\n`);
  const tsconfig = {
    compilerOptions: {
      strict: true,
      target: 'es2022',
      module: 'esnext', // top-level await, as in an ES module
      moduleResolution: 'bundler',
      lib: ['es2022', 'esnext.disposable'],
      types: ['node'],
      noEmit: true,
      skipLibCheck: true,
      paths: { 'pipe-io-server': [path.join(REPO, 'lib', 'index.ts')], ...packagePaths(dir, units) },
    },
    files: units.map((u) => u.name),
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  const r = spawnSync(process.execPath, [TSC, '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
  const errors: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(line);
    if (!m) {
      if (line.trim()) errors.push(line);
      continue;
    }
    const unit = units.find((u) => path.resolve(dir, m[1]!) === path.join(dir, u.name));
    errors.push(unit ? `${locate(unit, Number(m[2]))}: ${m[4]}` : line);
  }
  if (r.status !== 0 && errors.length === 0) errors.push(`tsc failed (${r.status}): ${r.stderr}`);
  return errors;
}

function failure(b: CodeBlock, what: string, r: ReturnType<typeof spawnSync>): string | undefined {
  if (r.status === 0 && !r.error) return undefined;
  const out = `${String(r.stdout ?? '')}${String(r.stderr ?? '')}`.trim();
  return `${where(b)} (${b.info}): ${what} failed (${r.error?.message ?? r.status ?? r.signal}): ${out}`;
}

/**
 * Runs a `bash run` block in its own process group; whatever it leaves running
 * (a background hub, say) is killed with the group. Resolves with a failure
 * message, or undefined when it exited 0 within RUN_TIMEOUT_MS.
 */
function runBash(b: CodeBlock, cwd: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', b.code], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const killGroup = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone
      }
    };
    const timer = setTimeout(killGroup, RUN_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      killGroup();
      resolve(code === 0 ? undefined : `${where(b)} (${b.info}): exited ${code ?? signal}${signal ? ` (timeout ${RUN_TIMEOUT_MS} ms?)` : ''}: ${out.trim()}`);
    });
  });
}

/** A shim directory with `pipe-io-server` running dist/cli/main.js, for `bash run` blocks. */
function cliShim(dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'pipe-io-server'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(REPO, 'dist', 'cli', 'main.js')}" "$@"\n`, { mode: 0o755 });
  return bin;
}

describe('docs code blocks (README.md, docs/*.md)', function () {
  let dir: string;
  before(() => {
    fs.mkdirSync(path.join(REPO, '.tmp'), { recursive: true });
    // Inside the repo, so the snippets resolve node_modules (and @types/node) as lib/ does.
    dir = fs.mkdtempSync(path.join(REPO, '.tmp', 'docs-blocks-'));
  });
  after(() => removeTempDir(dir));

  it('every block says what it is (the convention in test/docs/markdown-blocks.ts)', () => {
    const problems = blocks.flatMap((b) => {
      const p = infoProblem(b);
      return p ? [`${where(b)}: ${p}`] : [];
    });
    expect(problems, problems.join('\n')).to.deep.equal([]);
    expect(blocks.length).to.be.greaterThan(30);
  });

  it('the type-check finds a broken snippet and names its markdown line (the harness can fail)', function () {
    this.timeout(180_000);
    const block: CodeBlock = {
      file: 'docs/broken.md',
      line: 10,
      info: 'ts',
      lang: 'ts',
      modifiers: [],
      code: "import { HubClient } from 'pipe-io-server';\nconst ch = await new HubClient({ path: '/tmp/h.sock' }).open('math');\nawait ch.addEvent('add', async (msg) => msg.data.a + msg.data.b);",
    };
    const errors = typeCheck(dir, [{ name: 'broken.ts', parts: [{ block, firstLine: 1 }], text: `${block.code}\n`, lines: 3 }]);
    expect(errors.join('\n')).to.match(/^docs\/broken\.md:12: error TS18046: 'msg\.data' is of type 'unknown'/m);
  });

  it('the ts blocks type-check (strict) against lib/', function () {
    this.timeout(180_000); // one tsc program: the snippets and lib/
    const units = tsUnits();
    expect(units.length).to.be.greaterThan(10);
    const errors = typeCheck(dir, units);
    expect(errors, `\n${errors.join('\n')}`).to.deep.equal([]);
  });

  it('the js blocks parse as ES modules on this Node', function () {
    this.timeout(30_000);
    const problems = blocks
      .filter((b) => b.lang === 'js' && !has(b, 'fragment'))
      .flatMap((b) => {
        const file = path.join(dir, `block-${b.line}.mjs`);
        fs.writeFileSync(file, b.code);
        return failure(b, 'node --check', spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' })) ?? [];
      });
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('the bash and sh blocks parse (bash -n)', function () {
    this.timeout(30_000);
    const problems = blocks
      .filter((b) => (b.lang === 'bash' || b.lang === 'sh') && !has(b, 'fragment'))
      .flatMap((b) => failure(b, 'bash -n', spawnSync('bash', ['-n'], { input: b.code, encoding: 'utf8' })) ?? []);
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('the "bash run" blocks run and exit 0, with the built CLI as pipe-io-server', async function () {
    this.timeout(blocks.filter((b) => has(b, 'run')).length * RUN_TIMEOUT_MS + 120_000);
    buildOnce();
    const bin = cliShim(dir);
    const problems: string[] = [];
    for (const b of blocks.filter((x) => has(x, 'run'))) {
      const cwd = makeTempDir('pio-docs-run');
      try {
        const p = await runBash(b, cwd, { ...process.env, PATH: `${bin}${path.delimiter}${process.env['PATH'] ?? ''}`, TMPDIR: cwd });
        if (p) problems.push(p);
      } finally {
        removeTempDir(cwd);
      }
    }
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('the python blocks parse', function () {
    const why = pythonMissing();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    const problems = blocks
      .filter((b) => b.lang === 'python' && !has(b, 'fragment'))
      .flatMap((b) => failure(b, 'ast.parse', spawnSync(PYTHON, ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: b.code, encoding: 'utf8' })) ?? []);
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('the json blocks parse', () => {
    const problems = blocks
      .filter((b) => b.lang === 'json' && !has(b, 'fragment'))
      .flatMap((b) => {
        try {
          JSON.parse(b.code);
          return [];
        } catch (err) {
          return [`${where(b)}: ${(err as Error).message}`];
        }
      });
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });
});
