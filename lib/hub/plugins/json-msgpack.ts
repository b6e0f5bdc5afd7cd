/**
 * The plugin member's shortcut from a plugin's answer line to hub bytes: the
 * MessagePack encoding of one JSON value written straight from the line's
 * bytes, with no JavaScript value in between. Pure: no I/O.
 *
 * The bytes are exactly `packValue(fromJsonText(line))` (the codec's packr:
 * smallest int forms, float64 otherwise, `-0` as 0, minimal str/array/map
 * headers), for the JSON it covers: ASCII strings without escapes, keys that
 * neither start with a digit or `$` (JSON.parse would move integer-like keys
 * first; `$bytes`/`$error` mean something) nor repeat, objects of fewer than
 * 16 keys, nesting up to MAX_NESTING. Anything else (or anything that is not
 * JSON) returns undefined, and the caller parses the line the ordinary way,
 * which also gives the error texts.
 *
 * Measured (bench/hub-plugin.bench.js): toString + JSON.parse + packr.pack
 * of each answer cost ~1 µs of the hub's main thread per call; this ~0.3 µs.
 */
import { MAX_NESTING } from '../protocol/codec';

const SCRATCH_MIN = 16 * 1024;

/** Builds the MessagePack bytes of one line at a time in a reusable scratch buffer. */
export class JsonToMsgpack {
  private buf = Buffer.allocUnsafe(SCRATCH_MIN);
  private pos = 0;
  private src: Buffer = this.buf;
  private at = 0;

  /**
   * The MessagePack bytes of the JSON value that is the whole of `line`
   * (a view of the scratch buffer, valid until the next call), or undefined
   * if the line is not covered (see the file comment).
   */
  convert(line: Buffer): Buffer | undefined {
    this.src = line;
    this.at = 0;
    this.pos = 0;
    this.room(line.length + 16);
    const ok = this.value(0) && this.skipSpace() === line.length;
    this.src = this.buf; // drop the reference to the line
    return ok ? this.buf.subarray(0, this.pos) : undefined;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private skipSpace(): number {
    const src = this.src;
    let i = this.at;
    for (let c = src[i]; c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a; c = src[++i]);
    this.at = i;
    return i;
  }

  private value(depth: number): boolean {
    if (depth > MAX_NESTING) return false;
    const i = this.skipSpace();
    const c = this.src[i];
    switch (c) {
      case 0x7b: // {
        return this.object(depth);
      case 0x5b: // [
        return this.array(depth);
      case 0x22: // "
        return this.string(false);
      case 0x74: // true
        return this.literal('true', 0xc3);
      case 0x66: // false
        return this.literal('false', 0xc2);
      case 0x6e: // null
        return this.literal('null', 0xc0);
      default:
        return c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39) ? this.number() : false;
    }
  }

  private literal(word: string, byte: number): boolean {
    const src = this.src;
    for (let k = 0; k < word.length; k++) if (src[this.at + k] !== word.charCodeAt(k)) return false;
    this.at += word.length;
    this.room(1);
    this.buf[this.pos++] = byte;
    return true;
  }

  /** A string without escapes or non-ASCII; as a key, one that starts with neither a digit nor `$`. */
  private string(isKey: boolean): boolean {
    const src = this.src;
    const start = this.at + 1;
    let i = start;
    for (;;) {
      const c = src[i];
      if (c === undefined || c < 0x20 || c >= 0x80 || c === 0x5c) return false;
      if (c === 0x22) break;
      i++;
    }
    const length = i - start;
    if (isKey && length > 0) {
      const first = src[start]!;
      if (first === 0x24 || (first >= 0x30 && first <= 0x39)) return false;
    }
    this.room(length + 5);
    const buf = this.buf;
    let p = this.pos;
    if (length < 0x20) buf[p++] = 0xa0 | length;
    else if (length < 0x100) {
      buf[p++] = 0xd9;
      buf[p++] = length;
    } else if (length < 0x10000) {
      buf[p++] = 0xda;
      buf[p++] = length >> 8;
      buf[p++] = length & 0xff;
    } else {
      buf[p++] = 0xdb;
      buf.writeUInt32BE(length, p);
      p += 4;
    }
    if (length <= 32) for (let k = 0; k < length; k++) buf[p + k] = src[start + k]!;
    else src.copy(buf, p, start, i);
    this.pos = p + length;
    this.at = i + 1;
    return true;
  }

  private number(): boolean {
    const src = this.src;
    const start = this.at;
    let i = start;
    if (src[i] === 0x2d) i++;
    const intStart = i;
    if (src[i] === 0x30) i++;
    else {
      if (!isDigit(src[i])) return false;
      while (isDigit(src[i])) i++;
    }
    const intEnd = i;
    let plain = true;
    if (src[i] === 0x2e) {
      plain = false;
      i++;
      if (!isDigit(src[i])) return false;
      while (isDigit(src[i])) i++;
    }
    if (src[i] === 0x65 || src[i] === 0x45) {
      plain = false;
      i++;
      if (src[i] === 0x2b || src[i] === 0x2d) i++;
      if (!isDigit(src[i])) return false;
      while (isDigit(src[i])) i++;
    }
    let value: number;
    if (plain && intEnd - intStart <= 9) {
      value = 0;
      for (let k = intStart; k < intEnd; k++) value = value * 10 + (src[k]! - 0x30);
      if (intStart !== start) value = -value;
    } else {
      value = Number(src.toString('latin1', start, i)); // the JSON number grammar is a subset of Number's
    }
    this.at = i;
    this.packNumber(value);
    return true;
  }

  /** packr's choices for a number (see msgpackr pack.js: useRecords false, no useFloat32). */
  private packNumber(value: number): void {
    this.room(9);
    const buf = this.buf;
    let p = this.pos;
    if (value >>> 0 === value) {
      if (value < 0x80) buf[p++] = value;
      else if (value < 0x100) {
        buf[p++] = 0xcc;
        buf[p++] = value;
      } else if (value < 0x10000) {
        buf[p++] = 0xcd;
        buf[p++] = value >> 8;
        buf[p++] = value & 0xff;
      } else {
        buf[p++] = 0xce;
        buf.writeUInt32BE(value, p);
        p += 4;
      }
    } else if (value >> 0 === value) {
      if (value >= -0x20) buf[p++] = 0x100 + value;
      else if (value >= -0x80) {
        buf[p++] = 0xd0;
        buf[p++] = value + 0x100;
      } else if (value >= -0x8000) {
        buf[p++] = 0xd1;
        buf.writeInt16BE(value, p);
        p += 2;
      } else {
        buf[p++] = 0xd2;
        buf.writeInt32BE(value, p);
        p += 4;
      }
    } else {
      buf[p++] = 0xcb;
      buf.writeDoubleBE(value, p);
      p += 8;
    }
    this.pos = p;
  }

  /** Reserves a 1-byte container header at the current position; returns where. */
  private open(): number {
    this.room(1);
    return this.pos++;
  }

  /**
   * Writes the header of a container of `count` items opened at `at`
   * (`fix`: its 1-byte form; `wide`: the 16-bit form, the 32-bit one is
   * next): 16+ items move the contents to make room, as packr's sizes.
   */
  private close(at: number, count: number, fix: number, wide: number): void {
    if (count < 16) {
      this.buf[at] = fix | count;
      return;
    }
    const extra = count < 0x10000 ? 2 : 4;
    this.room(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    if (extra === 2) {
      this.buf[at] = wide;
      this.buf.writeUInt16BE(count, at + 1);
    } else {
      this.buf[at] = wide + 1;
      this.buf.writeUInt32BE(count, at + 1);
    }
    this.pos += extra;
  }

  private array(depth: number): boolean {
    const header = this.open();
    this.at++;
    let count = 0;
    if (this.src[this.skipSpace()] === 0x5d) {
      this.at++;
      this.close(header, 0, 0x90, 0xdc);
      return true;
    }
    for (;;) {
      if (!this.value(depth + 1)) return false;
      count++;
      const c = this.src[this.skipSpace()];
      this.at++;
      if (c === 0x5d) {
        this.close(header, count, 0x90, 0xdc);
        return true;
      }
      if (c !== 0x2c) return false;
    }
  }

  private object(depth: number): boolean {
    const header = this.open();
    this.at++;
    if (this.src[this.skipSpace()] === 0x7d) {
      this.at++;
      this.close(header, 0, 0x80, 0xde);
      return true;
    }
    const keys: number[] = []; // [start, end) of each key's encoding in buf, to refuse repeats
    for (;;) {
      if (this.src[this.skipSpace()] !== 0x22) return false;
      const keyAt = this.pos;
      if (!this.string(true)) return false;
      if (repeats(this.buf, keys, keyAt, this.pos)) return false;
      if (keys.length >= 30) return false; // 16+ keys: not covered (the repeat check is quadratic)
      keys.push(keyAt, this.pos);
      if (this.src[this.skipSpace()] !== 0x3a) return false;
      this.at++;
      if (!this.value(depth + 1)) return false;
      const c = this.src[this.skipSpace()];
      this.at++;
      if (c === 0x7d) {
        this.close(header, keys.length / 2, 0x80, 0xde);
        return true;
      }
      if (c !== 0x2c) return false;
    }
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** Is buf[start, end) equal to one of the earlier keys? */
function repeats(buf: Buffer, keys: number[], start: number, end: number): boolean {
  const length = end - start;
  for (let k = 0; k < keys.length; k += 2) {
    if (keys[k + 1]! - keys[k]! !== length) continue;
    let same = true;
    for (let j = 0; j < length && same; j++) same = buf[keys[k]! + j] === buf[start + j];
    if (same) return true;
  }
  return false;
}
