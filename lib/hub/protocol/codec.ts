/**
 * The comm-ipc payload codec: one MessagePack map per frame, string keys,
 * str and bin distinct, no ext types, no `undefined` turned into nil.
 *
 * Two decoders, one job each:
 * - {@link decodeHubFrame} (the hub) decodes the top-level map key by key
 *   with msgpackr's `unpackMultiple`, which reports each value's byte span.
 *   The hub reads routing keys from the decoded values and forwards every
 *   other value as the sender's exact bytes ({@link restamp}): a float 1.0
 *   stays a float, a uint64 stays exact, bin stays bin, whatever JavaScript
 *   would make of them. Nested maps decode as `Map`s so non-string keys and
 *   invalid UTF-8 (which the Python decoder refuses) are caught here.
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

/** A frame as the hub sees it: decoded top-level fields plus their byte spans. */
export interface HubFrame {
  /** The `type` field (always a string). */
  readonly type: string;
  /** Decoded top-level fields (own properties only; read known keys); nested maps are `Map`s. */
  readonly fields: Record<string, unknown>;
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
    readonly fields: Record<string, unknown>,
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

function mapHeaderLength(b: number): number {
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

/** The decode in progress (decoding is synchronous, so one set of state suffices). */
/** U+FFFD characters seen by the walk in progress. */
let replacementChars = 0;
let eKeys: string[] = [];
let eFields: Record<string, unknown> = {};
let eIndex = 0;
/** Checks one top-level entry and takes it into the frame (Map#forEach order: wire order). */
function onEntry(value: unknown, key: unknown): void {
  checkEntry(key, value);
  eKeys[eIndex++] = key as string;
  eFields[key as string] = value;
}

function checkEntry(key: unknown, value: unknown): void {
  if (typeof key !== 'string') throw protocolError('map keys must be strings');
  // `fields` is a plain object (fast property stores); this one key would set its prototype.
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
  const fields: Record<string, unknown> = {};
  replacementChars = 0;
  if (map.size === count) {
    eKeys = keys;
    eFields = fields;
    eIndex = 0;
    try {
      map.forEach(onEntry);
    } finally {
      eKeys = [];
      eFields = {};
    }
  } else {
    // Repeated keys: Python keeps the last value; every entry is checked and forwarded as sent.
    const wireKeys: unknown[] = [];
    const wireValues: unknown[] = [];
    entrySpans(raw, count, wireKeys, wireValues);
    for (let i = 0; i < count; i++) {
      checkEntry(wireKeys[i], wireValues[i]);
      keys[i] = wireKeys[i] as string;
      fields[keys[i]!] = wireValues[i];
    }
  }
  const type = fields['type'];
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


/**
 * A whole frame buffer for a map of `count` entries whose entries take
 * `body` bytes: length header and map header written, entries to follow
 * from `out.length - body`.
 */
function allocMapFrame(count: number, body: number): Buffer {
  const headerLength = count < 16 ? 1 : count < 0x10000 ? 3 : 5;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + headerLength + body);
  out.writeUInt32BE(headerLength + body, 0);
  const o = FRAME_HEADER_BYTES;
  if (headerLength === 1) out[o] = 0x80 | count;
  else if (headerLength === 3) {
    out[o] = 0xde;
    out.writeUInt16BE(count, o + 1);
  } else {
    out[o] = 0xdf;
    out.writeUInt32BE(count, o + 1);
  }
  return out;
}

/** A value already encoded as MessagePack (for stamps reused across frames). */
export class Packed {
  constructor(readonly bytes: Buffer) {}
}

/** Encodes `value` once, for reuse in many {@link restamp} calls. */
export function packed(value: unknown): Packed {
  return new Packed(Buffer.from(packr.pack(value)));
}

const packedKeys = new Map<string, Buffer>();
/** The encoding of a key name (memoized; only code-defined names pass here). */
function packedKey(key: string): Buffer {
  let b = packedKeys.get(key);
  if (!b) {
    b = Buffer.from(packr.pack(key));
    if (packedKeys.size < 256) packedKeys.set(key, b);
  }
  return b;
}

function bytesOf(value: unknown): Buffer {
  return value instanceof Packed ? value.bytes : packr.pack(value);
}

/**
 * Re-encodes `frame` as a whole frame with some top-level keys replaced or
 * added (`changes`; a value of `undefined` removes the key; a {@link Packed}
 * value is copied as is). Every other key and value is copied byte for byte
 * from the sender's payload. One allocation, no intermediate buffers.
 */
export function restamp(frame: HubFrame, changes: Record<string, unknown>): Buffer {
  const raw = frame.raw;
  const keys = frame.keys;
  const spans = frame.spans;
  const changed = Object.keys(changes);
  // Pass 1: sizes. Replaced values are encoded here (once) and kept by index.
  const replaced: Array<Buffer | undefined> = new Array(keys.length);
  const seen = new Uint8Array(changed.length);
  let count = 0;
  let body = 0;
  for (let i = 0; i < keys.length; i++) {
    const at = changed.indexOf(keys[i]!);
    if (at >= 0) {
      seen[at] = 1;
      const next = changes[changed[at]!];
      if (next === undefined) continue;
      const b = bytesOf(next);
      replaced[i] = b;
      body += spans[i * 3 + 1]! - spans[i * 3]! + b.length;
    } else {
      body += spans[i * 3 + 2]! - spans[i * 3]!;
    }
    count++;
  }
  const appended: Buffer[] = [];
  for (let j = 0; j < changed.length; j++) {
    if (seen[j] || changes[changed[j]!] === undefined) continue;
    const k = packedKey(changed[j]!);
    const v = bytesOf(changes[changed[j]!]);
    appended.push(k, v);
    body += k.length + v.length;
    count++;
  }
  const out = allocMapFrame(count, body);
  let o = out.length - body;
  // Pass 2: copy runs of untouched entries, keys of replaced ones, new values.
  let runStart = -1;
  let runEnd = -1;
  for (let i = 0; i < keys.length; i++) {
    const ks = spans[i * 3]!;
    const isChanged = replaced[i] !== undefined || changed.includes(keys[i]!);
    if (!isChanged) {
      if (runStart >= 0 && runEnd === ks) runEnd = spans[i * 3 + 2]!;
      else {
        if (runStart >= 0) o += raw.copy(out, o, runStart, runEnd);
        runStart = ks;
        runEnd = spans[i * 3 + 2]!;
      }
      continue;
    }
    if (runStart >= 0) o += raw.copy(out, o, runStart, runEnd);
    runStart = -1;
    const b = replaced[i];
    if (b === undefined) continue; // removed
    o += raw.copy(out, o, ks, spans[i * 3 + 1]!);
    o += b.copy(out, o);
  }
  if (runStart >= 0) o += raw.copy(out, o, runStart, runEnd);
  for (const b of appended) o += b.copy(out, o);
  return out;
}

/** The four stamps of a routed frame (comm-ipc 3.0.2), already encoded. */
export interface RoutedStamps {
  /** The sender's id (what `senderId` encodes). */
  id: string;
  senderId: Buffer;
  path: Buffer;
  /** Added only if the frame has no `timestamp` key. */
  timestamp: Buffer;
  /** Added only if the frame has no `origin_server_id` key. */
  origin: Buffer;
  /** Appended entries by which stamps a frame lacks (bit 0 sender, 1 path, 2 timestamp, 3 origin), built on use. */
  tails?: Array<Buffer | undefined>;
}

const K_SENDER = Buffer.from(packr.pack('sender_id'));
const K_PATH = Buffer.from(packr.pack('path'));
const K_TIMESTAMP = Buffer.from(packr.pack('timestamp'));
const K_ORIGIN = Buffer.from(packr.pack('origin_server_id'));

/** The stamps a frame lacks (mask: bit 0 sender, 1 path, 2 timestamp, 3 origin) as encoded entries. */
function tailOf(st: RoutedStamps, mask: number): Buffer {
  const tails = (st.tails ??= []);
  let tail = tails[mask];
  if (tail === undefined) {
    const parts: Buffer[] = [];
    if (mask & 1) parts.push(K_SENDER, st.senderId);
    if (mask & 2) parts.push(K_PATH, st.path);
    if (mask & 4) parts.push(K_TIMESTAMP, st.timestamp);
    if (mask & 8) parts.push(K_ORIGIN, st.origin);
    tail = tails[mask] = Buffer.concat(parts);
  }
  return tail;
}

function bitCount4(mask: number): number {
  return (mask & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1) + ((mask >> 3) & 1);
}

/**
 * {@link restamp} specialised for the hot path of routing: replaces
 * `sender_id` and `path`, adds `timestamp` and `origin_server_id` when
 * absent, copies everything else byte for byte. No allocation but the output.
 */
export function stampRouted(frame: HubFrame, st: RoutedStamps): Buffer {
  const f = frame.fields;
  const sender = f['sender_id'];
  if (f['path'] === undefined && (sender === undefined || sender === st.id)) {
    // The common case: nothing to replace (a client stamps its own id or none), so the sender's
    // entries are copied in one run and the missing stamps appended after them.
    const raw = frame.raw;
    const mask = (sender === undefined ? 1 : 0) | 2 | (f['timestamp'] === undefined ? 4 : 0) | (f['origin_server_id'] === undefined ? 8 : 0);
    const tail = tailOf(st, mask);
    const entries = raw.length - mapHeaderLength(raw[0]!);
    const out = allocMapFrame(frame.keys.length + bitCount4(mask), entries + tail.length);
    const o = out.length - entries - tail.length;
    raw.copy(out, o, raw.length - entries, raw.length);
    tail.copy(out, o + entries);
    return out;
  }
  const raw = frame.raw;
  const keys = frame.keys;
  const spans = frame.spans;
  const n = keys.length;
  let hasSender = false;
  let hasPath = false;
  let hasTimestamp = false;
  let hasOrigin = false;
  let body = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    const ks = spans[i * 3]!;
    if (k === 'sender_id') {
      hasSender = true;
      body += spans[i * 3 + 1]! - ks + st.senderId.length;
    } else if (k === 'path') {
      hasPath = true;
      body += spans[i * 3 + 1]! - ks + st.path.length;
    } else {
      if (k === 'timestamp') hasTimestamp = true;
      else if (k === 'origin_server_id') hasOrigin = true;
      body += spans[i * 3 + 2]! - ks;
    }
  }
  let count = n;
  if (!hasSender) {
    count++;
    body += K_SENDER.length + st.senderId.length;
  }
  if (!hasPath) {
    count++;
    body += K_PATH.length + st.path.length;
  }
  if (!hasTimestamp) {
    count++;
    body += K_TIMESTAMP.length + st.timestamp.length;
  }
  if (!hasOrigin) {
    count++;
    body += K_ORIGIN.length + st.origin.length;
  }
  const out = allocMapFrame(count, body);
  let o = out.length - body;
  let runStart = -1;
  let runEnd = -1;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    const ks = spans[i * 3]!;
    const value = k === 'sender_id' ? st.senderId : k === 'path' ? st.path : undefined;
    if (value === undefined) {
      if (runStart < 0 || runEnd !== ks) {
        if (runStart >= 0) o += raw.copy(out, o, runStart, runEnd);
        runStart = ks;
      }
      runEnd = spans[i * 3 + 2]!;
      continue;
    }
    if (runStart >= 0) o += raw.copy(out, o, runStart, runEnd);
    runStart = -1;
    o += raw.copy(out, o, ks, spans[i * 3 + 1]!);
    o += value.copy(out, o);
  }
  if (runStart >= 0) o += raw.copy(out, o, runStart, runEnd);
  if (!hasSender) o += K_SENDER.copy(out, o) + st.senderId.copy(out, o + K_SENDER.length);
  if (!hasPath) o += K_PATH.copy(out, o) + st.path.copy(out, o + K_PATH.length);
  if (!hasTimestamp) o += K_TIMESTAMP.copy(out, o) + st.timestamp.copy(out, o + K_TIMESTAMP.length);
  if (!hasOrigin) o += K_ORIGIN.copy(out, o) + st.origin.copy(out, o + K_ORIGIN.length);
  return out;
}

/** The raw MessagePack bytes of one top-level value of `frame`, if present. */
export function rawField(frame: HubFrame, key: string): Buffer | undefined {
  const i = frame.keys.indexOf(key);
  if (i < 0) return undefined;
  return frame.raw.subarray(frame.spans[i * 3 + 1]!, frame.spans[i * 3 + 2]!);
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
