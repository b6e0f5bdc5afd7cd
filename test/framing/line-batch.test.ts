import { expect } from 'chai';
import { LineBatch } from '../../lib/framing/line-batch';

describe('LineBatch', () => {
  it('counts and iterates its messages as views, empty ones included', () => {
    const bytes = Buffer.from('one\n\ntwo three\n\n');
    const batch = new LineBatch(bytes);
    expect(batch.count).to.equal(4);
    const messages = batch.toArray();
    expect(messages.map((m) => m.toString())).to.deep.equal(['one', '', 'two three', '']);
    expect(messages[2]!.buffer).to.equal(bytes.buffer); // a view, not a copy
    expect([...batch].length).to.equal(4);
  });

  it('makes a batch of one message with its newline added', () => {
    const batch = LineBatch.of(Buffer.from('solo'));
    expect(batch.bytes.toString()).to.equal('solo\n');
    expect(batch.count).to.equal(1);
    expect(LineBatch.of(new Uint8Array(0)).toArray().map((m) => m.length)).to.deep.equal([0]);
  });

  it('refuses bytes that do not end a line', () => {
    expect(() => new LineBatch(Buffer.from('half'))).to.throw(RangeError);
    expect(() => new LineBatch(Buffer.alloc(0))).to.throw(RangeError);
  });
});
