import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { PipeIOError } from '../../lib/errors';
import { decodeJsonLineStream, encodeJsonLine, JsonLineDecoder, JsonLineProtocol } from '../../lib/protocol/json-line';

const VALUES: unknown[] = [
  { a: 1, b: 'two', nested: { list: [1, 2, 3], nul: null } },
  'a string with a\nnewline and unicode \u00e9\u4e2d\ud83d\ude00',
  42,
  -0.5,
  true,
  null,
  [],
  {},
  'x'.repeat(3000),
];

function chunked(buf: Buffer, upper: number): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const n = 1 + (randomBytes(2).readUInt16LE(0) % upper);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe('JsonLineProtocol', () => {
  describe('#encode', () => {
    it('produces one compact JSON line with a trailing newline', () => {
      const buf = new JsonLineProtocol().encode({ a: [1, 'x\ny'] });
      expect(buf).to.be.instanceOf(Buffer);
      expect(buf.toString()).to.equal('{"a":[1,"x\\ny"]}\n');
      expect(buf.indexOf(10)).to.equal(buf.length - 1);
    });

    it('throws a TypeError for values with no JSON text', () => {
      expect(() => encodeJsonLine(undefined)).to.throw(TypeError);
      expect(() => encodeJsonLine(() => 1)).to.throw(TypeError);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      expect(() => encodeJsonLine(cyclic)).to.throw(TypeError);
    });
  });

  describe('#decodeStream', () => {
    for (const upper of [1, 3, 10, 64, 512, 4096]) {
      it(`round-trips values with random chunks of up to ${upper} bytes`, async () => {
        const protocol = new JsonLineProtocol();
        const wire = Buffer.concat(VALUES.map((v) => protocol.encode(v)));
        const out: unknown[] = [];
        for await (const v of protocol.decodeStream(Readable.from(chunked(wire, upper)))) out.push(v);
        expect(out).to.deep.equal(VALUES);
      });
    }

    it('reports invalid JSON with a code and keeps decoding the lines after it', async () => {
      const errors: PipeIOError[] = [];
      const src = Readable.from([Buffer.from('{"a":1}\nnot json\n{"b"'), Buffer.from(':2}\n\n  \n[3]')]);
      const out: unknown[] = [];
      for await (const v of decodeJsonLineStream(src, { onError: (e) => errors.push(e) })) out.push(v);
      expect(out).to.deep.equal([{ a: 1 }, { b: 2 }, [3]]);
      expect(errors.map((e) => e.code)).to.deep.equal(['PIPEIO_ERR_INVALID_JSON']);
    });

    it('reports a too-long line with PIPEIO_ERR_LINE_TOO_LONG and keeps the next lines', async () => {
      const protocol = new JsonLineProtocol({ maxLineLength: 16 });
      const errors: PipeIOError[] = [];
      const wire = Buffer.from(`{"a":1}\n"${'y'.repeat(100)}"\n{"b":2}\n`);
      const out: unknown[] = [];
      for await (const v of protocol.decodeStream(Readable.from(chunked(wire, 7)), { onError: (e) => errors.push(e) })) {
        out.push(v);
      }
      expect(out).to.deep.equal([{ a: 1 }, { b: 2 }]);
      expect(errors).to.have.length(1);
      expect(errors[0]!.code).to.equal('PIPEIO_ERR_LINE_TOO_LONG');
    });

    it('accepts string chunks', async () => {
      const out: unknown[] = [];
      for await (const v of decodeJsonLineStream(Readable.from(['{"x"', ':1}\n']))) out.push(v);
      expect(out).to.deep.equal([{ x: 1 }]);
    });
  });

  describe('JsonLineDecoder', () => {
    it('is incremental and reusable across chunks, CRLF tolerated', () => {
      const out: unknown[] = [];
      const dec = new JsonLineDecoder((v) => out.push(v), () => expect.fail('no error expected'));
      dec.push(Buffer.from('{"a"'));
      expect(out).to.deep.equal([]);
      dec.push(Buffer.from(':1}\r\n2\n3'));
      expect(out).to.deep.equal([{ a: 1 }, 2]);
      dec.end();
      expect(out).to.deep.equal([{ a: 1 }, 2, 3]);
    });

    it('rejects a bad maxLineLength synchronously', () => {
      expect(() => new JsonLineProtocol({ maxLineLength: 0 })).to.throw(RangeError);
    });
  });
});
