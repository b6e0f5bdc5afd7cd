/** The plugin member's per-call paths: calls handed over decoded, their lines, answer frames, one-timer timeouts. */
import { expect } from 'chai';
import { CallDeadlines } from '../../lib/hub/plugins/call-deadlines';
import { CallLines } from '../../lib/hub/plugins/call-lines';
import { stringifyJsonText, toJsonText } from '../../lib/hub/plugins/json-value';
import { envelopeLine, parsePluginLine } from '../../lib/hub/plugins/line-protocol';
import { CoreLink, responseFrame, type LinkEvents } from '../../lib/hub/plugins/member-link';
import { decodeClientFrame, decodeHubFrame, encodeFrame } from '../../lib/hub/protocol/codec';
import { stampRouted } from '../../lib/hub/protocol/stamp';
import type { HubCore } from '../../lib/hub/server/core';
import { waitFor } from '../fixtures/helpers';

/** A call frame's payload (what the core delivers, without the length header). */
function payloadOf(message: object): Buffer {
  return encodeFrame(message).subarray(4);
}

/** `value` as the routing core decodes it (Maps, bigints) and as a client does (plain objects). */
function bothDecodings(value: unknown): { hub: unknown; client: unknown } {
  const payload = payloadOf({ type: 'call', v: value });
  return { hub: decodeHubFrame(payload).fields.get('v'), client: decodeClientFrame(payload)['v'] };
}

describe('Hub plugins: per-call fast path', () => {
  describe('toJsonText (hub value -> JSON text)', () => {
    it('writes what the reference conversion writes, from either decoding', () => {
      const values: unknown[] = [
        null, true, false, 0, 7, 127, 128, -1, -32, -33, -129, 65535, -40000, 2 ** 32 - 1, 2 ** 32, -(2 ** 31) - 1, 2 ** 53 - 1,
        2n ** 64n - 1n, -(2n ** 63n), 1.5, -0.1, 1e300, 1e21, 5e-324, -0, Number.NaN, Number.POSITIVE_INFINITY,
        '', 'plain text', 'quote " backslash \\ tab \t newline \n nul \u0000 del \u007f', 'é ü 😀 \u2028', 'x'.repeat(40), 'z'.repeat(70000),
        Buffer.from([0, 1, 2, 0xff, 0x0a]), Buffer.alloc(300, 7), Buffer.alloc(0),
        [], [1, [2, [3, 'four']], { five: 5 }], Array.from({ length: 20 }, (_, i) => i),
        {}, { text: 'hello hub plugin', n: 42 }, { nested: { deep: { deeper: [null, true, { b: Buffer.from('hi') }] } } },
        Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])), { 'é "q"': [], $bytes: 1 },
      ];
      for (const v of values) {
        const { hub, client } = bothDecodings(v);
        const expected = stringifyJsonText(client);
        expect(toJsonText(hub), String(v).slice(0, 40)).to.equal(expected);
        expect(toJsonText(client), String(v).slice(0, 40)).to.equal(expected);
      }
    });

    it('writes values the way JSON.stringify does where the hub has no say (undefined, toJSON, deep nesting)', () => {
      expect(toJsonText(undefined)).to.equal('null');
      expect(toJsonText({ a: undefined, b: 1, c: () => 1 })).to.equal('{"b":1}');
      expect(toJsonText([undefined, () => 1])).to.equal('[null,null]');
      expect(toJsonText(new Map<string, unknown>([['a', undefined], ['b', 1]]))).to.equal('{"b":1}');
      const date = new Date(0);
      expect(toJsonText({ d: date })).to.equal(JSON.stringify({ d: date }));
      let deep: unknown = [Buffer.from('x'), 1n];
      for (let i = 0; i < 100; i++) deep = i % 2 ? [deep] : { k: deep };
      expect(toJsonText(deep)).to.equal(stringifyJsonText(deep));
    });

    it('keeps map keys in wire order (an object moves integer-like keys first)', () => {
      const { hub, client } = bothDecodings(new Map<string, number>([['b', 1], ['2', 2]]));
      expect(toJsonText(hub)).to.equal('{"b":1,"2":2}');
      expect(toJsonText(client)).to.equal('{"2":2,"b":1}');
    });

    it('agrees with the reference conversion on random values', () => {
      let seed = 12345;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const gen = (depth: number): unknown => {
        switch (rand(depth > 3 ? 6 : 8)) {
          case 0: return null;
          case 1: return rand(2) === 0;
          case 2: return [rand(300) - 150, rand(1 << 30) * (rand(2) ? 1 : -1), rand(1000) / 7, 2 ** rand(70) + rand(3), -(2 ** rand(66))][rand(5)];
          case 3: return 'abc XYZ 0123 _-.'.slice(rand(8), 8 + rand(8));
          case 4: return ['é', 'a\nb', 'q"q', '\u0001', '😀', ''][rand(6)];
          case 5: return [Buffer.alloc(rand(5), rand(256)), BigInt(2 ** 53) * BigInt(rand(1000) + 2), -(2n ** 63n) + BigInt(rand(9))][rand(3)];
          case 6: return Array.from({ length: rand(18) }, () => gen(depth + 1));
          default: return Object.fromEntries(Array.from({ length: rand(6) }, (_, i) => [`${['k', '$', 'é', 'z'][rand(4)]}${i}`, gen(depth + 1)]));
        }
      };
      for (let i = 0; i < 2000; i++) {
        const v = gen(0);
        const { hub, client } = bothDecodings(v);
        const expected = stringifyJsonText(client);
        expect(toJsonText(hub), expected).to.equal(expected);
        expect(toJsonText(client), expected).to.equal(expected);
      }
    });
  });

  describe('CoreLink.deliverCall', () => {
    /** A link on a stand-in core that records what reaches its instance. */
    function recordingLink(): { link: CoreLink; calls: unknown[][]; frames: Array<Record<string, unknown>> } {
      const calls: unknown[][] = [];
      const frames: Array<Record<string, unknown>> = [];
      const events: LinkEvents = { frame: (f) => frames.push(f), call: (...args) => calls.push(args), lost: () => undefined };
      const core = { isIdInUse: () => false, attach: () => undefined, detach: () => undefined } as unknown as HubCore;
      return { link: new CoreLink('plugin-1', core, events), calls, frames };
    }

    it('hands over what the stamped frame would carry', () => {
      const { link, calls, frames } = recordingLink();
      const messages = [
        { type: 'call', channel: 'c', event: 'é', data: { text: 'hello', list: [1, 2] }, request_id: 'r1', is_stream: true, sender_id: 'spoofed' },
        { type: 'call', channel: 'c', event: 'e', request_id: 5 },
        { type: 'call', channel: 'c', event: 'e', data: Buffer.from([1]), request_id: '' },
      ];
      for (const m of messages) {
        const frame = decodeHubFrame(payloadOf(m));
        link.deliverCall(frame, 'caller');
        const stamps = { id: 'caller', senderId: payloadOf({ s: 'caller' }).subarray(3), path: payloadOf({ p: ['hub'] }).subarray(3), timestamp: payloadOf({ t: 1 }).subarray(3), origin: payloadOf({ o: 'hub' }).subarray(3) };
        link.deliver(stampRouted(frame, stamps));
      }
      expect(frames).to.have.length(messages.length);
      for (let i = 0; i < messages.length; i++) {
        const f = frames[i]!;
        const [rid, caller, channel, event, isStream, data] = calls[i]!;
        const expectedRid = typeof f['request_id'] === 'string' && f['request_id'] !== '' ? f['request_id'] : undefined;
        expect([rid, caller, channel, event, isStream], JSON.stringify(messages[i])).to.deep.equal([expectedRid, f['sender_id'], f['channel'], f['event'], f['is_stream'] === true]);
        expect(toJsonText(data)).to.equal(toJsonText(f['data']));
      }
      link.close();
      expect(link.deliverCall(decodeHubFrame(payloadOf(messages[0]!)), 'caller')).to.equal(false);
    });
  });

  describe('CallLines', () => {
    it('writes the line envelopeLine writes (rpc), the data alone (line)', () => {
      const calls = [
        ['c', 'e', 'caller', false, new Map<string, unknown>([['text', 'hello'], ['n', 42]])],
        ['c', 'e', 'caller', true, [1, 'é', null]],
        ['ch "quoted"', 'é', 'other', false, undefined],
        ['c', 'e', '', false, Buffer.from([1, 2])],
      ] as const;
      const rpc = new CallLines('rpc');
      const line = new CallLines('line');
      for (const [channel, event, caller, stream, data] of [...calls, ...calls]) {
        expect(rpc.line('7', channel, event, caller, stream, data)).to.equal(envelopeLine('call', { request_id: '7', channel, event, sender_id: caller, stream: stream ? true : undefined, data }));
        expect(line.line('7', channel, event, caller, stream, data)).to.equal(toJsonText(data));
      }
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
          expect(built.fields.get('request_id')).to.equal(rid);
          expect(built.fields.get('target_id')).to.equal(target);
          expect(built.fields.get('is_final')).to.equal(body.is_final);
        }
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
