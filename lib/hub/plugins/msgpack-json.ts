/**
 * MessagePack to JSON text for plugin lines: {@link JsonLineWriter.value}
 * writes a value's JSON straight from its MessagePack bytes, with no
 * JavaScript objects in between; {@link skipValue} finds where a value ends.
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
 * thread per call; reading it in place (call-peek.ts) and writing it here
 * ~1 µs.
 */
import { MAX_NESTING } from '../protocol/codec';

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
