/** The pure parts of the plugin line protocol: values as JSON, line parsing, line building. */
import { expect } from 'chai';
import { fromJsonText, toJsonText } from '../../lib/hub/plugins/json-value';
import { envelopeLine, errorOf, LineShapeError, parsePluginLine } from '../../lib/hub/plugins/line-protocol';
import { hubFrameOf } from '../../lib/hub/plugins/member-link';
import { decodeHubFrame, encodeFrame } from '../../lib/hub/protocol/codec';

describe('Hub plugins: line protocol', () => {
  describe('values', () => {
    it('bytes travel as {"$bytes": base64}, anywhere, both ways', () => {
      const v = { a: Buffer.from([0, 255]), list: [new Uint8Array([1, 2, 3])], s: 'x' };
      const text = toJsonText(v);
      expect(text).to.equal('{"a":{"$bytes":"AP8="},"list":[{"$bytes":"AQID"}],"s":"x"}');
      const back = fromJsonText(text) as { a: Buffer; list: Buffer[]; s: string };
      expect(back.a).to.deep.equal(Buffer.from([0, 255]));
      expect(back.list[0]).to.deep.equal(Buffer.from([1, 2, 3]));
      expect(toJsonText(Buffer.from('hi'))).to.equal('{"$bytes":"aGk="}');
    });

    it('an object with more keys than $bytes stays an object', () => {
      expect(fromJsonText('{"$bytes":"AA==","x":1}')).to.deep.equal({ $bytes: 'AA==', x: 1 });
    });

    it('big integers keep every digit; undefined is null; text has no raw newline', () => {
      expect(toJsonText({ n: 2n ** 64n - 1n, m: -(2n ** 63n) })).to.equal('{"n":18446744073709551615,"m":-9223372036854775808}');
      expect(toJsonText(undefined)).to.equal('null');
      expect(toJsonText('two\nlines')).to.equal('"two\\nlines"');
    });

    it('fromJsonText throws SyntaxError on anything that is not JSON', () => {
      expect(() => fromJsonText('not json')).to.throw(SyntaxError);
      expect(() => fromJsonText('')).to.throw(SyntaxError);
    });
  });

  describe('parsePluginLine', () => {
    it('reads responses, chunks and ends', () => {
      expect(parsePluginLine('{"type":"response","request_id":"7","data":1}')).to.deep.include({ type: 'response', request_id: '7', data: 1 });
      expect(parsePluginLine('{"type":"response","request_id":7,"is_final":false,"data":2}')).to.deep.include({ request_id: '7', is_final: false });
      expect(parsePluginLine('{"type":"response","request_id":"7","error":"no"}')).to.deep.include({ error: 'no' });
    });

    it('reads calls with stream and timeout', () => {
      expect(parsePluginLine('{"type":"call","request_id":"a","channel":"c","event":"e","data":null,"stream":true,"timeout":50}')).to.deep.equal({
        type: 'call',
        request_id: 'a',
        channel: 'c',
        event: 'e',
        data: null,
        stream: true,
        timeout: 50,
      });
    });

    it('refuses unknown types and bad fields with LineShapeError (request id kept)', () => {
      for (const bad of ['[1]', '"x"', '{"type":"dance"}', '{"type":"response"}', '{"type":"call","request_id":"q","channel":"c"}', '{"type":"response","request_id":"r","is_final":"yes"}']) {
        expect(() => parsePluginLine(bad), bad).to.throw(LineShapeError);
      }
      try {
        parsePluginLine('{"type":"response","request_id":"r9","error":3}');
        expect.fail('no throw');
      } catch (err) {
        expect((err as LineShapeError).requestId).to.equal('r9');
      }
    });
  });

  it('envelopeLine: type first, head keys in a fixed order, data last', () => {
    const line = envelopeLine('call', { data: { x: 1 }, sender_id: 's', event: 'e', channel: 'c', request_id: '3', path: ['S1'] });
    expect(line).to.equal('{"type":"call","request_id":"3","channel":"c","event":"e","sender_id":"s","data":{"x":1}}');
    expect(envelopeLine('broadcast', { channel: 'c' })).to.equal('{"type":"broadcast","channel":"c","data":null}');
  });

  it('errorOf: only {"$error": text} alone', () => {
    expect(errorOf({ $error: 'x' })).to.equal('x');
    expect(errorOf({ $error: 'x', y: 1 })).to.equal(undefined);
    expect(errorOf('x')).to.equal(undefined);
  });

  it('hubFrameOf builds exactly the frame the core would decode from the encoding', () => {
    const long = 'x'.repeat(100);
    const messages: Record<string, unknown>[] = [
      { type: 'response', request_id: 'r1', target_id: 'x', data: { a: [1, 2.5, 'é'], b: Buffer.from([1, 2]) }, is_final: true },
      { type: 'call', channel: 'c', event: 'e', data: null, is_stream: false, skipped: undefined },
      { type: 'response', request_id: long, target_id: 'é'.repeat(300), data: 'y'.repeat(70000), is_final: false, error: 'é', code: 'PIPEIO_ERR_REMOTE' },
      { type: `odd-${long}`, request_id: '', target_id: 'y'.repeat(31), data: 'z'.repeat(32), n: 2n ** 60n },
    ];
    for (const m of [...messages, ...messages]) {
      const built = hubFrameOf(m);
      const decoded = decodeHubFrame(encodeFrame(m).subarray(4));
      expect(built.raw.equals(decoded.raw), String(m['type'])).to.equal(true);
      expect(Array.from(built.spans)).to.deep.equal(Array.from(decoded.spans));
      expect(built.keys).to.deep.equal(decoded.keys);
      expect(built.type).to.equal(decoded.type);
    }
  });
});
