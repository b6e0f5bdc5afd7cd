/**
 * Typed contracts are checked by tsc: the type-level files in ./types must
 * compile (so every `@ts-expect-error` line is an error, and every type
 * equality holds), and each of those lines must fail on its own when its
 * directive is removed. The built declarations must compile for a consumer
 * that has zod but not @standard-schema/spec, under TypeScript 5.9 (and 7.x
 * when PIO_TSC7 names its tsc).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as ts from 'typescript';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '..', '..');
const TYPES = path.join(__dirname, 'types');
const FILES = fs.readdirSync(TYPES).filter((f) => f.endsWith('.types.ts')).map((f) => path.join(TYPES, f));

function options(): ts.CompilerOptions {
  const cfg = ts.readConfigFile(path.join(REPO, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  return { ...ts.parseJsonConfigFileContent(cfg.config, ts.sys, REPO).options, noEmit: true };
}

/** Diagnostics of `files`, with `replace` serving other contents for some of them. */
function diagnose(files: string[], replace: Map<string, string> = new Map()): ts.Diagnostic[] {
  const opts = options();
  const host = ts.createCompilerHost(opts);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => {
    const text = replace.get(path.resolve(name));
    return text !== undefined ? ts.createSourceFile(name, text, lang) : read(name, lang, ...rest);
  };
  const program = ts.createProgram(files, opts, host);
  return [...ts.getPreEmitDiagnostics(program)];
}

function describeDiag(d: ts.Diagnostic): string {
  const where = d.file && d.start !== undefined ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
  return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
}

describe('typed contracts at compile time', function () {
  this.timeout(120000); // slow: whole programs with zod's types, several times

  it('the type-level tests compile: every @ts-expect-error is an error, every equality holds', () => {
    const diags = diagnose(FILES);
    expect(diags.map(describeDiag)).to.deep.equal([]);
  });

  it('each @ts-expect-error line is an error of its own once the directive is removed', () => {
    const directive = /^\s*\/\/ @ts-expect-error/;
    const expected = new Map<string, number[]>();
    const stripped = new Map<string, string>();
    for (const file of FILES) {
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      expected.set(path.resolve(file), lines.flatMap((l, i) => (directive.test(l) ? [i + 2] : []))); // the line after, 1-based
      stripped.set(path.resolve(file), lines.map((l) => (directive.test(l) ? '//' : l)).join('\n'));
    }
    const diags = diagnose(FILES, stripped);
    for (const [file, lines] of expected) {
      const mine = diags.filter((d) => d.file && path.resolve(d.file.fileName) === file);
      const failing = new Set(mine.map((d) => d.file!.getLineAndCharacterOfPosition(d.start!).line + 1));
      expect(lines.filter((l) => !failing.has(l)), `${path.basename(file)}: lines that compile without their directive`).to.deep.equal([]);
      expect(failing.size, `${path.basename(file)}: errors beyond the marked lines: ${mine.map(describeDiag).join('; ')}`).to.equal(lines.length);
    }
  });

  describe('the published declarations, as a consumer sees them', () => {
    let dir: string | undefined;
    before(async () => {
      dir = makeTempDir('pio-typed');
      const pkg = path.join(dir, 'node_modules', 'pipe-io-server');
      fs.mkdirSync(pkg, { recursive: true });
      fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'pipe-io-server', version: '0.0.0', types: 'dist/index.d.ts', main: 'dist/index.js' }));
      const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
      await run(process.execPath, [tsc, '-p', path.join(REPO, 'tsconfig.build.json'), '--emitDeclarationOnly', '--declarationMap', 'false', '--outDir', path.join(pkg, 'dist')]);
      fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
      fs.symlinkSync(path.join(REPO, 'node_modules', 'zod'), path.join(dir, 'node_modules', 'zod'));
      fs.symlinkSync(path.join(REPO, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'));
      fs.writeFileSync(path.join(dir, 'consumer.ts'), CONSUMER);
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], skipLibCheck: false },
        files: ['consumer.ts'],
      }));
    });
    after(() => removeTempDir(dir));

    it('name no package a consumer may lack (@standard-schema/spec, ajv, zod, ...)', () => {
      const pkgDist = path.join(dir!, 'node_modules', 'pipe-io-server', 'dist');
      const offenders: string[] = [];
      const walk = (d: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (/from '(@standard-schema|ajv|zod|valibot|arktype)/.test(fs.readFileSync(p, 'utf8'))) offenders.push(p);
        }
      };
      walk(pkgDist);
      expect(offenders).to.deep.equal([]);
    });

    it('compile under TypeScript 5.9, with the misspelling still refused', async () => {
      const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
      await run(process.execPath, [tsc, '-p', dir!], { cwd: dir });
    });

    it('compile under TypeScript 7.x (PIO_TSC7)', async function () {
      const tsc7 = process.env['PIO_TSC7'];
      if (!tsc7) this.skip(); // set PIO_TSC7=/path/to/typescript@7/bin/tsc to run it (not a dependency: its bin would shadow tsc 5.9)
      const { stdout } = await run(process.execPath, [tsc7!, '--version']);
      expect(stdout).to.match(/^Version 7\./);
      await run(process.execPath, [tsc7!, '-p', dir!], { cwd: dir });
    });
  });
});

/** A caller's package: a contract with zod, a typed channel, an implementation. */
const CONSUMER = `
import { z } from 'zod';
import { defineContract, implement, jsonSchema, typedChannel, type HubChannel, type PipeIOError } from 'pipe-io-server';

export const contract = defineContract({
  events: {
    add: { parameters: z.object({ a: z.number(), b: z.number() }), returns: z.number() },
    count: { parameters: z.object({ n: z.number() }), returns: z.number(), stream: true },
    norm: { parameters: jsonSchema<{ x: number }>({ type: 'object', properties: { x: { type: 'number' } }, required: ['x'] }) },
  },
  topics: { news: { payload: z.object({ title: z.string() }) } },
});

export async function use(ch: HubChannel): Promise<number> {
  const math = typedChannel(ch, contract);
  const n: number = await math.call('add', { a: 1, b: 2 });
  for await (const i of math.stream('count', { n })) void (i satisfies number);
  await math.call('norm', { x: 1 });
  // @ts-expect-error misspelt
  await math.call('ad', { a: 1, b: 2 });
  // @ts-expect-error wrong field
  await math.call('add', { a: 1, c: 2 });
  await math.subscribe('news', (news) => void (news.title satisfies string));
  try { await math.call('add', { a: 1, b: 2 }); } catch (err) { void (err as PipeIOError).issues?.[0]?.path; }
  const app = implement(contract, { add: ({ a, b }) => a + b, async *count({ n }) { yield n; }, norm: ({ x }) => x });
  // @ts-expect-error a missing event
  implement(contract, { add: ({ a, b }) => a + b });
  await app.register(ch);
  return n;
}
`;
