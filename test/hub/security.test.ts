import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { PipeIOError } from '../../lib/errors';
import { PyFloat, pythonJson } from '../../lib/hub/security/python-json';
import {
  channelProof,
  connectionProof,
  connectionSecretHash,
  deriveMessageKey,
  deriveMessageKeySync,
  randomChallenge,
  randomHexChallenge,
  safeEqualHex,
  SIGNABLE_KEYS,
  signablePayload,
  signFrame,
  verifyFrame,
} from '../../lib/hub/security/signing';
import { PYTHON } from '../fixtures/python-env';
import { needsTools } from '../fixtures/tools';

/**
 * Values travel to Python as tagged JSON, so that int/float, map-key types and
 * bytes survive: ['s', str] ['i', decimal] ['f', repr] ['b', bool] ['n']
 * ['y', hex] ['a', [items]] ['o', [[key, value], ...]].
 */
type Tagged = [string, ...unknown[]];

function tag(v: unknown): Tagged {
  if (typeof v === 'string') return ['s', v];
  if (typeof v === 'bigint') return ['i', v.toString()];
  if (typeof v === 'number') return Number.isInteger(v) ? ['i', BigInt(v).toString()] : ['f', String(v)];
  if (typeof v === 'boolean') return ['b', v];
  if (v === null || v === undefined) return ['n'];
  if (v instanceof PyFloat) return ['f', Object.is(v.value, -0) ? '-0' : String(v.value)];
  if (v instanceof Uint8Array) return ['y', Buffer.from(v).toString('hex')];
  if (Array.isArray(v)) return ['a', v.map(tag)];
  const entries: [unknown, unknown][] = v instanceof Map ? [...v] : Object.entries(v as object);
  return ['o', entries.filter(([, x]) => x !== undefined).map(([k, x]) => [tag(k), tag(x)])];
}

const PY_DUMPS = `
import sys, json, hmac, hashlib
def dec(t):
    k = t[0]
    if k == 's' or k == 'b': return t[1]
    if k == 'i': return int(t[1])
    if k == 'f': return float(t[1])
    if k == 'n': return None
    if k == 'y': return bytes.fromhex(t[1])
    if k == 'a': return [dec(x) for x in t[1]]
    return {dec(a): dec(b) for a, b in t[1]}
out = []
for case in json.load(sys.stdin):
    try:
        out.append({'ok': json.dumps(dec(case), sort_keys=True, separators=(',', ':'))})
    except Exception as e:
        out.append({'err': type(e).__name__})
print(json.dumps(out))
`;

/** Runs Python's json.dumps over every value; one result per value. */
function pythonDumps(values: unknown[]): { ok?: string; err?: string }[] {
  const r = spawnSync(PYTHON, ['-c', PY_DUMPS], { input: JSON.stringify(values.map(tag)), encoding: 'utf8' });
  expect(r.error, 'python3 must be runnable').to.equal(undefined);
  expect(r.status, r.stderr).to.equal(0);
  const out = JSON.parse(r.stdout) as { ok?: string; err?: string }[];
  expect(out).to.have.length(values.length);
  return out;
}

function ours(v: unknown): { ok?: string; err?: string } {
  try {
    return { ok: pythonJson(v) };
  } catch (err) {
    expect(err).to.be.instanceOf(PipeIOError);
    expect((err as PipeIOError).code).to.equal('PIPEIO_ERR_INVALID_SIGNATURE');
    return { err: 'TypeError' };
  }
}

/** Deterministic PRNG (mulberry32), so a failing fuzz case can be reproduced. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FLOATS = [
  0.1, 0.5, 1.5, -2.5, 1e-5, 1.5e-7, 0.0001, 0.00012345, 123456789.123, 5e-324, 1 / 3, 0.30000000000000004,
  1e15 + 0.5, 4503599627370495.5, NaN, Infinity, -Infinity, 2.2250738585072014e-308,
];
const PY_FLOATS = [1, 0, -0, 100, 1e16, 1e15, 9999999999999998, 1e22, -2.5e20, 1.7976931348623157e308, 12345678901234567, 1e-4, 1e-5, 5e-324];
const INTS = [0, -0, 1, -1, 2 ** 53 + 2, 2 ** 70, 1e16, 1e21, 1.7976931348623157e308, 2n ** 70n, -(2n ** 70n), 9007199254740993n];
const STRINGS = [
  '', 'plain', '"quoted" \\ back/slash', '\x7f', 'é', 'naïve 中文', '😀', 'a\u2028b\u2029', '\ufeff\uffff\ue000',
  Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join(''), '\ud800', 'x\udc00y', '\ud83d', '\x80\xff',
];
const OBJECTS: unknown[] = [
  { b: 1, a: 2, aa: 3, '': 4, A: 5 },
  { '\uffff': 1, '😀': 2, '\ue000': 3, z: { '\uffff': [1, { '😀': null, '\uff61': true }], '\u{1f600}x': 0.5 } },
  { '10': 1, '9': 2, '-1': 3, '1.5': 4 },
  { keep: 1, gone: undefined, nested: { gone: undefined } },
  [1, undefined, null, [], {}, [[]], 'x'],
  new Map<unknown, unknown>([['b', 1], ['a', new Map([['😀', 1], ['\uffff', 2]])], ['u', undefined]]),
  new Map<unknown, unknown>([[10, 'a'], [9, 'b'], [2n ** 70n, 'c'], [-1, 'd'], [new PyFloat(1.5), 'e'], [0.25, 'f']]),
  { data: { list: [1, new PyFloat(2), 3.5, 'é'], t: true, f: false, n: null } },
  // Not serialisable in Python either: bytes (TypeError), mixed key types (TypeError on sort).
  Buffer.from('hi'),
  { nested: [new Uint8Array([1, 2])] },
  new Map<unknown, unknown>([['a', 1], [1, 2]]),
];

describe('hub security', () => {
  describe('pythonJson', () => {
    before(needsTools('python3'));
    it('writes the forms the protocol document names (8.1), independently of Python', () => {
      expect(pythonJson(new PyFloat(1))).to.equal('1.0');
      expect(pythonJson(new PyFloat(1e16))).to.equal('1e+16');
      expect(pythonJson(1.5e-7)).to.equal('1.5e-07');
      expect(pythonJson(1e-5)).to.equal('1e-05');
      expect(pythonJson(new PyFloat(-2.5e20))).to.equal('-2.5e+20');
      expect(pythonJson(new PyFloat(-0))).to.equal('-0.0');
      expect(pythonJson([NaN, Infinity, -Infinity])).to.equal('[NaN,Infinity,-Infinity]');
      expect(pythonJson(1e16)).to.equal('10000000000000000');
      expect(pythonJson(2n ** 70n)).to.equal('1180591620717411303424');
      expect(pythonJson('\x7f\u00e9\u{1f600}')).to.equal('"\\u007f\\u00e9\\ud83d\\ude00"');
      expect(pythonJson('"\\\n\r\t\b\f\x01')).to.equal('"\\"\\\\\\n\\r\\t\\b\\f\\u0001"');
      expect(pythonJson({ b: [true, false, null], a: { d: 1, c: 2 } })).to.equal('{"a":{"c":2,"d":1},"b":[true,false,null]}');
      expect(pythonJson({ '\uffff': 1, '\u{1f600}': 2 })).to.equal('{"\\uffff":1,"\\ud83d\\ude00":2}');
      expect(pythonJson({ a: undefined, b: [undefined] })).to.equal('{"b":[null]}');
    });

    it('matches Python json.dumps byte for byte on a table of tricky values', function () {
      this.timeout(20000);
      const values: unknown[] = [
        ...FLOATS,
        ...PY_FLOATS.map((f) => new PyFloat(f)),
        ...INTS,
        ...STRINGS,
        ...OBJECTS,
        true,
        false,
        null,
      ];
      const expected = pythonDumps(values);
      values.forEach((v, i) => expect(ours(v), `case ${i}: ${String(tag(v))}`).to.deep.equal(expected[i]));
      // The comparison has teeth: plenty of these differ from JSON.stringify, and
      // the error cases really are errors in Python.
      const differ = values.filter((v, i) => {
        try {
          return JSON.stringify(v) !== expected[i]?.ok;
        } catch {
          return true;
        }
      });
      expect(differ.length).to.be.greaterThan(40);
      expect(expected.filter((r) => r.err !== undefined)).to.have.length(3);
    });

    it('matches Python on 4000 random doubles, strings and nested values (seeded)', function () {
      this.timeout(20000);
      const rnd = prng(0x5eed);
      const view = new DataView(new ArrayBuffer(8));
      const values: unknown[] = [];
      for (let i = 0; i < 2000; i++) {
        view.setUint32(0, Math.floor(rnd() * 2 ** 32));
        view.setUint32(4, Math.floor(rnd() * 2 ** 32));
        values.push(new PyFloat(view.getFloat64(0)));
      }
      for (let i = 0; i < 1000; i++) values.push((rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20));
      const randomString = (): string =>
        Array.from({ length: Math.floor(rnd() * 6) }, () =>
          String.fromCharCode(rnd() < 0.5 ? Math.floor(rnd() * 0x80) : Math.floor(rnd() * 0x10000)),
        ).join('');
      for (let i = 0; i < 1000; i++) {
        const obj: Record<string, unknown> = {};
        for (let k = 0; k < 4; k++) obj[randomString()] = k % 2 === 0 ? randomString() : [rnd(), BigInt(i) ** 5n];
        values.push(obj);
      }
      const expected = pythonDumps(values);
      const mismatches = values
        .map((v, i) => ({ i, ours: ours(v), python: expected[i] }))
        .filter((m) => JSON.stringify(m.ours) !== JSON.stringify(m.python));
      expect(mismatches.slice(0, 5)).to.deep.equal([]);
    });

    it('refuses bytes with PIPEIO_ERR_INVALID_SIGNATURE, as Python raises TypeError', () => {
      for (const v of [Buffer.from('x'), new Uint8Array(2), { data: [new Uint8Array(1)] }, new ArrayBuffer(1)]) {
        expect(() => pythonJson(v)).to.throw(PipeIOError, /bytes cannot be signed/).with.property('code', 'PIPEIO_ERR_INVALID_SIGNATURE');
      }
    });

    it('refuses circular values and non-JSON types with PIPEIO_ERR_INVALID_SIGNATURE', () => {
      const loop: Record<string, unknown> = {};
      loop['self'] = loop;
      for (const v of [loop, [() => 1], Symbol('s'), new Date(0), new Set([1])]) {
        expect(() => pythonJson(v)).to.throw(PipeIOError).with.property('code', 'PIPEIO_ERR_INVALID_SIGNATURE');
      }
      const shared = { x: 1 };
      expect(pythonJson([shared, shared])).to.equal('[{"x":1},{"x":1}]'); // repeated is not circular
    });
  });

  describe('connection secret (2.4)', () => {
    const H = '190aec7389a3b0b5b6c67ac2756cb7b7bc6e5d936ae83d34f55a150a67a13003';
    const PROOF = '412e5fb89207a1cf0e97659e7b8419d05ad9cdfd1d75f60abbdf690a9a2b582d';
    const ZEROS = '0'.repeat(64);

    it('hashes the secret and proves the all-zero challenge as the document says', () => {
      expect(connectionSecretHash('top-secret')).to.equal(H);
      expect(signablePayload({ challenge: ZEROS })).to.equal(`challenge:"${ZEROS}"`);
      expect(connectionProof('top-secret', ZEROS)).to.equal(PROOF);
      expect(connectionProof({ hash: H }, ZEROS)).to.equal(PROOF);
      expect(connectionProof('top-secret', '1'.repeat(64))).to.not.equal(PROOF);
    });

    it('treats a string as the plaintext secret even when it looks like a hash', () => {
      expect(connectionProof(H, ZEROS)).to.not.equal(PROOF);
      expect(connectionProof(H, ZEROS)).to.equal(connectionProof({ hash: connectionSecretHash(H) }, ZEROS));
      expect(() => connectionProof({ hash: H.toUpperCase() }, ZEROS)).to.throw(TypeError);
    });
  });

  describe('channel password (4.2)', () => {
    it('gives the document vector for password 1234', () => {
      expect(channelProof('1234', 'AbCdEfGhIjKlMnOpQrStUvWxYz012345')).to.equal(
        '7c3ad2d671be79c9d5ff1cab9d28725393d6ca930bd900961661e89d3045c0ce',
      );
    });
  });

  describe('message signatures (8.1)', () => {
    const KEY_HEX = 'ef327cacc87c1ed907f46af16f02a281807f5f0f878d5a67dc446c277dbab375';
    const FRAME = {
      type: 'call', server_id: 'X', path: ['p'], metadata: { m: 1 }, mode: 'm', signature: 'ignored',
      timestamp: 1700000000, target_id: null, sub_name: null, sender_id: 'A', request_id: null,
      origin_server_id: 'S', is_stream: false, is_final: true, event: 'e', data: { x: 1 }, channel: 'c',
    };
    const CANONICAL =
      'channel:"c"|data:{"x":1}|event:"e"|is_final:true|is_stream:false|origin_server_id:"S"|request_id:null|sender_id:"A"|sub_name:null|target_id:null|timestamp:1700000000';
    const SIG = '06b9ed4d1e6373c0e5ae0471a20de6ed40254317a47cd6a77af5f4bd9c826db2';

    it('lists the twelve signable keys in code-point order', () => {
      expect(SIGNABLE_KEYS).to.have.length(12);
      expect([...SIGNABLE_KEYS]).to.deep.equal([...SIGNABLE_KEYS].sort());
      expect(SIGNABLE_KEYS).to.include.members(['sender_id', 'challenge', 'sub_name', 'origin_server_id']);
    });

    it('derives the pw/c key, sync and async (the async one leaves the event loop free)', async () => {
      expect(deriveMessageKeySync('pw', 'c').toString('hex')).to.equal(KEY_HEX);
      const order: string[] = [];
      setImmediate(() => order.push('immediate'));
      const key = await deriveMessageKey('pw', 'c').then((k) => (order.push('key'), k));
      expect(key.toString('hex')).to.equal(KEY_HEX);
      expect(order).to.deep.equal(['immediate', 'key']);
    });

    it('builds the canonical string and signature of the full worked vector', () => {
      const key = Buffer.from(KEY_HEX, 'hex');
      expect(signablePayload(FRAME)).to.equal(CANONICAL);
      expect(signFrame(key, FRAME)).to.equal(SIG);
      expect(verifyFrame(key, FRAME, SIG)).to.equal(true);
      expect(verifyFrame(key, { ...FRAME, data: { x: 2 } }, SIG)).to.equal(false);
      expect(verifyFrame(key, { ...FRAME, data: { x: new PyFloat(1) } }, SIG)).to.equal(false); // 1.0 is not 1
      expect(verifyFrame(key, FRAME, SIG.toUpperCase())).to.equal(false);
      expect(verifyFrame(key, FRAME, SIG.slice(1))).to.equal(false);
      expect(verifyFrame(key, FRAME, null)).to.equal(false);
      expect(verifyFrame(Buffer.alloc(32), FRAME, SIG)).to.equal(false);
    });

    it('covers only present keys: null is present, undefined and missing are not', () => {
      expect(signablePayload({ event: 'e', request_id: null, channel: undefined, extra: 1 })).to.equal('event:"e"|request_id:null');
      expect(signablePayload({})).to.equal('');
    });

    it('refuses to sign bytes, and verifyFrame answers false instead of throwing', () => {
      const key = Buffer.from(KEY_HEX, 'hex');
      const frame = { ...FRAME, data: Buffer.from('raw') };
      expect(() => signFrame(key, frame)).to.throw(PipeIOError, /bytes/).with.property('code', 'PIPEIO_ERR_INVALID_SIGNATURE');
      expect(verifyFrame(key, frame, SIG)).to.equal(false);
    });
  });

  describe('random challenges and comparison', () => {
    it('draws 32-char alphanumeric and 64-char hex challenges, all distinct', () => {
      const alnum = Array.from({ length: 200 }, randomChallenge);
      const hex = Array.from({ length: 200 }, randomHexChallenge);
      for (const c of alnum) expect(c).to.match(/^[A-Za-z0-9]{32}$/);
      for (const c of hex) expect(c).to.match(/^[0-9a-f]{64}$/);
      expect(new Set(alnum).size).to.equal(200);
      expect(new Set(hex).size).to.equal(200);
      expect(new Set(alnum.join('')).size).to.be.greaterThan(55); // uses the whole alphabet
    });

    it('safeEqualHex compares exactly and never throws', () => {
      expect(safeEqualHex('ab12', 'ab12')).to.equal(true);
      expect(safeEqualHex('ab12', 'ab13')).to.equal(false);
      expect(safeEqualHex('ab12', 'AB12')).to.equal(false);
      expect(safeEqualHex('ab12', 'ab1')).to.equal(false);
      expect(safeEqualHex('', '')).to.equal(true);
      expect(safeEqualHex('\ud800', '\ud801')).to.equal(false);
      expect(safeEqualHex('é', 'e\u0301'.slice(0, 1))).to.equal(false);
      for (const [a, b] of [[1, 1], [null, null], ['a', undefined], [Buffer.from('a'), 'a']] as [unknown, unknown][]) {
        expect(safeEqualHex(a, b)).to.equal(false);
      }
    });
  });
});
