/**
 * Compiled JSON Schemas are freed with their validators: ajv keeps every
 * function it compiled in its instance's scope, so lib/schema retires an
 * instance after 256 compiles. A child process with --expose-gc compiles
 * 2,500 distinct schemas, drops them, and reports the heap.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const SCRIPT = `
const { jsonSchema } = require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'lib', 'schema'))});
const heap = () => { global.gc(); global.gc(); return process.memoryUsage().heapUsed; };
jsonSchema({ type: 'object' }).validate({}); // ajv loaded and its meta-schemas compiled
// The canonical-text cache (1,000 entries) full before and after, so that only compiled code differs.
const fill = (tag) => { for (let i = 0; i < 1000; i++) jsonSchema({ const: tag + i }); };
fill('a');
const base = heap();
let keep = [];
for (let i = 0; i < 2500; i++) {
  const v = jsonSchema({ type: 'object', properties: { ['f' + i]: { type: 'integer' }, b: { type: 'string' } }, required: ['f' + i] });
  if (!v.validate({ ['f' + i]: i, b: 'x' }).ok) throw new Error('invalid');
  keep.push(v);
}
const peak = heap();
keep = [];
fill('b'); // pushes the 2,500 out of the canonical-text cache (these are never compiled)
const after = heap();
console.log(JSON.stringify({ base, peak, after }));
`;

describe('lib/schema memory', function () {
  this.timeout(120000); // slow: a child process compiling 2,500 schemas under ts-node

  it('compiled validators are garbage once unused (the ajv instance does not keep them)', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', '-r', 'ts-node/register/transpile-only', '-e', SCRIPT], {
      cwd: path.resolve(__dirname, '..', '..'),
    });
    const { base, peak, after } = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number>;
    const grown = peak - base;
    expect(grown, 'compiling 2,500 schemas should take memory').to.be.greaterThan(3 * 1024 * 1024);
    expect(after - base, `retained ${after - base} of ${grown} bytes`).to.be.lessThan(grown * 0.3);
  });
});
