/**
 * Starts a worker from its entry file, loaded by path (piscina style).
 *
 * Compiled (dist/), `<base>.js` is loaded directly. Running from the
 * TypeScript sources (tests under ts-node), registering ts-node inside every
 * worker costs ~650 ms each, so instead the entry file and the relative
 * modules it requires are transpiled once in this thread (where the
 * `typescript` dev dependency is already loaded) and handed to the worker,
 * whose loader compiles them from that map.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const sourceCache = new Map<string, Record<string, string>>();

/** `base` is the entry file's absolute path without extension. */
export function startWorker(base: string, options: WorkerOptions): Worker {
  const compiled = `${base}.js`;
  if (!__filename.endsWith('.ts') && fs.existsSync(compiled)) return new Worker(compiled, options);
  const entry = `${base}.ts`;
  let sources = sourceCache.get(entry);
  if (!sources) {
    sources = {};
    transpileTree(entry, sources);
    sourceCache.set(entry, sources);
  }
  const bootstrap =
    `const Module = require('node:module');` +
    `const sources = require('node:worker_threads').workerData[${JSON.stringify(kSources)}];` +
    `Module._extensions['.ts'] = function (m, f) { m._compile(sources[f], f); };` +
    `require(${JSON.stringify(entry)});`;
  const workerData = { ...(options.workerData as object), [kSources]: sources };
  return new Worker(bootstrap, { ...options, eval: true, workerData });
}

const kSources = '__pipeIOWorkerSources';

function transpileTree(file: string, out: Record<string, string>): void {
  if (out[file] !== undefined) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const js = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  out[file] = js;
  for (const m of js.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) {
    const target = path.resolve(path.dirname(file), m[1] as string);
    const candidate = [`${target}.ts`, path.join(target, 'index.ts')].find((p) => fs.existsSync(p));
    if (candidate) transpileTree(candidate, out);
  }
}
