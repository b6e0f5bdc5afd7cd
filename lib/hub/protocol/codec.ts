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
  /** Decoded top-level fields; nested maps are `Map`s. */
  readonly fields: Record<string, unknown>;
  /** Top-level keys in wire order. */
  readonly keys: string[];
  /** Per key (same order): [keyStart, valueStart, valueEnd] offsets into `raw`. */
  readonly spans: Uint32Array;
  /** The payload (without the length header). */
  readonly raw: Buffer;
}

function protocolError(message: string, cause?: unknown): PipeIOError {
  return pipeIOError('PIPEIO_ERR_PROTOCOL', message, cause === undefined ? undefined : { cause });
}

/** Reads the map header; returns [entry count, header length]. */
function readMapHeader(raw: Buffer): [number, number] {
  if (raw.length === 0) throw protocolError('empty frame: the payload must be a MessagePack map');
  const b = raw[0]!;
  if (b >= 0x80 && b <= 0x8f) return [b & 0x0f, 1];
  if (b === 0xde && raw.length >= 3) return [raw.readUInt16BE(1), 3];
  if (b === 0xdf && raw.length >= 5) return [raw.readUInt32BE(1), 5];
  throw protocolError('the payload is not a MessagePack map');
}

/**
 * Decodes and validates one payload for the hub. Throws `PIPEIO_ERR_PROTOCOL`
 * for anything a Python peer would choke on: not a map, non-string keys,
 * invalid UTF-8, ext types, a missing or non-string `type`, nesting deeper
 * than {@link MAX_NESTING}.
 */
export function decodeHubFrame(raw: Buffer): HubFrame {
  const [count, headerLength] = readMapHeader(raw);
  if (count > raw.length) throw protocolError('map header announces more entries than the frame holds');
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const keys: string[] = [];
  const spans = new Uint32Array(count * 3);
  let index = 0;
  let pendingKey: string | undefined;
  let keyStart = 0;
  const body = raw.subarray(headerLength);
  try {
    hubUnpackr.unpackMultiple(body, (value: unknown, start?: number, end?: number) => {
      if (index >= count * 2) throw protocolError('trailing bytes after the map');
      if (index % 2 === 0) {
        if (typeof value !== 'string') throw protocolError('map keys must be strings');
        pendingKey = value;
        keyStart = headerLength + (start ?? 0);
      } else {
        const k = pendingKey!;
        const slot = (index - 1) / 2;
        spans[slot * 3] = keyStart;
        spans[slot * 3 + 1] = headerLength + (start ?? 0);
        spans[slot * 3 + 2] = headerLength + (end ?? 0);
        keys.push(k);
        fields[k] = value;
      }
      index++;
      return true;
    });
  } catch (err) {
    if (err instanceof Error && (err as PipeIOError).code === 'PIPEIO_ERR_PROTOCOL') throw err;
    throw protocolError(`malformed MessagePack: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  if (index !== count * 2) throw protocolError('the map is truncated');
  const type = fields['type'];
  if (typeof type !== 'string') throw protocolError('the frame has no string "type"');
  checkValues(raw, keys, fields);
  return { type, fields, keys, spans, raw };
}

/** Walks decoded values: string keys only, no ext objects, bounded depth, valid UTF-8. */
function checkValues(raw: Buffer, keys: string[], fields: Record<string, unknown>): void {
  let replacementChars = countReplacement(keys);
  const walk = (value: unknown, depth: number): void => {
    if (depth > MAX_NESTING) throw protocolError(`nesting deeper than ${MAX_NESTING}`);
    if (typeof value === 'string') {
      if (value.includes('\uFFFD')) replacementChars += countChar(value);
      return;
    }
    if (value === null || typeof value !== 'object') return; // number, bigint, boolean
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, depth + 1);
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
  };
  for (const k of keys) walk(fields[k], 1);
  // msgpackr replaces invalid UTF-8 with U+FFFD. A genuine U+FFFD is the bytes
  // EF BF BD on the wire, so more replacement characters than such byte runs
  // means the sender's text was not UTF-8.
  if (replacementChars > 0 && replacementChars > countReplacementBytes(raw)) {
    throw protocolError('a string is not valid UTF-8');
  }
}

function countChar(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\uFFFD'); i !== -1; i = s.indexOf('\uFFFD', i + 1)) n++;
  return n;
}

function countReplacement(strings: string[]): number {
  let n = 0;
  for (const s of strings) if (s.includes('\uFFFD')) n += countChar(s);
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

function mapHeader(count: number): Buffer {
  if (count < 16) return Buffer.from([0x80 | count]);
  if (count < 0x10000) {
    const b = Buffer.allocUnsafe(3);
    b[0] = 0xde;
    b.writeUInt16BE(count, 1);
    return b;
  }
  const b = Buffer.allocUnsafe(5);
  b[0] = 0xdf;
  b.writeUInt32BE(count, 1);
  return b;
}

/**
 * Re-encodes `frame` as a whole frame with some top-level keys replaced or
 * added (`changes`; a value of `undefined` removes the key). Every other key
 * and value is copied byte for byte from the sender's payload.
 */
export function restamp(frame: HubFrame, changes: Record<string, unknown>): Buffer {
  const pieces: Buffer[] = [];
  let count = 0;
  const raw = frame.raw;
  const done = new Set<string>();
  let runStart = -1;
  let runEnd = -1;
  const flushRun = (): void => {
    if (runStart >= 0) pieces.push(raw.subarray(runStart, runEnd));
    runStart = -1;
  };
  for (let i = 0; i < frame.keys.length; i++) {
    const key = frame.keys[i]!;
    const ks = frame.spans[i * 3]!;
    const vs = frame.spans[i * 3 + 1]!;
    const ve = frame.spans[i * 3 + 2]!;
    if (Object.prototype.hasOwnProperty.call(changes, key)) {
      flushRun();
      done.add(key);
      const next = changes[key];
      if (next === undefined) continue;
      pieces.push(raw.subarray(ks, vs), packr.pack(next));
      count++;
      continue;
    }
    if (runStart >= 0 && runEnd === ks) runEnd = ve;
    else {
      flushRun();
      runStart = ks;
      runEnd = ve;
    }
    count++;
  }
  flushRun();
  for (const key of Object.keys(changes)) {
    if (done.has(key) || changes[key] === undefined) continue;
    pieces.push(packr.pack(key), packr.pack(changes[key]));
    count++;
  }
  const header = mapHeader(count);
  let total = header.length;
  for (const p of pieces) total += p.length;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + total);
  out.writeUInt32BE(total, 0);
  let offset = FRAME_HEADER_BYTES;
  header.copy(out, offset);
  offset += header.length;
  for (const p of pieces) {
    p.copy(out, offset);
    offset += p.length;
  }
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
