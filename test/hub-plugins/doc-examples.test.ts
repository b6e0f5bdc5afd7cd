/**
 * The line-mode plugin of README.md and docs/hub-plugins.md (upper.sh), run
 * as written: one answer per call, bad input answered with an error, never
 * a timeout.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PluginFixture } from './fixture';

const ROOT = path.resolve(__dirname, '..', '..');

/** The bash blocks of `file` that are line-mode plugins (they read $PIPE_IO_READ_PIPE). */
function pluginBlocks(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes('"$PIPE_IO_READ_PIPE"') && b.includes('ascii_upcase'));
}

describe('documented line-mode plugins (upper.sh)', function () {
  this.timeout(20000);
  let fx: PluginFixture;

  beforeEach(async () => {
    fx = new PluginFixture();
    await fx.start();
  });
  afterEach(() => fx.stop());

  for (const file of ['README.md', 'docs/hub-plugins.md']) {
    it(`${file}: answers strings, and every other input with an error, one line per call`, async () => {
      const blocks = pluginBlocks(file);
      expect(blocks, 'the upper.sh block').to.have.length(1);
      const plugin = await fx.bash(blocks[0]!, { channel: 'text', event: 'upper', timeout: 5000 });
      const caller = await fx.client('caller');
      expect((await fx.call(caller, 'text', 'upper', 'hello'))['data']).to.equal('HELLO');
      for (const [data, type] of [[12, 'number'], [{ a: 1 }, 'object'], [null, 'null'], [[1], 'array']] as const) {
        const res = await fx.call(caller, 'text', 'upper', data);
        expect(res['code']).to.equal('PIPEIO_ERR_REMOTE');
        expect(res['error']).to.equal(`upper wants a string, got ${type}`);
      }
      expect((await fx.call(caller, 'text', 'upper', 'still here'))['data']).to.equal('STILL HERE');
      expect(plugin.pids[0]).to.be.a('number');
      expect(fx.errors).to.deep.equal([]);
    });
  }
});
