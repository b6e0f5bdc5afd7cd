/**
 * Starts a worker_thread from an entry file next to the caller, in both ways
 * this package runs:
 *
 * - compiled: `<dir>/<name>.js` exists -> `new Worker(path)`, as piscina does;
 * - from TypeScript sources under ts-node (tests run `lib/*.ts`, where no .js
 *   exists): the main thread's ts-node instance compiles the entry file and
 *   every relative module it requires (already type-checked and cached here),
 *   and a small eval bootstrap installs those texts as the worker's `.ts`
 *   loader. The worker never loads TypeScript itself (that costs ~3 s per
 *   worker on this machine). Without a ts-node instance in this thread it
 *   falls back to `ts-node.register({ transpileOnly: true })` in the worker.
 *
 * Reusable by any engine: `loadWorker(__dirname, 'io-worker', options)`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

interface TsNodeService {
  compile(code: string, fileName: string): string;
}

/** Where ts-node's `register()` leaves its service on `process`. */
const kTsNodeInstance = Symbol.for('ts-node.register.instance');

/** Compiled texts by absolute .ts path (a module's code does not change while the process runs). */
const compiledCache = new Map<string, string>();

/**
 * Creates a Worker running `<dir>/<baseName>.js`, or `<dir>/<baseName>.ts`
 * when no .js file is there (see the file comment).
 *
 * @param dir       directory of the entry file (usually the caller's `__dirname`)
 * @param baseName  file name without extension, e.g. `'io-worker'`
 * @param options   passed to `new Worker` (`eval` is managed here)
 * @throws Error if neither file exists
 */
export function loadWorker(dir: string, baseName: string, options: WorkerOptions = {}): Worker {
  const jsFile = path.join(dir, `${baseName}.js`);
  if (fs.existsSync(jsFile)) return new Worker(jsFile, { ...options, eval: false });
  const tsFile = path.join(dir, `${baseName}.ts`);
  if (!fs.existsSync(tsFile)) throw new Error(`worker entry ${jsFile} not found (nor ${tsFile})`);
  const service = (process as unknown as Record<symbol, TsNodeService | undefined>)[kTsNodeInstance];
  const bootstrap = service ? precompiledBootstrap(service, tsFile) : tsNodeBootstrap(tsFile);
  return new Worker(bootstrap, { ...options, eval: true });
}

function tsNodeBootstrap(tsFile: string): string {
  const tsNode = require.resolve('ts-node'); // resolved here: the worker's cwd may be anywhere
  return (
    `require(${JSON.stringify(tsNode)}).register({ transpileOnly: true });\n` +
    `require(${JSON.stringify(tsFile)});\n`
  );
}

function precompiledBootstrap(service: TsNodeService, entry: string): string {
  const modules: Record<string, string> = {};
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop() as string;
    if (file in modules) continue;
    let js = compiledCache.get(file);
    if (js === undefined) {
      js = service.compile(fs.readFileSync(file, 'utf8'), file);
      compiledCache.set(file, js);
    }
    modules[file] = js;
    // relative requires of the compiled CommonJS text; type-only imports are gone already
    for (const m of js.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) {
      const base = path.resolve(path.dirname(file), m[1]);
      const found = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
      if (found) todo.push(found);
    }
  }
  return (
    `const modules = ${JSON.stringify(modules)};\n` +
    `require.extensions['.ts'] = function (module, filename) {\n` +
    `  const js = modules[filename];\n` +
    `  if (js === undefined) throw new Error('worker-loader: ' + filename + ' was not precompiled');\n` +
    `  module._compile(js, filename);\n` +
    `};\n` +
    `require(${JSON.stringify(entry)});\n`
  );
}
