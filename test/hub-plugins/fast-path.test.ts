/** The plugin member's per-call shortcuts: call lines from MessagePack bytes, answer frames, one-timer timeouts. */
import { expect } from 'chai';
import { CallDeadlines } from '../../lib/hub/plugins/call-deadlines';
import { CallLines } from '../../lib/hub/plugins/call-lines';
import { JsonToMsgpack } from '../../lib/hub/plugins/json-msgpack';
import { fromJsonText, toJsonText } from '../../lib/hub/plugins/json-value';
import { envelopeLine, parsePluginLine, plainAnswerSpan } from '../../lib/hub/plugins/line-protocol';
import { responseFrame } from '../../lib/hub/plugins/member-link';
import { peekCall } from '../../lib/hub/plugins/call-peek';
import { JsonLineWriter, skipValue } from '../../lib/hub/plugins/msgpack-json';
import { decodeClientFrame, decodeHubFrame, encodeFrame, packValue } from '../../lib/hub/protocol/codec';
import { waitFor } from '../fixtures/helpers';

/** A call frame's payload (what the core delivers, without the length header). */
function payloadOf(message: object): Buffer {
  return encodeFrame(message).subarray(4);
}

/** The raw bytes of one MessagePack value. */
function packed(value: unknown): Buffer {
  return payloadOf({ v: value }).subarray(3);
}

function jsonOf(raw: Buffer): string | undefined {
  const w = new JsonLineWriter();
  return w.value(raw, 0, raw.length) ? w.view().toString('utf8') : undefined;
}

describe('Hub plugins: per-call fast path', () => {
  describe('JsonLineWriter.value (MessagePack -> JSON text)', () => {
    it('writes what toJsonText of the decoded value writes', () => {
      const values: unknown[] = [
        null,
        true,
        false,
        0,
        7,
        127,
        128,
        -1,
        -32,
        -33,
        -129,
        65535,
        -40000,
        2 ** 32 - 1,
        2 ** 32,
        -(2 ** 31) - 1,
        2 ** 53 - 1,
        2n ** 64n - 1n,
        -(2n ** 63n),
        1.5,
        -0.1,
        1e300,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        '',
        'plain text',
        'quote " backslash \\ tab \t newline \n nul \u0000 del \u007f',
        'é ü 😀 \u2028',
        'x'.repeat(40),
        'y'.repeat(300),
        'z'.repeat(70000),
        Buffer.from([0, 1, 2, 0xff, 0x0a]),
        Buffer.alloc(300, 7),
        [],
        [1, [2, [3, 'four']], { five: 5 }],
        Array.from({ length: 20 }, (_, i) => i),
        {},
        { text: 'hello hub plugin', n: 42 },
        { nested: { deep: { deeper: [null, true, { b: Buffer.from('hi') }] } } },
        Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
      ];
      for (const v of values) {
        const raw = packed(v);
        const expected = toJsonText((decodeClientFrame(payloadOf({ v })) as { v: unknown }).v);
        expect(jsonOf(raw), String(v).slice(0, 40)).to.equal(expected);
      }
    });

    it('keeps map keys in wire order (an object moves integer-like keys first)', () => {
      expect(jsonOf(packed(new Map<string, number>([['b', 1], ['2', 2]])))).to.equal('{"b":1,"2":2}');
    });

    it('returns false for what it does not cover: ext types, non-string keys, truncation', () => {
      expect(jsonOf(Buffer.from([0xd4, 0x01, 0x00]))).to.equal(undefined); // fixext 1
      expect(jsonOf(packed(new Map<unknown, number>([[1, 1]])))).to.equal(undefined);
      expect(jsonOf(packed('truncated').subarray(0, 4))).to.equal(undefined);
      expect(jsonOf(Buffer.from([0xcb, 0, 0]))).to.equal(undefined); // float64 cut short
    });

    it('skipValue finds the end of every kind of value', () => {
      for (const v of [null, 1, -200, 2n ** 64n - 1n, 1.5, 'x'.repeat(300), Buffer.alloc(70000), [1, [2]], { a: { b: [] } }]) {
        const raw = Buffer.concat([packed(v), Buffer.from([0xc0])]);
        expect(skipValue(raw, 0)).to.equal(raw.length - 1);
      }
      expect(skipValue(Buffer.from([0x92, 0x01]), 0)).to.equal(-1);
    });
  });

  describe('JsonToMsgpack (answer line -> MessagePack)', () => {
    const enc = new JsonToMsgpack();
    const convert = (text: string): Buffer | undefined => {
      const out = enc.convert(Buffer.from(text));
      return out && Buffer.from(out);
    };

    it('writes exactly packValue(fromJsonText(line)) for the JSON it covers', () => {
      const texts = [
        'null', 'true', 'false', '0', '-0', '-0.0', '7', '127', '128', '255', '256', '65535', '65536', '4294967295', '4294967296',
        '-1', '-32', '-33', '-128', '-129', '-32768', '-32769', '-2147483648', '-2147483649', '999999999', '-999999999',
        '9007199254740993', '12345678901234567890', '1.5', '-0.1', '1e2', '1E-7', '2.5e+3', '1e999', '0.1e1',
        '""', '"plain"', `"${'x'.repeat(31)}"`, `"${'x'.repeat(32)}"`, `"${'y'.repeat(300)}"`, `"${'z'.repeat(70000)}"`,
        '[]', '[1,2,3]', ' [ 1 , [ 2 , [ ] ] , { } ] ', JSON.stringify(Array.from({ length: 20 }, (_, i) => i)), JSON.stringify(Array.from({ length: 70000 }, () => 1)),
        '{}', '{"text":"hello hub plugin","n":42}', '{"a":{"b":{"c":[true,false,null]}}}', JSON.stringify(Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i]))),
        '{"__proto__":1,"x":2}', '\t{"a" :\r1}\n',
      ].map((t) => t.replace(/\\t/g, '\t').replace(/\\r/g, '\r').replace(/\\n/g, ''));
      for (const text of texts) {
        const out = convert(text);
        expect(out, text.slice(0, 40)).to.not.equal(undefined);
        expect(out!.equals(packValue(fromJsonText(text))), text.slice(0, 40)).to.equal(true);
      }
    });

    it('leaves to the ordinary parse what it does not cover, and what is not JSON', () => {
      for (const text of [
        '"esc\\"aped"', '"é"', '{"1":1,"b":2}', '{"$bytes":"AA=="}', '{"$error":"no"}', '{"a":1,"a":2}',
        JSON.stringify(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i]))),
        'not json', '', ' ', '01', '1.', '-', '.5', '+1', '[1,]', '{"a":1,}', '{"a"}', '[1 2]', 'tru', 'nulls', '{"a":1}}', '"unterminated',
      ]) {
        expect(convert(text), text.slice(0, 40)).to.equal(undefined);
      }
    });

    it('agrees with the ordinary parse on random values', () => {
      let seed = 12345;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const gen = (depth: number): unknown => {
        switch (rand(depth > 3 ? 5 : 7)) {
          case 0: return null;
          case 1: return rand(2) === 0;
          case 2: return [rand(300) - 150, rand(1 << 30) * (rand(2) ? 1 : -1), rand(1000) / 7, 2 ** (rand(70)) + rand(3)][rand(4)];
          case 3: return 'abc XYZ 0123 _-.'.slice(rand(8), 8 + rand(8));
          case 4: return ['é', 'a\nb', 'q"q'][rand(3)];
          case 5: return Array.from({ length: rand(18) }, () => gen(depth + 1));
          default: return Object.fromEntries(Array.from({ length: rand(6) }, (_, i) => [`${['k', '$', '7', 'z'][rand(4)]}${i}`, gen(depth + 1)]));
        }
      };
      for (let i = 0; i < 2000; i++) {
        const text = JSON.stringify(gen(0));
        const out = convert(text);
        if (out) expect(out.equals(packValue(fromJsonText(text))), text).to.equal(true);
      }
    });
  });

  describe('peekCall', () => {
    it('reads the fields of a stamped call frame and the span of its data', () => {
      const data = { text: 'hello', list: [1, 2] };
      const payload = payloadOf({ type: 'call', channel: 'c', event: 'é', data, request_id: 'r1', is_final: true, is_stream: true, sender_id: 'caller', path: ['hub'], timestamp: 1, origin_server_id: 'hub' });
      const peek = peekCall(payload)!;
      expect(peek).to.deep.include({ requestId: 'r1', senderId: 'caller', channel: 'c', event: 'é', isStream: true });
      expect(jsonOf(payload.subarray(peek.dataStart, peek.dataEnd))).to.equal(JSON.stringify(data));
      // the same names again come from the cache
      expect(peekCall(payload)).to.deep.include({ senderId: 'caller', channel: 'c', event: 'é' });
    });

    it('is undefined for other frames and for anything unusual', () => {
      expect(peekCall(payloadOf({ type: 'response', request_id: 'r1', data: 1 }))).to.equal(undefined);
      expect(peekCall(payloadOf({ type: 'call', channel: 'c' })!.subarray(0, 8))).to.equal(undefined);
      expect(peekCall(Buffer.from([0xc0]))).to.equal(undefined);
      const noData = peekCall(payloadOf({ type: 'call', channel: 'c', event: 'e', request_id: 5 }))!;
      expect(noData.dataStart).to.equal(-1);
      expect(noData.requestId).to.equal(undefined);
    });
  });

  describe('CallLines', () => {
    it('writes from the bytes the line it writes from the decoded data, in both modes', () => {
      const frames = [
        { type: 'call', channel: 'c', event: 'e', data: { text: 'hello', n: 42 }, request_id: 'r1', sender_id: 'caller' },
        { type: 'call', channel: 'c', event: 'e', data: [1, 'é', null], request_id: 'r2', sender_id: 'caller', is_stream: true },
        { type: 'call', channel: 'ch "quoted"', event: 'é', request_id: 'r3', sender_id: 'other' },
        { type: 'call', channel: 'c', event: 'e', data: Buffer.from([1, 2]), sender_id: '' },
      ];
      for (const mode of ['line', 'rpc'] as const) {
        const lines = new CallLines(mode);
        for (const f of [...frames, ...frames]) {
          const peek = peekCall(payloadOf(f))!;
          const expected = lines.fromData('7', f.channel, f.event, f.sender_id, f.is_stream === true, (f as { data?: unknown }).data);
          expect(lines.fromPeek(peek, '7')!.toString('utf8'), `${mode} ${JSON.stringify(f)}`).to.equal(expected);
        }
      }
      expect(new CallLines('rpc').fromData('7', 'c', 'e', 'x', true, 1)).to.equal(envelopeLine('call', { request_id: '7', channel: 'c', event: 'e', sender_id: 'x', stream: true, data: 1 }));
    });

    it('leaves data it does not cover to the decoding path', () => {
      const payload = Buffer.concat([payloadOf({ type: 'call', channel: 'c', event: 'e', request_id: 'r' }), Buffer.from([0xa4, 0x64, 0x61, 0x74, 0x61, 0xd4, 0x01, 0x00])]);
      payload[0]! += 1; // one more entry: data, a fixext 1
      const peek = peekCall(payload)!;
      expect(peek.dataStart).to.be.greaterThan(0);
      expect(new CallLines('line').fromPeek(peek, '1')).to.equal(undefined);
    });
  });

  describe('parsePluginLine: plain answers', () => {
    it('reads {"type":"response","request_id":"<digits>","data":…} as the full parse does', () => {
      for (const text of [
        '{"type":"response","request_id":"12","data":{"a":[1,2],"b":{"$bytes":"AQI="}}}',
        '{"type":"response","request_id":"12","data":null}',
        '{"type":"response","request_id":"12","data": "x"}',
        '{"type":"response","request_id":"12","data":1,"is_final":false}',
        '{"type":"response","request_id":"12","data":{"a":1},"error":"no"}',
        '{"type":"response","request_id":"1x","data":1}',
      ]) {
        expect(parsePluginLine(text), text).to.deep.equal(parsePluginLine(` ${text}`));
      }
    });

    it('plainAnswerSpan finds the request id and the data of such a line in its bytes', () => {
      const line = Buffer.from('{"type":"response","request_id":"123","data":{"a":1}}');
      const span = plainAnswerSpan(line)!;
      expect(span.requestId).to.equal('123');
      expect(line.subarray(span.dataStart, line.length - 1).toString()).to.equal('{"a":1}');
      for (const text of ['{"type":"response","request_id":"x1","data":1}', '{"type":"response","request_id":"","data":1}', '{"type":"response","request_id":"1","error":"e"}', '{"type":"response","request_id":"1","data":1']) {
        expect(plainAnswerSpan(Buffer.from(text)), text).to.equal(undefined);
      }
    });

    it('a line that only looks plain is still refused', () => {
      for (const text of ['{"type":"response","request_id":"12","data":1}}', '{"type":"response","request_id":"12","data":{"a":1}', '{"type":"response","request_id":"12","data":"x"}, "y": {"z"}']) {
        expect(() => parsePluginLine(text), text).to.throw(SyntaxError);
      }
    });
  });

  describe('responseFrame', () => {
    it('builds exactly the frame the core would decode from the encoding', () => {
      const bodies = [
        { data: { a: [1, 2.5, 'é'], b: Buffer.from([1, 2]) }, is_final: true },
        { data: null, is_stream: true as const, is_final: false },
        { data: 'y'.repeat(70000), is_stream: true as const, is_final: true },
        { error: 'é'.repeat(300), code: 'PIPEIO_ERR_REMOTE' as const, is_final: true as const },
      ];
      for (const [rid, target] of [['r1', 'caller'], ['x'.repeat(40), 'é'.repeat(20)], ['', 'y'.repeat(300)]] as const) {
        for (const body of bodies) {
          const built = responseFrame(rid, target, body);
          const decoded = decodeHubFrame(encodeFrame({ type: 'response', request_id: rid, target_id: target, ...body }).subarray(4));
          expect(built.raw.equals(decoded.raw)).to.equal(true);
          expect(Array.from(built.spans)).to.deep.equal(Array.from(decoded.spans));
          expect(built.keys).to.deep.equal(decoded.keys);
          expect(built.type).to.equal('response');
          expect(built.fields['request_id']).to.equal(rid);
          expect(built.fields['target_id']).to.equal(target);
          expect(built.fields['is_final']).to.equal(body.is_final);
        }
        const data = { a: [1, 'x'] };
        const built = responseFrame(rid, target, { data: undefined, is_final: true }, packValue(data));
        const decoded = decodeHubFrame(encodeFrame({ type: 'response', request_id: rid, target_id: target, data, is_final: true }).subarray(4));
        expect(built.raw.equals(decoded.raw)).to.equal(true);
        expect(Array.from(built.spans)).to.deep.equal(Array.from(decoded.spans));
        const f = built.fields;
        expect([f['type'], f['request_id'], f['target_id'], f['is_final'], 'data' in f, 'error' in f]).to.deep.equal(['response', rid, target, true, true, false]);
        expect(f['data']).to.deep.equal(data); // decoded on first read
      }
    });
  });

  describe('CallDeadlines', () => {
    it('expires calls in order on one timer; answered and re-armed calls are skipped', async () => {
      const expired: string[] = [];
      const deadlines = new CallDeadlines<{ deadline: number; name: string }>(40, (c) => expired.push(c.name));
      const a = { deadline: 0, name: 'a' };
      const b = { deadline: 0, name: 'b' };
      const c = { deadline: 0, name: 'c' };
      deadlines.arm(a);
      deadlines.arm(b);
      deadlines.arm(c);
      deadlines.disarm(b);
      deadlines.arm(a); // restarted: expires after c
      expect(deadlines.size).to.equal(2);
      await waitFor(() => expired.length === 2, 'both timeouts');
      expect(expired).to.deep.equal(['c', 'a']);
      expect(deadlines.size).to.equal(0);
      deadlines.close();
    });

    it('answers in order keep the queue empty; close() clears the timer', () => {
      const deadlines = new CallDeadlines<{ deadline: number }>(20, () => expect.fail('no call expires'));
      const internals = deadlines as unknown as { calls: unknown[]; timer: NodeJS.Timeout | undefined };
      for (let i = 0; i < 5000; i++) {
        const call = { deadline: 0 };
        deadlines.arm(call);
        deadlines.disarm(call);
      }
      expect(deadlines.size).to.equal(0);
      expect(internals.calls).to.have.length(0);
      deadlines.arm({ deadline: 0 });
      expect(internals.timer).to.not.equal(undefined);
      deadlines.close();
      expect(internals.timer).to.equal(undefined);
      deadlines.arm({ deadline: 0 }); // closed: ignored
      expect(internals.timer).to.equal(undefined);
    });
  });
});
