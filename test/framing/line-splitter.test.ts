import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { LineSplitter } from '../../lib';

function split(chunks: Buffer[], max?: number): { lines: string[]; overflows: number[]; splitter: LineSplitter } {
  const lines: string[] = [];
  const overflows: number[] = [];
  const splitter = new LineSplitter(
    (l) => lines.push(l.toString('latin1')),
    (n) => overflows.push(n),
    max === undefined ? {} : { maxLineLength: max },
  );
  for (const c of chunks) splitter.push(c);
  return { lines, overflows, splitter };
}

function chunked(data: Buffer, upper: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; ) {
    const n = 1 + Math.floor(Math.random() * upper);
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe('LineSplitter', () => {
  it('splits at every chunk boundary the same way', () => {
    const lines = Array.from({ length: 300 }, (_, i) => randomBytes(i % 50).toString('latin1').replace(/\n/g, ' '));
    const data = Buffer.from(lines.join('\n') + '\n', 'latin1');
    for (const upper of [1, 3, 10, 64, 512, 1024]) {
      expect(split(chunked(data, upper)).lines, `chunks up to ${upper}`).to.deep.equal(lines);
    }
  });

  it('delivers empty lines and hands out views for lines inside one chunk', () => {
    const seen: Buffer[] = [];
    const chunk = Buffer.from('\n\nab\n');
    const s = new LineSplitter((l) => seen.push(l), () => undefined);
    s.push(chunk);
    expect(seen.map((b) => b.toString())).to.deep.equal(['', '', 'ab']);
    expect(seen[2]!.buffer).to.equal(chunk.buffer); // zero-copy
  });

  it('flushes an unterminated last line at end(), and discard() drops it', () => {
    const { lines, splitter } = split([Buffer.from('a\nfrag'), Buffer.from('ment')]);
    splitter.end();
    expect(lines).to.deep.equal(['a', 'fragment']);
    splitter.push(Buffer.from('half'));
    splitter.discard();
    splitter.end();
    expect(lines).to.deep.equal(['a', 'fragment']);
    splitter.end();
    expect(lines, 'end() with nothing pending delivers nothing').to.have.length(2);
  });

  it('reports an over-long line once, skips to its newline, and keeps going', () => {
    const data = Buffer.from(`ok\n${'x'.repeat(100)}\nnext\n${'y'.repeat(11)}\nlast`);
    for (const upper of [1, 7, 1000]) {
      const { lines, overflows, splitter } = split(chunked(data, upper), 10);
      splitter.end();
      expect(lines, `chunks up to ${upper}`).to.deep.equal(['ok', 'next', 'last']);
      expect(overflows).to.have.length(2);
    }
  });

  it('accepts a line of exactly maxLineLength', () => {
    const { lines, overflows } = split([Buffer.from('12345'), Buffer.from('67890\n')], 10);
    expect([lines, overflows]).to.deep.equal([['1234567890'], []]);
  });

  it('rejects a bad maxLineLength', () => {
    expect(() => new LineSplitter(() => undefined, () => undefined, { maxLineLength: -1 })).to.throw(RangeError);
  });
});
