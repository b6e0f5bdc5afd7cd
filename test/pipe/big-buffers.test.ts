import { expect } from 'chai';
import { MessageChannel } from 'node:worker_threads';
import { freshBuffer, noteReceived } from '../../lib/pipe/big-buffers';

describe('big-buffers', () => {
  describe('freshBuffer', () => {
    it('returns independent buffers of the size asked, below, at and above the sizes it releases', () => {
      const sizes = [1, 64 * 1024, 128 * 1024 + 1, 1024 * 1024 + 65537, 1024 * 1024, 33 * 1024 * 1024]; // the last one above glibc's 32 MiB cap
      const buffers = sizes.map((size, i) => freshBuffer(size).fill(i + 1));
      buffers.forEach((b, i) => {
        expect(b.length).to.equal(sizes[i]);
        expect(b.byteOffset, 'starts its own ArrayBuffer (transferable)').to.equal(0);
        expect(b.buffer.byteLength).to.equal(sizes[i]);
        expect(b.equals(Buffer.alloc(sizes[i] as number, i + 1)), `buffer ${i} kept its bytes`).to.equal(true);
      });
    });
  });

  describe('noteReceived', () => {
    it('can be called any number of times', () => {
      for (let i = 0; i < 1000; i++) noteReceived();
    });
  });

  // The release in freshBuffer() relies on this Node behaviour; if it changes, the block is
  // only freed later (the code catches a throw), and this test says so.
  it('a transfer to a closed port detaches the buffer at once', () => {
    const block = new ArrayBuffer(1024);
    const { port1, port2 } = new MessageChannel();
    port1.close();
    port2.close();
    port1.postMessage(null, [block]);
    expect(block.byteLength).to.equal(0);
  });
});
