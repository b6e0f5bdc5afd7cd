/**
 * peekCall: the few top-level fields of a delivered `call` frame that a
 * plugin line needs, read in place from its bytes (no decoding), plus the
 * byte span of its `data` for msgpack-json.ts. Pure: no I/O.
 */
import { skipValue } from './msgpack-json';

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

/** The str at `pos` (strStart, strLength), or false if the value there is not a whole str. */
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

