import { expect } from 'chai';
import { MessageBatch } from '../../lib/framing/message-batch';

function concat(views: Uint8Array[]): string {
  return Buffer.concat(views).toString();
}

describe('MessageBatch', () => {
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
