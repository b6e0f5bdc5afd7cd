/**
 * The comm-ipc payload codec: one MessagePack map per frame, string keys,
 * str and bin distinct, no ext types, no `undefined` turned into nil.
 *
 * Two decoders, one job each:
 * - {@link decodeHubFrame} (the hub) decodes a payload in one msgpackr pass
 *   into a `Map` and checks every entry. The hub reads routing keys from the
 *   decoded values and forwards every other value as the sender's exact
 *   bytes (./stamp.ts): a float 1.0 stays a float, a uint64 stays exact, bin
 *   stays bin, whatever JavaScript would make of them. The entries' byte
 *   spans (msgpackr's `unpackMultiple`) are found only when a value must be
 *   replaced. Nested maps decode as `Map`s so non-string keys and invalid
 *   UTF-8 (which the Python decoder refuses) are caught here.
 * - {@link decodeClientFrame} (the client) decodes to plain objects for users.
 *
 * Only the map header (1, 3 or 5 bytes) is read by hand; every value goes
 * through msgpackr.
 */
import { Packr, Unpackr } from 'msgpackr';
import { pipeIOError, type PipeIOError } from '../../errors';
import { FRAME_HEADER_BYTES } from './frame-reader';

const packr = new Packr({
  useRecords: false,
  variableMapSize: true,
  encodeUndefinedAsNil: true,
  // Key presence matters on this wire: an undefined property is omitted, never sent as nil.
  skipValues: [undefined],
} as ConstructorParameters<typeof Packr>[0] & { skipValues: unknown[] });

const hubUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'bigint' });
// 'auto': a number while it is exact, a bigint beyond 2^53 (msgpackr supports it; its typings lag).
const clientUnpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: 'auto',
} as unknown as ConstructorParameters<typeof Unpackr>[0]);

/** Deepest nesting accepted inside a frame. */
export const MAX_NESTING = 64;

/** The top-level fields of a frame, by key. */
export type Fields = ReadonlyMap<string, unknown>;

/** A frame as the hub sees it: decoded top-level fields plus their byte spans. */
export interface HubFrame {
  /** The `type` field (always a string). */
  readonly type: string;
  /** Decoded top-level fields (the last value of a repeated key); nested maps are `Map`s too. */
  readonly fields: Fields;
  /** Top-level keys in wire order. */
  readonly keys: string[];
  /** Per key (same order): [keyStart, valueStart, valueEnd] offsets into `raw` (computed on first use). */
  readonly spans: ArrayLike<number>;
  /** The payload (without the length header). */
  readonly raw: Buffer;
}

function protocolError(message: string, cause?: unknown): PipeIOError {
  return pipeIOError('PIPEIO_ERR_PROTOCOL', message, cause === undefined ? undefined : { cause });
}

/**
 * A decoded frame. The byte spans of its entries are found only when asked
 * for (a second pass with `unpackMultiple`): routing needs them only to
 * replace a value, which a well-behaved client's frames never require.
 */
class DecodedFrame implements HubFrame {
  private spanCache: Int32Array | undefined;
  constructor(
    readonly type: string,
    readonly fields: Fields,
    readonly keys: string[],
    readonly raw: Buffer,
  ) {}

  get spans(): ArrayLike<number> {
    return (this.spanCache ??= entrySpans(this.raw, this.keys.length));
  }
}

/** Offsets of the entries of the map in `raw` (already validated), as {@link HubFrame.spans}. */
let sSpans: Int32Array = new Int32Array(0);
let sKeys: unknown[] | undefined;
let sValues: unknown[] = [];
let sIndex = 0;
let sKeyStart = 0;
let sBase = 0;
function onSpan(value: unknown, start: number, end: number): boolean {
  const i = sIndex++;
  if ((i & 1) === 0) {
    sKeyStart = sBase + start;
    if (sKeys !== undefined) sKeys.push(value);
  } else {
    if (sKeys !== undefined) sValues.push(value);
    const at = (i >> 1) * 3;
    sSpans[at] = sKeyStart;
    sSpans[at + 1] = sBase + start;
    sSpans[at + 2] = sBase + end;
  }
  return true;
}

/** Bytes of the map header that starts with byte `b` (fixmap, map16, map32). */
export function mapHeaderLength(b: number): number {
  return b === 0xde ? 3 : b === 0xdf ? 5 : 1;
}

function entrySpans(raw: Buffer, count: number, keys?: unknown[], values?: unknown[]): Int32Array {
  const spans = new Int32Array(count * 3);
  if (count === 0) return spans;
  const headerLength = mapHeaderLength(raw[0]!);
  sSpans = spans;
  sKeys = keys;
  sValues = values ?? [];
  sIndex = 0;
  sBase = headerLength;
  try {
    hubUnpackr.unpackMultiple(raw.subarray(headerLength), onSpan as (value: unknown) => boolean);
  } finally {
    sKeys = undefined;
    sValues = [];
  }
  return spans;
}

// The decode in progress (decoding is synchronous, so one set of state suffices):
// U+FFFD characters seen by the walk, and where onEntry records the keys.
let replacementChars = 0;
let eKeys: string[] = [];
let eIndex = 0;
/** Checks one top-level entry and records its key (Map#forEach order: wire order). */
function onEntry(value: unknown, key: unknown): void {
  checkEntry(key, value);
  eKeys[eIndex++] = key as string;
}

function checkEntry(key: unknown, value: unknown): void {
  if (typeof key !== 'string') throw protocolError('map keys must be strings');
  // Frames become plain objects further on (plugins' JSON, nested maps): this one key would set a prototype.
  if (key === '__proto__') throw protocolError('the key "__proto__" is not allowed');
  if (key.includes('\uFFFD')) replacementChars += countChar(key);
  if (typeof value === 'object' || typeof value === 'string') walk(value, 1);
  else if (value === undefined) throw protocolError('MessagePack ext types are not allowed'); // msgpackr's fixext 0
}

/**
 * Decodes and validates one payload for the hub. Throws `PIPEIO_ERR_PROTOCOL`
 * for anything a Python peer would choke on: not a map, non-string keys,
 * invalid UTF-8, ext types, a missing or non-string `type`,
 * nesting deeper than {@link MAX_NESTING}, bytes after the map.
 */
export function decodeHubFrame(raw: Buffer): HubFrame {
  if (raw.length === 0) throw protocolError('empty frame: the payload must be a MessagePack map');
  const b = raw[0]!;
  if (!((b >= 0x80 && b <= 0x8f) || (b === 0xde && raw.length >= 3) || (b === 0xdf && raw.length >= 5))) {
    throw protocolError('the payload is not a MessagePack map');
  }
  const count = b <= 0x8f ? b & 0x0f : b === 0xde ? raw.readUInt16BE(1) : raw.readUInt32BE(1);
  if (count * 2 > raw.length - mapHeaderLength(b)) throw protocolError('map header announces more entries than the frame holds');
  let map: Map<unknown, unknown>;
  try {
    map = hubUnpackr.unpack(raw) as Map<unknown, unknown>;
  } catch (err) {
    throw protocolError(`malformed MessagePack: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  const keys = new Array<string>(count);
  let fields: Map<string, unknown>;
  replacementChars = 0;
  if (map.size === count) {
    eKeys = keys;
    eIndex = 0;
    try {
      map.forEach(onEntry);
    } finally {
      eKeys = [];
    }
    fields = map as Map<string, unknown>;
  } else {
    // Repeated keys: Python keeps the last value; every entry is checked and forwarded as sent.
    const wireKeys: unknown[] = [];
    const wireValues: unknown[] = [];
    entrySpans(raw, count, wireKeys, wireValues);
    fields = new Map();
    for (let i = 0; i < count; i++) {
      checkEntry(wireKeys[i], wireValues[i]);
      keys[i] = wireKeys[i] as string;
      fields.set(keys[i]!, wireValues[i]);
    }
  }
  const type = fields.get('type');
  if (typeof type !== 'string') throw protocolError('the frame has no string "type"');
  // msgpackr replaces invalid UTF-8 with U+FFFD. A genuine U+FFFD is the bytes
  // EF BF BD on the wire, so more replacement characters than such byte runs
  // means the sender's text was not UTF-8.
  if (replacementChars > 0 && replacementChars > countReplacementBytes(raw)) {
    throw protocolError('a string is not valid UTF-8');
  }
  return new DecodedFrame(type, fields, keys, raw);
}

/** Walks one decoded value: string keys only, no ext objects, bounded depth; counts U+FFFD. */
function walk(value: unknown, depth: number): void {
  if (depth > MAX_NESTING) throw protocolError(`nesting deeper than ${MAX_NESTING}`);
  if (typeof value === 'string') {
    if (value.includes('\uFFFD')) replacementChars += countChar(value);
    return;
  }
  if (value === undefined) throw protocolError('MessagePack ext types are not allowed'); // msgpackr's fixext 0
  if (value === null || typeof value !== 'object') return; // number, bigint, boolean
  if (value instanceof Uint8Array) return; // bin (Buffer)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], depth + 1);
    return;
  }
  if (value instanceof Map) {
    for (const [k, v] of value) {
      if (typeof k !== 'string') throw protocolError('map keys must be strings');
      if (k.includes('\uFFFD')) replacementChars += countChar(k);
      walk(v, depth + 1);
    }
    return;
  }
  throw protocolError('MessagePack ext types are not allowed');
}

function countChar(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\uFFFD'); i !== -1; i = s.indexOf('\uFFFD', i + 1)) n++;
  return n;
}

const REPLACEMENT_BYTES = Buffer.from([0xef, 0xbf, 0xbd]);
function countReplacementBytes(raw: Buffer): number {
  let n = 0;
  for (let i = raw.indexOf(REPLACEMENT_BYTES); i !== -1; i = raw.indexOf(REPLACEMENT_BYTES, i + 3)) n++;
  return n;
}

/** Decodes a payload for a client: plain objects, bigint only beyond 2^53. */
export function decodeClientFrame(raw: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = clientUnpackr.unpack(raw);
  } catch (err) {
    throw protocolError(`malformed MessagePack: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw protocolError('the payload is not a MessagePack map');
  }
  return value as Record<string, unknown>;
}

/** Encodes one value (no frame header). */
export function packValue(value: unknown): Buffer {
  return packr.pack(value);
}

/** Encodes an object as a whole frame: length header + MessagePack map. */
export function encodeFrame(message: object): Buffer {
  const body = packr.pack(message);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, FRAME_HEADER_BYTES);
  return out;
}

/** Converts decoded `Map`s (hub decoding) into plain objects, recursively. */
export function mapsToObjects(value: unknown): unknown {
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[String(k)] = mapsToObjects(v);
    return out;
  }
  if (Array.isArray(value)) return value.map(mapsToObjects);
  return value;
}
