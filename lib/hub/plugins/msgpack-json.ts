/**
 * The plugin member's shortcut from hub frames to plugin lines: read the few
 * top-level fields of a delivered `call` ({@link peekCall}) and write its
 * `data` as JSON text straight from the MessagePack bytes
 * ({@link JsonLineWriter.value}), with no JavaScript objects in between.
 * Pure: no I/O.
 *
 * The output is the text `toJsonText(decodeClientFrame(frame).data)` gives
 * (docs/hub-plugins.md, "Values"), except that map keys keep their wire
 * order (a plain object would move integer-like keys first). Whatever this
 * shortcut does not cover (ext types, non-string map keys, nesting deeper
 * than {@link MAX_NESTING}) makes it return false, and the caller takes the
 * decoding path.
 *
 * Measured (bench/hub-plugin.bench.js, 2-core machine): decoding each
 * delivered call to objects and back to JSON took ~5 µs of the hub's main
 * thread per call, this ~1 µs.
 */
import { MAX_NESTING } from '../protocol/codec';

/** The top-level fields of a `call` frame that a plugin line needs. */
export interface CallPeek {
  /** The frame's MessagePack map (no length header). */
  readonly payload: Buffer;
  requestId: string | undefined;
  senderId: string;
  channel: string;
  event: string;
  /** comm-ipc truthiness of `is_stream` (only `true` counts here, as before). */
  isStream: boolean;
  /** Byte span of the `data` value in `payload` (dataStart < 0: absent). */
  dataStart: number;
  dataEnd: number;
}

/** Key names as bytes, compared in place. */
const K_TYPE = Buffer.from('type');
const K_DATA = Buffer.from('data');
const K_EVENT = Buffer.from('event');
const K_CHANNEL = Buffer.from('channel');
const K_SENDER = Buffer.from('sender_id');
const K_IS_STREAM = Buffer.from('is_stream');
const K_REQUEST_ID = Buffer.from('request_id');
const V_CALL = Buffer.from('call');

function sameBytes(raw: Buffer, at: number, len: number, name: Buffer): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) if (raw[at + i] !== name[i]) return false;
  return true;
}

/** [start, length] of the str at `pos` into `strAt`, or false if it is not a str. */
let strStart = 0;
let strLength = 0;
function readStr(raw: Buffer, pos: number): boolean {
  const b = raw[pos]!;
  if (b >= 0xa0 && b <= 0xbf) {
    strStart = pos + 1;
    strLength = b & 0x1f;
  } else if (b === 0xd9) {
    strStart = pos + 2;
    strLength = raw[pos + 1]!;
  } else if (b === 0xda) {
    strStart = pos + 3;
    strLength = raw.readUInt16BE(pos + 1);
  } else if (b === 0xdb) {
    strStart = pos + 5;
    strLength = raw.readUInt32BE(pos + 1);
  } else {
    return false;
  }
  return strStart + strLength <= raw.length;
}

/**
 * The end of the MessagePack value at `pos` (exclusive), or -1 if it is
 * truncated, nested deeper than MAX_NESTING, or of an unknown kind.
 */
export function skipValue(raw: Buffer, pos: number, depth = 0): number {
  if (pos >= raw.length || depth > MAX_NESTING) return -1;
  const b = raw[pos]!;
  let n: number;
  let end: number;
  if (b <= 0x7f || b >= 0xe0) return pos + 1;
  if (b <= 0x8f) return skipMany(raw, pos + 1, (b & 0x0f) * 2, depth);
  if (b <= 0x9f) return skipMany(raw, pos + 1, b & 0x0f, depth);
  if (b <= 0xbf) end = pos + 1 + (b & 0x1f);
  else {
    switch (b) {
      case 0xc0:
      case 0xc2:
      case 0xc3:
        return pos + 1;
      case 0xc4:
      case 0xd9:
        end = pos + 2 + (raw[pos + 1] ?? 0);
        break;
      case 0xc5:
      case 0xda:
        end = pos + 3 + (pos + 3 <= raw.length ? raw.readUInt16BE(pos + 1) : 0);
        break;
      case 0xc6:
      case 0xdb:
        end = pos + 5 + (pos + 5 <= raw.length ? raw.readUInt32BE(pos + 1) : 0);
        break;
      case 0xc7:
        end = pos + 3 + (raw[pos + 1] ?? 0);
        break;
      case 0xc8:
        end = pos + 4 + (pos + 3 <= raw.length ? raw.readUInt16BE(pos + 1) : 0);
        break;
      case 0xc9:
        end = pos + 6 + (pos + 5 <= raw.length ? raw.readUInt32BE(pos + 1) : 0);
        break;
      case 0xca:
        end = pos + 5;
        break;
      case 0xcb:
        end = pos + 9;
        break;
      case 0xcc:
      case 0xd0:
        end = pos + 2;
        break;
      case 0xcd:
      case 0xd1:
        end = pos + 3;
        break;
      case 0xce:
      case 0xd2:
        end = pos + 5;
        break;
      case 0xcf:
      case 0xd3:
        end = pos + 9;
        break;
      case 0xd4:
        end = pos + 3;
        break;
      case 0xd5:
        end = pos + 4;
        break;
      case 0xd6:
        end = pos + 6;
        break;
      case 0xd7:
        end = pos + 10;
        break;
      case 0xd8:
        end = pos + 18;
        break;
      case 0xdc:
      case 0xde:
        if (pos + 3 > raw.length) return -1;
        n = raw.readUInt16BE(pos + 1);
        return skipMany(raw, pos + 3, b === 0xde ? n * 2 : n, depth);
      case 0xdd:
      case 0xdf:
        if (pos + 5 > raw.length) return -1;
        n = raw.readUInt32BE(pos + 1);
        return skipMany(raw, pos + 5, b === 0xdf ? n * 2 : n, depth);
      default:
        return -1; // 0xc1: never used
    }
  }
  return end <= raw.length ? end : -1;
}

function skipMany(raw: Buffer, pos: number, count: number, depth: number): number {
  for (let i = 0; i < count && pos >= 0; i++) pos = skipValue(raw, pos, depth + 1);
  return pos;
}

/** The UTF-8 text of raw[start, end): ASCII (the usual request id) through the cheaper latin1 decoder. */
function textOf(raw: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) if (raw[i]! >= 0x80) return raw.toString('utf8', start, end);
  return raw.toString('latin1', start, end);
}

/**
 * Strings decoded from bytes that repeat from call to call (channel, event,
 * caller id), remembered by their bytes: a hit costs a byte compare instead
 * of a new string. A few entries, replaced in turn.
 */
class RecentStrings {
  private readonly bytes: Buffer[] = [];
  private readonly strings: string[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  get(raw: Buffer, start: number, end: number): string {
    const length = end - start;
    for (let i = 0; i < this.bytes.length; i++) {
      const b = this.bytes[i]!;
      if (b.length === length && sameBytes(raw, start, length, b)) return this.strings[i]!;
    }
    const s = textOf(raw, start, end);
    if (length <= 64) {
      this.bytes[this.next] = Buffer.from(raw.subarray(start, end));
      this.strings[this.next] = s;
      this.next = (this.next + 1) % this.size;
    }
    return s;
  }
}

const channels = new RecentStrings(4);
const events = new RecentStrings(8);
const senders = new RecentStrings(16);

/**
 * Reads the fields of a `call` frame a plugin line needs, or returns
 * undefined for any other frame (or anything unusual: the caller then
 * decodes it the ordinary way).
 */
export function peekCall(payload: Buffer): CallPeek | undefined {
  const b = payload[0];
  if (b === undefined || b < 0x80 || b > 0x8f) return undefined; // our frames have < 16 keys
  const count = b & 0x0f;
  const peek: CallPeek = { payload, requestId: undefined, senderId: '', channel: '', event: '', isStream: false, dataStart: -1, dataEnd: -1 };
  let isCall = false;
  let pos = 1;
  for (let i = 0; i < count; i++) {
    if (!readStr(payload, pos)) return undefined;
    const ks = strStart;
    const kl = strLength;
    pos = ks + kl;
    const end = skipValue(payload, pos);
    if (end < 0) return undefined;
    const isStr = readStr(payload, pos) && strStart + strLength === end;
    switch (kl) {
      case 4:
        if (sameBytes(payload, ks, kl, K_TYPE)) {
          if (!isStr || !sameBytes(payload, strStart, strLength, V_CALL)) return undefined;
          isCall = true;
        } else if (sameBytes(payload, ks, kl, K_DATA)) {
          peek.dataStart = pos;
          peek.dataEnd = end;
        }
        break;
      case 5:
        if (isStr && sameBytes(payload, ks, kl, K_EVENT)) peek.event = events.get(payload, strStart, end);
        break;
      case 7:
        if (isStr && sameBytes(payload, ks, kl, K_CHANNEL)) peek.channel = channels.get(payload, strStart, end);
        break;
      case 9:
        if (sameBytes(payload, ks, kl, K_SENDER)) {
          if (isStr) peek.senderId = senders.get(payload, strStart, end);
        } else if (sameBytes(payload, ks, kl, K_IS_STREAM)) {
          peek.isStream = payload[pos] === 0xc3;
        }
        break;
      case 10:
        if (sameBytes(payload, ks, kl, K_REQUEST_ID)) peek.requestId = isStr ? textOf(payload, strStart, end) : undefined;
        break;
      default:
        break;
    }
    pos = end;
  }
  return isCall && pos === payload.length ? peek : undefined;
}

/** Smallest scratch buffer of a writer (bytes); it grows as lines need. */
const SCRATCH_MIN = 16 * 1024;

/**
 * Builds one line at a time in a reusable scratch buffer. {@link view} is
 * valid until the next {@link reset}; {@link copy} keeps the bytes.
 */
export class JsonLineWriter {
  private buf = Buffer.allocUnsafe(SCRATCH_MIN);
  private pos = 0;

  reset(): this {
    this.pos = 0;
    return this;
  }

  /** The line so far (a view of the scratch buffer). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** The line so far, copied. */
  copy(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Appends text (UTF-8). */
  text(s: string): this {
    this.room(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  /** Appends text known to be ASCII (a short loop beats a native call for a few bytes). */
  ascii(s: string): this {
    const n = s.length;
    this.room(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
    return this;
  }

  /** Appends bytes as they are. */
  bytes(b: Buffer): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Appends `s` as a JSON string literal. */
  jsonString(s: string): this {
    const n = s.length;
    if (n <= 64) {
      // printable ASCII without '"' and '\\' stands for itself (JSON.stringify would not change it)
      this.room(n + 2);
      const buf = this.buf;
      let p = this.pos;
      buf[p++] = 0x22;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[p++] = 0x22;
        this.pos = p;
        return this;
      }
    }
    return this.text(JSON.stringify(s));
  }

  /**
   * Appends the MessagePack value at raw[start, end) as JSON. Returns false
   * (the line is then unusable: reset it) for what JSON text of the decoded
   * value would not match (see the file comment).
   */
  value(raw: Buffer, start: number, end: number): boolean {
    try {
      return this.write(raw, start, 0) === end;
    } catch {
      return false; // a fixed-size read past the end (RangeError): truncated
    }
  }

  /** Writes the value at `pos`; returns its end, or -1. */
  private write(raw: Buffer, pos: number, depth: number): number {
    if (depth > MAX_NESTING || pos >= raw.length) return -1;
    const b = raw[pos]!;
    if (b <= 0x7f) {
      this.int(b);
      return pos + 1;
    }
    if (b >= 0xe0) {
      this.int(b - 0x100);
      return pos + 1;
    }
    if (b <= 0x8f) return this.map(raw, pos + 1, b & 0x0f, depth);
    if (b <= 0x9f) return this.array(raw, pos + 1, b & 0x0f, depth);
    if (b <= 0xbf) return this.str(raw, pos + 1, b & 0x1f);
    switch (b) {
      case 0xc0:
        this.ascii('null');
        return pos + 1;
      case 0xc2:
        this.ascii('false');
        return pos + 1;
      case 0xc3:
        this.ascii('true');
        return pos + 1;
      case 0xc4:
        return this.bin(raw, pos + 2, raw[pos + 1]!);
      case 0xc5:
        return this.bin(raw, pos + 3, raw.readUInt16BE(pos + 1));
      case 0xc6:
        return this.bin(raw, pos + 5, raw.readUInt32BE(pos + 1));
      case 0xca:
        this.number(raw.readFloatBE(pos + 1));
        return pos + 5;
      case 0xcb:
        this.number(raw.readDoubleBE(pos + 1));
        return pos + 9;
      case 0xcc:
        this.int(raw[pos + 1]!);
        return pos + 2;
      case 0xcd:
        this.int(raw.readUInt16BE(pos + 1));
        return pos + 3;
      case 0xce:
        this.int(raw.readUInt32BE(pos + 1));
        return pos + 5;
      case 0xcf:
        this.ascii(raw.readBigUInt64BE(pos + 1).toString());
        return pos + 9;
      case 0xd0:
        this.int(raw.readInt8(pos + 1));
        return pos + 2;
      case 0xd1:
        this.int(raw.readInt16BE(pos + 1));
        return pos + 3;
      case 0xd2:
        this.int(raw.readInt32BE(pos + 1));
        return pos + 5;
      case 0xd3:
        this.ascii(raw.readBigInt64BE(pos + 1).toString());
        return pos + 9;
      case 0xd9:
        return this.str(raw, pos + 2, raw[pos + 1]!);
      case 0xda:
        return this.str(raw, pos + 3, raw.readUInt16BE(pos + 1));
      case 0xdb:
        return this.str(raw, pos + 5, raw.readUInt32BE(pos + 1));
      case 0xdc:
        return this.array(raw, pos + 3, raw.readUInt16BE(pos + 1), depth);
      case 0xdd:
        return this.array(raw, pos + 5, raw.readUInt32BE(pos + 1), depth);
      case 0xde:
        return this.map(raw, pos + 3, raw.readUInt16BE(pos + 1), depth);
      case 0xdf:
        return this.map(raw, pos + 5, raw.readUInt32BE(pos + 1), depth);
      default:
        return -1; // ext types (and 0xc1)
    }
  }

  private int(n: number): void {
    if (n >= 0 && n < 10) {
      this.room(1);
      this.buf[this.pos++] = 0x30 + n;
    } else {
      this.ascii(String(n));
    }
  }

  private number(x: number): void {
    this.ascii(Number.isFinite(x) ? String(x) : 'null'); // JSON.stringify's rule
  }

  private str(raw: Buffer, start: number, length: number): number {
    const end = start + length;
    if (end > raw.length) return -1;
    this.room(length + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    for (let i = start; i < end; i++) {
      const c = raw[i]!;
      // control characters, '"', '\\' and non-ASCII: JSON.stringify decides (exact escapes, invalid UTF-8 as U+FFFD)
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
        this.jsonString(raw.toString('utf8', start, end));
        return end;
      }
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.pos = p;
    return end;
  }

  private bin(raw: Buffer, start: number, length: number): number {
    const end = start + length;
    if (end > raw.length) return -1;
    this.ascii('{"$bytes":"').ascii(raw.toString('base64', start, end)).ascii('"}');
    return end;
  }

  private array(raw: Buffer, pos: number, count: number, depth: number): number {
    this.ascii('[');
    for (let i = 0; i < count; i++) {
      if (i > 0) this.ascii(',');
      pos = this.write(raw, pos, depth + 1);
      if (pos < 0) return -1;
    }
    this.ascii(']');
    return pos;
  }

  private map(raw: Buffer, pos: number, count: number, depth: number): number {
    this.ascii('{');
    for (let i = 0; i < count; i++) {
      if (i > 0) this.ascii(',');
      const b = raw[pos];
      if (b === undefined || !((b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb)) return -1; // non-string key
      pos = this.write(raw, pos, depth + 1);
      if (pos < 0) return -1;
      this.ascii(':');
      pos = this.write(raw, pos, depth + 1);
      if (pos < 0) return -1;
    }
    this.ascii('}');
    return pos;
  }
}
