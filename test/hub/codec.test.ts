import { expect } from 'chai';
import { Packr } from 'msgpackr';
import { decodeClientFrame, decodeHubFrame, encodeFrame, packValue } from '../../lib/hub/protocol/codec';
import { restamp, stampRouted } from '../../lib/hub/protocol/stamp';
import { FrameReader } from '../../lib/hub/protocol/frame-reader';
import type { PipeIOError } from '../../lib/errors';

function payloadOf(frame: Buffer): Buffer {
  return frame.subarray(4);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as PipeIOError).code;
  }
  return undefined;
}

describe('hub codec', () => {
  describe('FrameReader', () => {
    it('reassembles frames from any chunking', () => {
      const frames = [encodeFrame({ type: 'a', n: 1 }), encodeFrame({ type: 'b', s: 'x'.repeat(300) }), encodeFrame({ type: 'c' })];
      const all = Buffer.concat(frames);
      for (const size of [1, 2, 3, 7, 64, all.length]) {
        const r = new FrameReader(1 << 20);
        const out: Buffer[] = [];
        for (let i = 0; i < all.length; i += size) out.push(...r.push(all.subarray(i, i + size)));
        expect(out.map((p) => decodeClientFrame(p)['type'])).to.deep.equal(['a', 'b', 'c']);
        expect(r.bufferedBytes).to.equal(0);
      }
    });

    it('returns every payload byte for byte whatever the chunk boundaries', () => {
      // A seeded generator (Park-Miller, exact in doubles): the same 200 splittings on every run.
      let seed = 7;
      const rnd = (n: number): number => {
        seed = (seed * 48271) % 2147483647;
        return seed % n;
      };
      const empty = Buffer.alloc(4); // a frame with a 0-byte payload
      const frames = Array.from({ length: 40 }, (_, i) => (i % 9 === 4 ? empty : encodeFrame({ type: 't', i, s: 'y'.repeat((i * 37) % 500) })));
      const all = Buffer.concat(frames);
      for (let round = 0; round < 200; round++) {
        const r = new FrameReader(1 << 20);
        const out: Buffer[] = [];
        let done = 0; // bytes of the frames returned so far
        for (let at = 0; at < all.length; ) {
          const size = rnd(round % 2 === 0 ? 16 : 2000); // 0: an empty chunk
          for (const p of r.push(all.subarray(at, at + size))) {
            out.push(p);
            done += p.length + 4;
          }
          at = Math.min(all.length, at + size);
          // what it holds is exactly the bytes of the frame in progress
          expect(r.bufferedBytes).to.equal(at - done);
        }
        expect(out.length).to.equal(frames.length);
        out.forEach((p, i) => expect(p.equals(payloadOf(frames[i]!))).to.equal(true));
        expect(r.bufferedBytes).to.equal(0);
      }
    });

    it('refuses a header above maxFrameSize before buffering the body', () => {
      const r = new FrameReader(1024);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(0xffffffff, 0);
      expect(codeOf(() => r.push(header))).to.equal('PIPEIO_ERR_FRAME_TOO_LARGE');
    });
  });

  describe('decodeHubFrame', () => {
    it('reads top-level fields and keeps nested maps as Maps', () => {
      const f = decodeHubFrame(payloadOf(encodeFrame({ type: 'call', channel: 'c', data: { a: [1, 'x'] } })));
      expect(f.type).to.equal('call');
      expect(f.fields.get('channel')).to.equal('c');
      expect(f.fields.get('data')).to.be.instanceOf(Map);
    });

    it('refuses non-maps, missing type, int keys, invalid UTF-8, ext types and truncation', () => {
      const packr = new Packr({ useRecords: false });
      expect(codeOf(() => decodeHubFrame(packr.pack([1, 2])))).to.equal('PIPEIO_ERR_PROTOCOL');
      expect(codeOf(() => decodeHubFrame(packr.pack({ channel: 'x' })))).to.equal('PIPEIO_ERR_PROTOCOL');
      // {1: true}
      expect(codeOf(() => decodeHubFrame(Buffer.from('8101c3', 'hex')))).to.equal('PIPEIO_ERR_PROTOCOL');
      // {"type": "ping", "data": {"k": {2: 1}}}: a nested int key
      expect(codeOf(() => decodeHubFrame(Buffer.from('82a474797065a470696e67a46461746181a16b810201', 'hex')))).to.equal('PIPEIO_ERR_PROTOCOL');
      // {"type": "ping", "s": "\xc3\x28"}: invalid UTF-8
      expect(codeOf(() => decodeHubFrame(Buffer.from('82a474797065a470696e67a173a2c328', 'hex')))).to.equal('PIPEIO_ERR_PROTOCOL');
      // a genuine U+FFFD is fine
      expect(decodeHubFrame(payloadOf(encodeFrame({ type: 'ping', s: 'a\uFFFDb' }))).fields.get('s')).to.equal('a\uFFFDb');
      // {"type": "ping", "d": timestamp ext}
      expect(codeOf(() => decodeHubFrame(Buffer.from('82a474797065a470696e67a164d6ff00000000', 'hex')))).to.equal('PIPEIO_ERR_PROTOCOL');
      // map of 3 with 1 entry
      expect(codeOf(() => decodeHubFrame(Buffer.from('83a474797065a470696e67', 'hex')))).to.equal('PIPEIO_ERR_PROTOCOL');
      expect(codeOf(() => decodeHubFrame(Buffer.from('ffff', 'hex')))).to.equal('PIPEIO_ERR_PROTOCOL');
      // {"type": "ping", "__proto__": {}}: never a way to change the prototype of the fields object
      expect(codeOf(() => decodeHubFrame(Buffer.from('82a474797065a470696e67a95f5f70726f746f5f5f80', 'hex')))).to.equal('PIPEIO_ERR_PROTOCOL');
      expect(codeOf(() => decodeHubFrame(Buffer.alloc(0)))).to.equal('PIPEIO_ERR_PROTOCOL');
      // {"type": "ping", "d": fixext 1 of type 0}: msgpackr's `undefined`, an ext type all the same
      expect(codeOf(() => decodeHubFrame(Buffer.from('82a474797065a470696e67a164d40000', 'hex')))).to.equal('PIPEIO_ERR_PROTOCOL');
      // the same nested in a list
      expect(codeOf(() => decodeHubFrame(Buffer.from('82a474797065a470696e67a16491d40000', 'hex')))).to.equal('PIPEIO_ERR_PROTOCOL');
      // {"type": "ping"} followed by a stray byte
      expect(codeOf(() => decodeHubFrame(Buffer.from('81a474797065a470696e6701', 'hex')))).to.equal('PIPEIO_ERR_PROTOCOL');
    });

    it('takes the last of repeated keys as Python does, and checks and keeps every entry', () => {
      // {"type": "ping", "k": 1, "k": 2}
      const f = decodeHubFrame(Buffer.from('83a474797065a470696e67a16b01a16b02', 'hex'));
      expect(f.keys).to.deep.equal(['type', 'k', 'k']);
      expect(f.fields.get('k')).to.equal(2);
      expect(Array.from(f.spans)).to.have.length(9);
      // {"type": "ping", "k": "\xc3\x28", "k": 2}: the shadowed value is checked too
      expect(codeOf(() => decodeHubFrame(Buffer.from('83a474797065a470696e67a16ba2c328a16b02', 'hex')))).to.equal('PIPEIO_ERR_PROTOCOL');
    });
  });

  describe('restamp', () => {
    it('keeps every untouched value byte for byte (float 1.0, uint64, bin, str)', () => {
      // {"type":"call","data":{"f":1.0,"u":2**64-1,"b":bin "xy","s":"xy"}} written by hand as Python would
      const data = Buffer.from('84a166cb3ff0000000000000a175cfffffffffffffffffa162c4027879a173a27879', 'hex');
      const payload = Buffer.concat([Buffer.from('82a474797065a463616c6ca464617461', 'hex'), data]);
      const f = decodeHubFrame(payload);
      const out = restamp(f, { sender_id: 'A', path: ['S'] });
      expect(out.readUInt32BE(0)).to.equal(out.length - 4);
      expect(out.includes(data)).to.equal(true);
      const back = decodeHubFrame(out.subarray(4));
      expect(back.keys).to.deep.equal(['type', 'data', 'sender_id', 'path']);
      expect(back.fields.get('sender_id')).to.equal('A');
    });

    it('replaces and removes keys in place', () => {
      const f = decodeHubFrame(payloadOf(encodeFrame({ type: 'publish', sub_name: 's', data: 1.5, sender_id: 'spoof' })));
      const back = decodeClientFrame(restamp(f, { type: 'receive', sub_name: undefined, sender_id: 'owner' }).subarray(4));
      expect(back).to.deep.equal({ type: 'receive', data: 1.5, sender_id: 'owner' });
    });
  });

  describe('stampRouted', () => {
    it('gives the same frame as the general restamp, whichever stamps are present', () => {
      const st = { id: 'A', senderId: packValue('A'), path: packValue(['S0', 'S1']), timestamp: packValue(1700000000), origin: packValue('S1') };
      const frames = [
        { type: 'call', channel: 'c', data: { x: 1.5 } },
        { type: 'call', sender_id: 'spoof', path: ['S0'], timestamp: 5, origin_server_id: null, data: 'd', request_id: 'r' },
        Object.fromEntries([['type', 'broadcast'], ...Array.from({ length: 20 }, (_, i) => [`k${i}`, i])]),
        { type: 'call', sender_id: 'A', channel: 'c', data: 'own id kept in place', timestamp: 1.5 },
        { type: 'response', sender_id: 'A', origin_server_id: 'S9', request_id: 'r', data: null },
        { type: 'call', path: [], data: 1 },
        { type: 'call', sender_id: 'B', data: 1 },
      ];
      for (const message of frames) {
        const f = decodeHubFrame(payloadOf(encodeFrame(message)));
        const changes: Record<string, unknown> = { sender_id: 'A', path: ['S0', 'S1'] };
        if (!('timestamp' in message)) changes['timestamp'] = 1700000000;
        if (!('origin_server_id' in message)) changes['origin_server_id'] = 'S1';
        expect(stampRouted(f, st).equals(restamp(f, changes))).to.equal(true);
      }
    });
  });

  describe('encodeFrame', () => {
    it('omits undefined properties and keeps bin and str apart', () => {
      const back = decodeClientFrame(encodeFrame({ type: 'x', a: undefined, b: Buffer.from('hi'), c: 'hi' }).subarray(4));
      expect('a' in back).to.equal(false);
      expect(Buffer.isBuffer(back['b'])).to.equal(true);
      expect(back['c']).to.equal('hi');
    });
  });
});
