/**
 * HubLink (the client's byte link): frames of one tick leave together, and a
 * hub that stops reading still pushes back on the sender.
 */
import { expect } from 'chai';
import * as net from 'node:net';
import { HubLink } from '../../lib/hub/client/transport';
import { decodeClientFrame } from '../../lib/hub/protocol/codec';
import { FrameReader } from '../../lib/hub/protocol/frame-reader';

/** A TCP server on loopback whose accepted socket is handed to the test. */
async function acceptOne(): Promise<{ client: net.Socket; peer: net.Socket; close(): void }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const peer = await accepted;
  return {
    client,
    peer,
    close() {
      client.destroy();
      peer.destroy();
      server.close();
    },
  };
}

const noHandlers = { onFrame: () => undefined, onClose: () => undefined };

describe('hub client transport', () => {
  it('reports a full socket to a sender that yields between frames, and drained() waits for room', async () => {
    const { client, peer, close } = await acceptOne();
    try {
      peer.pause(); // a hub that does not read
      const link = new HubLink(client, 1 << 20, noHandlers);
      const data = 'x'.repeat(8192);
      let refusedAt = -1;
      for (let i = 0; i < 20000 && refusedAt < 0; i++) {
        if (!link.send({ type: 'send', channel: 'c', event: 'e', data })) refusedAt = i;
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(refusedAt, 'send() never reported a full socket').to.be.greaterThan(0);
      // Bounded: what the kernel took plus one high-water mark, not everything sent.
      expect(client.writableLength).to.be.below(4 * 1024 * 1024);
      let drained = false;
      const waiting = link.drained().then(() => {
        drained = true;
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(drained, 'drained() before the hub read anything').to.equal(false);
      peer.resume();
      await waiting;
    } finally {
      close();
    }
  });

  it('writes the frames sent in one tick in order, in one write', async () => {
    const { client, peer, close } = await acceptOne();
    try {
      const link = new HubLink(client, 1 << 20, noHandlers);
      const reader = new FrameReader(1 << 20);
      const got: number[] = [];
      let chunks = 0;
      const all = new Promise<void>((resolve) => {
        peer.on('data', (chunk: Buffer) => {
          chunks++;
          for (const p of reader.push(chunk)) got.push(decodeClientFrame(p)['n'] as number);
          if (got.length === 10) resolve();
        });
      });
      for (let n = 0; n < 10; n++) expect(link.send({ type: 'send', n })).to.equal(true);
      await all;
      expect(got).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(chunks).to.equal(1);
    } finally {
      close();
    }
  });
});
