/**
 * Re-encoding routed frames: the hub forwards a sender's bytes and changes
 * only the top-level entries it stamps ({@link restamp}, and
 * {@link stampRouted} for the hot path of routing). Values are msgpackr's
 * encodings; only the map header is written by hand ({@link allocMapFrame}).
 */
import { mapHeaderLength, packValue, type HubFrame } from './codec';
import { FRAME_HEADER_BYTES } from './frame-reader';

/**
 * A whole frame buffer for a map of `count` entries whose entries take
 * `body` bytes: length header and map header written, entries to follow
 * from `out.length - body`.
 */
export function allocMapFrame(count: number, body: number): Buffer {
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
  return new Packed(Buffer.from(packValue(value)));
}

const packedKeys = new Map<string, Buffer>();
/** The encoding of a key name or another short constant string (memoized, bounded; code-defined names only). */
export function packedKey(key: string): Buffer {
  let b = packedKeys.get(key);
  if (!b) {
    b = Buffer.from(packValue(key));
    if (packedKeys.size < 256) packedKeys.set(key, b);
  }
  return b;
}

function bytesOf(value: unknown): Buffer {
  return value instanceof Packed ? value.bytes : packValue(value);
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

const K_SENDER = Buffer.from(packValue('sender_id'));
const K_PATH = Buffer.from(packValue('path'));
const K_TIMESTAMP = Buffer.from(packValue('timestamp'));
const K_ORIGIN = Buffer.from(packValue('origin_server_id'));

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
 * `extra`: more top-level changes for this frame (as for {@link restamp}:
 * `undefined` removes the key), which take the general path.
 */
export function stampRouted(frame: HubFrame, st: RoutedStamps, extra?: Record<string, unknown>): Buffer {
  const f = frame.fields;
  const sender = f.get('sender_id');
  if (extra === undefined && f.get('path') === undefined && (sender === undefined || sender === st.id)) {
    // The common case: nothing to replace (a client stamps its own id or none), so the sender's
    // entries are copied in one run and the missing stamps appended after them.
    const raw = frame.raw;
    const mask = (sender === undefined ? 1 : 0) | 2 | (f.has('timestamp') ? 0 : 4) | (f.has('origin_server_id') ? 0 : 8);
    const tail = tailOf(st, mask);
    const entries = raw.length - mapHeaderLength(raw[0]!);
    const out = allocMapFrame(frame.keys.length + bitCount4(mask), entries + tail.length);
    const o = out.length - entries - tail.length;
    raw.copy(out, o, raw.length - entries, raw.length);
    tail.copy(out, o + entries);
    return out;
  }
  // Something to replace (a `path`, or another sender's id): the general restamp.
  const changes: Record<string, unknown> = { ...extra, sender_id: new Packed(st.senderId), path: new Packed(st.path) };
  if (!f.has('timestamp')) changes['timestamp'] = new Packed(st.timestamp);
  if (!f.has('origin_server_id')) changes['origin_server_id'] = new Packed(st.origin);
  return restamp(frame, changes);
}
