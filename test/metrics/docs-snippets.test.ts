/** Every TypeScript block of docs/observability.md type-checks against the library (tsc, strict). */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** A block as a module: its imports on top (pipe-io-server mapped to lib/), the rest in an async function. */
function asModule(block: string, dir: string): string {
  const lines = block.split('\n');
  const imports = lines.filter((l) => l.startsWith('import '));
  const body = lines.filter((l) => !l.startsWith('import '));
  const lib = path.relative(dir, path.join(ROOT, 'lib', 'index')).split(path.sep).join('/');
  return `${imports.map((l) => l.replace("'pipe-io-server'", `'${lib}'`)).join('\n')}\n\nexport async function snippet(): Promise<void> {\n${body.join('\n')}\n}\n`;
}

describe('docs/observability.md code blocks', function () {
  this.timeout(120000);
  it('type-check', () => {
    const md = fs.readFileSync(path.join(ROOT, 'docs', 'observability.md'), 'utf8');
    const blocks = [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).to.be.at.least(3);
    fs.mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
    const dir = fs.mkdtempSync(path.join(ROOT, '.tmp', 'doc-snippets-'));
    try {
      const files = blocks.map((b, i) => {
        const f = path.join(dir, `block${i}.ts`);
        fs.writeFileSync(f, asModule(b, dir));
        return f;
      });
      fs.writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({ extends: path.join(ROOT, 'tsconfig.json'), compilerOptions: { noEmit: true, rootDir: ROOT }, include: [], files }),
      );
      const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'tsconfig.json')], { encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
