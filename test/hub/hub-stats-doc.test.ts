/** docs/hub.md names every field hub.stats() returns, and no other. */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Hub } from '../../lib/hub/server/hub';

describe('docs/hub.md: stats()', () => {
  it('lists exactly the fields of hub.stats()', async () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'hub.md'), 'utf8');
    const m = /`hub\.stats\(\)` returns `\{ ([^}]*) \}`/.exec(doc);
    expect(m, 'the stats() sentence').to.not.equal(null);
    const documented = m![1]!.split(',').map((k) => k.trim());
    const hub = new Hub();
    try {
      expect(documented).to.deep.equal(Object.keys(hub.stats()));
    } finally {
      await hub.stop();
    }
  });
});
