/**
 * JSON in and out of the hub's value space. The hub carries msgpack: bytes
 * (Buffer) and 64-bit integers (bigint) have no JSON form, so answers write
 * bytes as base64 strings and bigints as decimal strings (exact, unlike a
 * double). Plain values take the fast path of JSON.stringify.
 *
 * JSON from the web is held to what the hub accepts in a frame
 * ({@link parseWebJson}): a frame the hub cannot take closes the link that
 * sent it, and the gateway's link carries every web client's calls.
 */
import { MAX_NESTING } from '../hub/protocol/codec';

/** Deepest JSON from the web, in levels (the hub refuses frames nested past MAX_NESTING; envelopes add a few). */
export const MAX_JSON_DEPTH = MAX_NESTING / 2;

/** A `\uD800`-`\uDFFF` escape: the only way a lone surrogate gets into parsed JSON (decoded UTF-8 has none). */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Parses JSON text from a web client and checks it fits in a hub frame:
 * nested at most {@link MAX_JSON_DEPTH} levels, and no lone surrogate
 * (`"\ud800"` parses, but is not Unicode text: msgpack cannot carry it as UTF-8).
 * @throws {SyntaxError} Not JSON.
 * @throws {RangeError} JSON a hub frame cannot carry (the message says why).
 */
export function parseWebJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  const checkStrings = SURROGATE_ESCAPE.test(text);
  // Each level takes two characters at least: a short text cannot nest too deep.
  const checkDepth = text.length > 2 * MAX_JSON_DEPTH;
  if (typeof value === 'object' && value !== null && (checkDepth || checkStrings)) fitsFrame(value, 1, checkStrings);
  else if (checkStrings && typeof value === 'string' && LONE_SURROGATE.test(value)) throw loneSurrogate();
  return value;
}

function fitsFrame(value: object, depth: number, checkStrings: boolean): void {
  if (depth > MAX_JSON_DEPTH) throw new RangeError(`it nests deeper than ${MAX_JSON_DEPTH} levels`);
  const isArray = Array.isArray(value);
  for (const key in value) {
    if (checkStrings && !isArray && LONE_SURROGATE.test(key)) throw loneSurrogate();
    const v = (value as Record<string, unknown>)[key];
    if (typeof v === 'object' && v !== null) fitsFrame(v, depth + 1, checkStrings);
    else if (checkStrings && typeof v === 'string' && LONE_SURROGATE.test(v)) throw loneSurrogate();
  }
}

function loneSurrogate(): RangeError {
  return new RangeError('a string holds a lone surrogate (a \\ud800-\\udfff escape without its pair), which is not Unicode text');
}

/** A JSON.stringify replacer for hub values (reads the raw value: Buffer.toJSON would run first). */
function hubReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** JSON text of a hub value (`undefined` becomes `null`). */
export function toJson(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value !== 'object') {
    if (typeof value === 'bigint') return JSON.stringify(value.toString());
    return JSON.stringify(value);
  }
  return JSON.stringify({ v: value }, hubReplacer).slice(5, -1);
}
