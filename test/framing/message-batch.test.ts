import { expect } from 'chai';
import { MessageBatch } from '../../lib/framing/message-batch';

function concat(views: Uint8Array[]): string {
  return Buffer.concat(views).toString();
}

const source = Buffer.from('alpha\nbeta\ngamma\ndelta');
const line = (s: number, e: number): Buffer => Buffer.from(source.buffer, source.byteOffset + s, e - s);
const expected = 'alpha\nbeta\nx\ngamma\ndelta\n';

function filled(): MessageBatch {
  const b = new MessageBatch();
  b.add(line(0, 5)); // alpha  \
  b.add(line(6, 10)); // beta  / one run, the source's own newlines
  b.add(Buffer.from('x')); // elsewhere
  b.add(line(11, 16)); // gamma \
  b.add(line(17, 22)); // delta / one run; no newline after delta in the source
  return b;
}

describe('MessageBatch', () => {

  it('counts bytes with newlines and coalesces adjacent lines into runs', () => {
    const b = filled();
    expect(b.byteLength).to.equal(expected.length);
    expect(b.runCount).to.equal(3);
  });

  it('gives the same bytes as views and as a copy', () => {
    expect(concat(filled().views())).to.equal(expected);
    const b = filled();
    expect(Buffer.from(b.take()).toString()).to.equal(expected);
    expect(b.byteLength).to.equal(0);
  });

  it('take(skip) leaves out exactly the bytes already written', () => {
    for (let skip = 0; skip <= expected.length; skip++) {
      expect(Buffer.from(filled().take(skip)).toString(), `skip ${skip}`).to.equal(expected.slice(skip));
    }
  });

  it('never merges lines that are adjacent without a newline between them', () => {
    const b = new MessageBatch();
    const glued = Buffer.from('abcd');
    b.add(glued.subarray(0, 2));
    b.add(glued.subarray(2, 4));
    expect(Buffer.from(b.take()).toString()).to.equal('ab\ncd\n');
  });

  it('handles empty messages', () => {
    const b = new MessageBatch();
    const src = Buffer.from('\n\n');
    b.add(src.subarray(0, 0));
    b.add(src.subarray(1, 1));
    b.add(new Uint8Array(0));
    expect(concat(b.views())).to.equal('\n\n\n');
    expect(Buffer.from(b.take()).toString()).to.equal('\n\n\n');
  });
});

describe('MessageBatch, taken in pieces', () => {
  it('take(skip, into, max) in pieces of every size gives the bytes in order, exactly once', () => {
    for (let skip = 0; skip <= expected.length; skip++) {
      for (let max = 1; max <= expected.length; max++) {
        const b = filled();
        let out = '';
        let first = true;
        while (b.byteLength > 0) {
          const before = b.byteLength;
          const piece = b.take(first ? skip : 0, undefined, max);
          out += Buffer.from(piece).toString();
          expect(b.byteLength, `skip ${skip} max ${max}`).to.equal(before - (first ? skip : 0) - piece.length);
          first = false;
        }
        expect(out, `skip ${skip} max ${max}`).to.equal(expected.slice(skip));
      }
    }
  });

  it('views() and drop() after a partial take start where the take ended', () => {
    for (let taken = 0; taken <= expected.length; taken++) {
      const b = filled();
      expect(Buffer.from(b.take(0, undefined, taken)).toString()).to.equal(expected.slice(0, taken));
      expect(concat(b.views()), `after ${taken}`).to.equal(expected.slice(taken));
      const rest = expected.length - taken;
      for (let d = 0; d <= rest; d++) {
        const c = filled();
        c.take(0, undefined, taken);
        c.drop(d);
        expect(c.byteLength).to.equal(rest - d);
        expect(concat(c.views()), `after ${taken} + drop ${d}`).to.equal(expected.slice(taken + d));
      }
    }
  });

  it('messages added after a partial take follow the rest', () => {
    const b = new MessageBatch();
    const src = Buffer.from('one\ntwo\nthree\n');
    b.add(src.subarray(0, 3));
    expect(Buffer.from(b.take(0, undefined, 2)).toString()).to.equal('on');
    b.add(src.subarray(4, 7)); // joins the run partly taken
    expect(b.runCount).to.equal(1);
    expect(Buffer.from(b.take(0, undefined, 6)).toString()).to.equal('e\ntwo\n');
    b.add(src.subarray(8, 13)); // the batch was emptied: a run of its own
    expect(concat(b.views())).to.equal('three\n');
  });

  it('copies into `into` when it is big enough, and counts only runs not wholly taken', () => {
    const b = new MessageBatch();
    const big = Buffer.alloc(1000, 97);
    for (let i = 0; i < 600; i++) b.add(big.subarray(0, 10)); // separate runs: no newline between them
    const into = new ArrayBuffer(64);
    const piece = b.take(0, into, 33);
    expect(piece.buffer).to.equal(into);
    expect(Buffer.from(piece).toString()).to.equal('aaaaaaaaaa\n'.repeat(3));
    expect(b.runCount).to.equal(597);
    let left = '';
    while (b.byteLength > 0) left += Buffer.from(b.take(0, undefined, 100)).toString();
    expect(left).to.equal('aaaaaaaaaa\n'.repeat(597));
    expect(b.runCount).to.equal(0);
  });
});
