/**
 * How a plugin instance is a hub member: a {@link MemberLink} per instance.
 * {@link CoreLink} joins an in-process {@link HubCore} as an Endpoint; the
 * socket link (./socket-link.ts) joins a hub over its wire.
 */
import { pipeIOError, type PipeIOError } from '../../errors';
import { decodeClientFrame, packValue, type HubFrame } from '../protocol/codec';
import { FRAME_HEADER_BYTES } from '../protocol/frame-reader';
import type { HubCore } from '../server/core';
import type { Endpoint } from '../server/endpoint';
import type { HubLink, ResponseBody } from './instance-bridge';
import { peekCall, type CallPeek } from './call-peek';

/** What a member link reports to its instance. */
export interface LinkEvents {
  /** A frame for this member (decoded to plain objects). */
  frame(frame: Record<string, unknown>): void;
  /**
   * A `call` for this member, its fields read in place and its `data` still
   * MessagePack (links that have the frame's bytes use this instead of
   * {@link frame}). Valid only during the call.
   */
  call(peek: CallPeek): void;
  /** The hub dropped this member (slow consumer, errorPolicy 'raise', connection lost). */
  lost(err: PipeIOError): void;
}

export interface MemberLink extends HubLink {
  /** Leaves the hub (idempotent). Frames sent afterwards are dropped. */
  close(): void;
}

/** Makes the link of one instance, identified as `id`. */
export type LinkFactory = (id: string, events: LinkEvents) => Promise<MemberLink>;

/** A member of an in-process hub core: frames go straight to `core.dispatch`. */
export class CoreLink implements Endpoint, MemberLink {
  readonly local = true;
  readonly mode = 'plugin';
  private closed = false;

  constructor(
    readonly id: string,
    private readonly core: HubCore,
    private readonly events: LinkEvents,
  ) {
    if (core.isIdInUse(id)) throw pipeIOError('PIPEIO_ERR_ID_IN_USE', `Client ID ${id} already in use`);
    core.attach(this);
  }

  deliver(frame: Buffer): boolean {
    if (this.closed) return false;
    const payload = frame.subarray(FRAME_HEADER_BYTES);
    // Calls (nearly all of a provider's traffic) skip decoding: a few fields read in place.
    const call = peekCall(payload);
    if (call) {
      this.events.call(call);
      return true;
    }
    let decoded: Record<string, unknown>;
    try {
      decoded = decodeClientFrame(payload);
    } catch {
      return true; // the core only encodes valid maps; nothing to tell anyone
    }
    this.events.frame(decoded);
    return true;
  }

  send(frame: Record<string, unknown>): void {
    if (this.closed) return;
    this.core.dispatch(this, hubFrameOf(frame));
  }

  respond(requestId: string, targetId: string, body: ResponseBody): void {
    if (this.closed) return;
    this.core.dispatch(this, responseFrame(requestId, targetId, body));
  }

  respondPacked(requestId: string, targetId: string, data: Buffer): void {
    if (this.closed) return;
    this.core.dispatch(this, responseFrame(requestId, targetId, FINAL_DATA, data));
  }

  /** Called by the core (errorPolicy 'raise', ...). */
  close(err?: PipeIOError): void {
    if (this.closed) return;
    this.closed = true;
    this.core.detach(this.id);
    if (err) this.events.lost(err);
  }
}

const packedNames = new Map<string, Buffer>();
/** packValue of a key or a `type` value: our frames use a small fixed set of them (bounded cache). */
function packName(name: string): Buffer {
  let packed = packedNames.get(name);
  if (!packed) {
    packed = packValue(name);
    if (packedNames.size < 256) packedNames.set(name, packed);
  }
  return packed;
}

/** Bytes of a short string value written in place (msgpack fixstr/str8/str16), or undefined to use packValue. */
function strHeader(length: number): number[] | undefined {
  if (length < 32) return [0xa0 | length];
  if (length < 0x100) return [0xd9, length];
  if (length < 0x10000) return [0xda, length >> 8, length & 0xff];
  return undefined;
}

/**
 * The HubFrame the core would decode from `message`'s encoding, built while
 * encoding it (key by key, spans recorded, into one buffer) instead of
 * decoding it again. Only for our own frames: string keys, at most 15 of
 * them, no `undefined` values kept, flat routing fields (nested maps stay
 * plain objects, which no routed-frame handler inspects).
 */
export function hubFrameOf(message: Record<string, unknown>): HubFrame {
  const keys: string[] = [];
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const keyBytes: Buffer[] = [];
  const values: Array<Buffer | string | boolean | null> = [];
  const sizes: number[] = [];
  const headers: Array<number[] | undefined> = [];
  let total = 1;
  for (const key of Object.keys(message)) {
    const value = message[key];
    if (value === undefined) continue;
    keys.push(key);
    fields[key] = value;
    const kb = packName(key);
    keyBytes.push(kb);
    let size: number;
    let stored: Buffer | string | boolean | null;
    let header: number[] | undefined;
    if (value === null || typeof value === 'boolean') {
      stored = value;
      size = 1;
    } else if (typeof value === 'string' && (key !== 'type' || !packedNames.has(value))) {
      const length = Buffer.byteLength(value);
      header = strHeader(length);
      stored = header ? value : packValue(value);
      size = header ? header.length + length : (stored as Buffer).length;
    } else {
      stored = key === 'type' && typeof value === 'string' ? packName(value) : packValue(value);
      size = stored.length;
    }
    values.push(stored);
    sizes.push(size);
    headers.push(header);
    total += kb.length + size;
  }
  if (keys.length > 15) throw new RangeError('hubFrameOf: at most 15 keys');
  const raw = Buffer.allocUnsafe(total);
  const spans = new Uint32Array(keys.length * 3);
  raw[0] = 0x80 | keys.length;
  let offset = 1;
  for (let i = 0; i < keys.length; i++) {
    spans[i * 3] = offset;
    offset += keyBytes[i]!.copy(raw, offset);
    spans[i * 3 + 1] = offset;
    const v = values[i]!;
    if (v === null) raw[offset] = 0xc0;
    else if (v === true) raw[offset] = 0xc3;
    else if (v === false) raw[offset] = 0xc2;
    else if (typeof v === 'string') {
      const header = headers[i]!;
      for (let h = 0; h < header.length; h++) raw[offset + h] = header[h]!;
      raw.write(v, offset + header.length, 'utf8');
    } else v.copy(raw, offset);
    offset += sizes[i]!;
    spans[i * 3 + 2] = offset;
  }
  return { type: String(message['type']), fields, keys, spans, raw };
}

/** Writes `s` as a MessagePack str at `o` (`length`: its UTF-8 bytes); returns the new offset. */
function putStr(out: Buffer, o: number, s: string, length: number): number {
  if (length < 32) out[o++] = 0xa0 | length;
  else if (length < 0x100) {
    out[o++] = 0xd9;
    out[o++] = length;
  } else if (length < 0x10000) {
    out[o++] = 0xda;
    out[o++] = length >> 8;
    out[o++] = length & 0xff;
  } else {
    out[o++] = 0xdb;
    out.writeUInt32BE(length, o);
    o += 4;
  }
  if (length === s.length && length <= 64) {
    // ASCII (as many bytes as characters), short: a loop beats the native write
    for (let i = 0; i < length; i++) out[o + i] = s.charCodeAt(i);
    return o + length;
  }
  return o + out.write(s, o, 'utf8');
}

function strSize(length: number): number {
  return length + (length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5);
}

/** UTF-8 length of `s`; short ASCII strings without a native call. */
function utf8Length(s: string): number {
  if (s.length <= 64) {
    let i = 0;
    while (i < s.length && s.charCodeAt(i) < 0x80) i++;
    if (i === s.length) return i;
  }
  return Buffer.byteLength(s, 'utf8');
}

const R_TYPE = packValue('type');
const R_RESPONSE = packValue('response');
const R_REQUEST_ID = packValue('request_id');
const R_TARGET_ID = packValue('target_id');
const R_DATA = packValue('data');
const R_ERROR = packValue('error');
const R_CODE = packValue('code');
const R_IS_STREAM = packValue('is_stream');
const R_IS_FINAL = packValue('is_final');
const KEYS_DATA = ['type', 'request_id', 'target_id', 'data', 'is_final'];
const KEYS_STREAM = ['type', 'request_id', 'target_id', 'data', 'is_stream', 'is_final'];
const KEYS_ERROR = ['type', 'request_id', 'target_id', 'error', 'code', 'is_final'];

/** Appends `key` then a str `value` at `o`, recording the entry's span at `spans[k..k+2]`; returns the new offset. */
function putEntry(raw: Buffer, o: number, spans: Uint32Array, k: number, key: Buffer, value: string, length: number): number {
  spans[k] = o;
  raw.set(key, o); // TypedArray#set: no Buffer#copy argument handling
  o += key.length;
  spans[k + 1] = o;
  o = putStr(raw, o, value, length);
  spans[k + 2] = o;
  return o;
}

/** Appends `key` then the encoded `value`; as {@link putEntry}. */
function putBytes(raw: Buffer, o: number, spans: Uint32Array, k: number, key: Buffer, value: Buffer): number {
  spans[k] = o;
  raw.set(key, o);
  o += key.length;
  spans[k + 1] = o;
  raw.set(value, o);
  o += value.length;
  spans[k + 2] = o;
  return o;
}

const TRUE = Buffer.from([0xc3]);
const FALSE = Buffer.from([0xc2]);

/**
 * The fields of a plain answer whose data came encoded: `data` is decoded
 * from the frame on first read (routing never reads it; a getter on an
 * object literal would cost more than the whole frame).
 */
class PackedAnswerFields {
  readonly type = 'response';
  readonly is_final = true;
  #raw: Buffer | undefined;
  [key: string]: unknown;

  constructor(
    readonly request_id: string,
    readonly target_id: string,
  ) {}

  /** @internal the frame the data is read from */
  setRaw(raw: Buffer): void {
    this.#raw = raw;
  }

  get data(): unknown {
    return this.#raw === undefined ? undefined : decodeClientFrame(this.#raw)['data'];
  }
}

/** The body of respondPacked(): its data comes encoded. */
const FINAL_DATA: ResponseBody = { data: undefined, is_final: true };

/**
 * The HubFrame of a member's answer to a call, `{type: 'response',
 * request_id, target_id, ...body}` with body keys in the order data, error,
 * code, is_stream, is_final: what {@link hubFrameOf} makes of that object,
 * with the constant parts pre-encoded (this runs once per call). With
 * `packedData`, the data is those bytes (its decoded field is made on first
 * read: routing never reads it).
 */
export function responseFrame(requestId: string, targetId: string, body: ResponseBody, packedData?: Buffer): HubFrame {
  const ridLength = utf8Length(requestId);
  const targetLength = utf8Length(targetId);
  let size = 1 + R_TYPE.length + R_RESPONSE.length + R_REQUEST_ID.length + strSize(ridLength) + R_TARGET_ID.length + strSize(targetLength) + R_IS_FINAL.length + 1;
  let data: Buffer | undefined;
  let error = '';
  let code = '';
  let errorLength = 0;
  let codeLength = 0;
  let fields: Record<string, unknown>;
  let keys: string[];
  if (packedData !== undefined) fields = new PackedAnswerFields(requestId, targetId);
  else fields = { type: 'response', request_id: requestId, target_id: targetId };
  if (body.error !== undefined) {
    error = body.error;
    code = body.code;
    errorLength = utf8Length(error);
    codeLength = utf8Length(code);
    size += R_ERROR.length + strSize(errorLength) + R_CODE.length + strSize(codeLength);
    keys = KEYS_ERROR;
    fields['error'] = error;
    fields['code'] = code;
  } else {
    data = packedData ?? packValue(body.data ?? null);
    size += R_DATA.length + data.length;
    if (packedData === undefined) fields['data'] = body.data ?? null;
    if (body.is_stream === true) {
      size += R_IS_STREAM.length + 1;
      fields['is_stream'] = true;
      keys = KEYS_STREAM;
    } else {
      keys = KEYS_DATA;
    }
  }
  if (packedData === undefined) fields['is_final'] = body.is_final;
  const raw = Buffer.allocUnsafe(size);
  if (fields instanceof PackedAnswerFields) fields.setRaw(raw);
  const spans = new Uint32Array(keys.length * 3);
  raw[0] = 0x80 | keys.length;
  let o = putBytes(raw, 1, spans, 0, R_TYPE, R_RESPONSE);
  o = putEntry(raw, o, spans, 3, R_REQUEST_ID, requestId, ridLength);
  o = putEntry(raw, o, spans, 6, R_TARGET_ID, targetId, targetLength);
  let k = 9;
  if (data === undefined) {
    o = putEntry(raw, o, spans, k, R_ERROR, error, errorLength);
    o = putEntry(raw, o, spans, k + 3, R_CODE, code, codeLength);
    k += 6;
  } else {
    o = putBytes(raw, o, spans, k, R_DATA, data);
    k += 3;
    if (keys === KEYS_STREAM) {
      o = putBytes(raw, o, spans, k, R_IS_STREAM, TRUE);
      k += 3;
    }
  }
  putBytes(raw, o, spans, k, R_IS_FINAL, body.is_final ? TRUE : FALSE);
  return { type: 'response', fields, keys, spans, raw };
}

/** A link factory for an in-process core (what `hub.attachPlugin` uses). */
export function coreLinks(core: HubCore): LinkFactory {
  return (id, events) => Promise.resolve(new CoreLink(id, core, events));
}
