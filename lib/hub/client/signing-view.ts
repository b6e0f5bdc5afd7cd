/**
 * A type-exact view of a received payload, for signature checks only.
 *
 * decodeClientFrame gives users plain JS values, where a msgpack float64 1.0
 * becomes the number 1, which canonical JSON writes as `1`; the Python
 * signer wrote `1.0` (comm-ipc 1.2, 8.1). This decoder keeps every float a
 * {@link PyFloat} and every integer an integer (bigint past 2^53), so
 * {@link pythonJson} reproduces the sender's text. Maps come back as `Map`s.
 * Pure; throws `PIPEIO_ERR_PROTOCOL` on malformed input (the frame already
 * passed decodeClientFrame, so this does not happen in practice).
 */
import { pipeIOError } from '../../errors';
import { PyFloat } from '../security/python-json';

class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw pipeIOError('PIPEIO_ERR_PROTOCOL', 'truncated MessagePack value');
  }

  private bytes(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  private uint(size: 1 | 2 | 4): number {
    this.need(size);
    const v = size === 1 ? this.buf.readUInt8(this.offset) : size === 2 ? this.buf.readUInt16BE(this.offset) : this.buf.readUInt32BE(this.offset);
    this.offset += size;
    return v;
  }

  private int(size: 1 | 2 | 4): number {
    this.need(size);
    const v = size === 1 ? this.buf.readInt8(this.offset) : size === 2 ? this.buf.readInt16BE(this.offset) : this.buf.readInt32BE(this.offset);
    this.offset += size;
    return v;
  }

  private big(signed: boolean): number | bigint {
    this.need(8);
    const v = signed ? this.buf.readBigInt64BE(this.offset) : this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private array(n: number, depth: number): unknown[] {
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(this.value(depth + 1));
    return out;
  }

  private map(n: number, depth: number): Map<unknown, unknown> {
    const out = new Map<unknown, unknown>();
    for (let i = 0; i < n; i++) {
      const k = this.value(depth + 1);
      out.set(k, this.value(depth + 1));
    }
    return out;
  }

  value(depth = 0): unknown {
    if (depth > 128) throw pipeIOError('PIPEIO_ERR_PROTOCOL', 'MessagePack nesting too deep');
    const b = this.uint(1);
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0x80 && b <= 0x8f) return this.map(b & 0x0f, depth);
    if (b >= 0x90 && b <= 0x9f) return this.array(b & 0x0f, depth);
    if (b >= 0xa0 && b <= 0xbf) return this.bytes(b & 0x1f).toString('utf8');
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return Buffer.from(this.bytes(this.uint(1)));
      case 0xc5:
        return Buffer.from(this.bytes(this.uint(2)));
      case 0xc6:
        return Buffer.from(this.bytes(this.uint(4)));
      case 0xca:
        return new PyFloat(this.bytes(4).readFloatBE(0));
      case 0xcb:
        return new PyFloat(this.bytes(8).readDoubleBE(0));
      case 0xcc:
        return this.uint(1);
      case 0xcd:
        return this.uint(2);
      case 0xce:
        return this.uint(4);
      case 0xcf:
        return this.big(false);
      case 0xd0:
        return this.int(1);
      case 0xd1:
        return this.int(2);
      case 0xd2:
        return this.int(4);
      case 0xd3:
        return this.big(true);
      case 0xd9:
        return this.bytes(this.uint(1)).toString('utf8');
      case 0xda:
        return this.bytes(this.uint(2)).toString('utf8');
      case 0xdb:
        return this.bytes(this.uint(4)).toString('utf8');
      case 0xdc:
        return this.array(this.uint(2), depth);
      case 0xdd:
        return this.array(this.uint(4), depth);
      case 0xde:
        return this.map(this.uint(2), depth);
      case 0xdf:
        return this.map(this.uint(4), depth);
      default:
        throw pipeIOError('PIPEIO_ERR_PROTOCOL', `MessagePack type 0x${b.toString(16)} is not allowed on this wire`);
    }
  }
}

/**
 * The top-level map of `payload` with exact number types, or undefined if it
 * is not a map.
 */
export function decodeSigningView(payload: Buffer): Map<unknown, unknown> | undefined {
  const value = new Reader(payload).value();
  return value instanceof Map ? value : undefined;
}
