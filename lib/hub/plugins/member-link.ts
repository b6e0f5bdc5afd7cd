/**
 * How a plugin instance is a hub member: a {@link MemberLink} per instance.
 * {@link CoreLink} joins an in-process {@link HubCore} as an Endpoint; the
 * socket link (./socket-link.ts) joins a hub over its wire.
 */
import { pipeIOError, type PipeIOError } from '../../errors';
import { decodeClientFrame, packValue, type Fields, type HubFrame } from '../protocol/codec';
import { FRAME_HEADER_BYTES } from '../protocol/frame-reader';
import { packedKey } from '../protocol/stamp';
import type { HubCore } from '../server/core';
import type { Endpoint } from '../server/endpoint';
import { requestIdOf } from '../server/fields';
import type { HubLink, ResponseBody } from './instance-bridge';

/** What a member link reports to its instance. */
export interface LinkEvents {
  /** A frame for this member (decoded to plain objects). */
  frame(frame: Record<string, unknown>): void;
  /**
   * A `call` for this member handed over decoded by an in-process routing
   * core (instead of {@link frame}): `data` as the core decoded it (nested
   * maps are `Map`s, bin is a Buffer, 64-bit ints are bigints).
   */
  call(requestId: string | undefined, callerId: string, channel: string, event: string, isStream: boolean, data: unknown): void;
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
  readonly inProcess = true;
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
    let decoded: Record<string, unknown>;
    try {
      decoded = decodeClientFrame(frame.subarray(FRAME_HEADER_BYTES));
    } catch {
      return true; // the core only encodes valid maps; nothing to tell anyone
    }
    this.events.frame(decoded);
    return true;
  }

  /**
   * A call routed by the core, handed over as the core decoded it: no
   * stamping, encoding and decoding again (nearly all of a provider's
   * traffic). `callerId` is the sender_id the stamped frame would carry.
   */
  deliverCall(frame: HubFrame, callerId: string): boolean {
    if (this.closed) return false;
    const f = frame.fields;
    const channel = f.get('channel');
    const event = f.get('event');
    this.events.call(
      requestIdOf(f),
      callerId,
      typeof channel === 'string' ? channel : '',
      typeof event === 'string' ? event : '',
      f.get('is_stream') === true,
      f.get('data'),
    );
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

  /** Called by the core (errorPolicy 'raise', ...). */
  close(err?: PipeIOError): void {
    if (this.closed) return;
    this.closed = true;
    this.core.detach(this.id);
    if (err) this.events.lost(err);
  }
}

/**
 * The HubFrame the core would decode from `message`'s encoding, built while
 * encoding it (key by key with msgpackr, spans recorded, into one buffer)
 * instead of decoding it again. Only for our own frames: string keys, at
 * most 15 of them, no `undefined` values kept, flat routing fields (nested
 * maps stay plain objects, which no routed-frame handler inspects).
 */
export function hubFrameOf(message: Record<string, unknown>): HubFrame {
  const keys: string[] = [];
  const fields = new Map<string, unknown>();
  const names: Buffer[] = [];
  const values: Buffer[] = [];
  for (const key of Object.keys(message)) {
    const value = message[key];
    if (value === undefined) continue;
    keys.push(key);
    fields.set(key, value);
    names.push(packedKey(key));
    // packValue's results stay valid across calls (msgpackr moves on in its buffer); frameOf copies them
    values.push(key === 'type' && typeof value === 'string' ? packedKey(value) : packValue(value));
  }
  if (keys.length > 15) throw new RangeError('hubFrameOf: at most 15 keys');
  return frameOf(String(message['type']), fields, keys, names, values);
}

/**
 * A HubFrame from its entries already encoded by msgpackr (`names[i]` the
 * key, `values[i]` its value): a fixmap header (at most 15 entries, written
 * here as stamp.ts's allocMapFrame writes map headers), then the entries
 * copied in, their spans recorded.
 */
function frameOf(type: string, fields: Fields, keys: string[], names: readonly Buffer[], values: readonly Buffer[]): HubFrame {
  let size = 1;
  for (let i = 0; i < keys.length; i++) size += names[i]!.length + values[i]!.length;
  const raw = Buffer.allocUnsafe(size);
  const spans = new Uint32Array(keys.length * 3);
  raw[0] = 0x80 | keys.length;
  let o = 1;
  for (let i = 0; i < keys.length; i++) {
    spans[i * 3] = o;
    raw.set(names[i]!, o); // TypedArray#set: no Buffer#copy argument handling
    o += names[i]!.length;
    spans[i * 3 + 1] = o;
    raw.set(values[i]!, o);
    o += values[i]!.length;
    spans[i * 3 + 2] = o;
  }
  return { type, fields, keys, spans, raw };
}

/** msgpackr's encoding of `value`, copied out of its shared buffer (for constants). */
const constant = (value: unknown): Buffer => Buffer.from(packValue(value));

const R_TYPE = constant('type');
const R_RESPONSE = constant('response');
const R_REQUEST_ID = constant('request_id');
const R_TARGET_ID = constant('target_id');
const R_DATA = constant('data');
const R_ERROR = constant('error');
const R_CODE = constant('code');
const R_IS_STREAM = constant('is_stream');
const R_IS_FINAL = constant('is_final');
const R_TRUE = constant(true);
const R_FALSE = constant(false);
const KEYS_DATA = ['type', 'request_id', 'target_id', 'data', 'is_final'];
const KEYS_STREAM = ['type', 'request_id', 'target_id', 'data', 'is_stream', 'is_final'];
const KEYS_ERROR = ['type', 'request_id', 'target_id', 'error', 'code', 'is_final'];
const NAMES_DATA = [R_TYPE, R_REQUEST_ID, R_TARGET_ID, R_DATA, R_IS_FINAL];
const NAMES_STREAM = [R_TYPE, R_REQUEST_ID, R_TARGET_ID, R_DATA, R_IS_STREAM, R_IS_FINAL];
const NAMES_ERROR = [R_TYPE, R_REQUEST_ID, R_TARGET_ID, R_ERROR, R_CODE, R_IS_FINAL];

/** Encoded caller ids (a provider answers the same few callers over and over; bounded). */
const packedTargets = new Map<string, Buffer>();
function packedTarget(id: string): Buffer {
  let p = packedTargets.get(id);
  if (p === undefined) {
    if (packedTargets.size >= 4096) packedTargets.clear();
    p = constant(id);
    packedTargets.set(id, p);
  }
  return p;
}

/**
 * The HubFrame of a member's answer to a call, `{type: 'response',
 * request_id, target_id, ...body}` with body keys in the order data, error,
 * code, is_stream, is_final: what {@link hubFrameOf} makes of that object.
 * Every value is msgpackr's encoding (the constant parts encoded once, the
 * target id cached), put together by {@link frameOf}. This runs once per call.
 */
export function responseFrame(requestId: string, targetId: string, body: ResponseBody): HubFrame {
  const fields = new Map<string, unknown>([
    ['type', 'response'],
    ['request_id', requestId],
    ['target_id', targetId],
  ]);
  let keys: string[];
  let names: Buffer[];
  // packValue's results stay valid across calls (msgpackr moves on in its buffer); frameOf copies them
  const values: Buffer[] = [R_RESPONSE, packValue(requestId), packedTarget(targetId)];
  if (body.error !== undefined) {
    fields.set('error', body.error);
    fields.set('code', body.code);
    keys = KEYS_ERROR;
    names = NAMES_ERROR;
    values.push(packValue(body.error), packValue(body.code));
  } else {
    const data = body.data ?? null;
    fields.set('data', data);
    values.push(packValue(data));
    if (body.is_stream === true) {
      fields.set('is_stream', true);
      keys = KEYS_STREAM;
      names = NAMES_STREAM;
      values.push(R_TRUE);
    } else {
      keys = KEYS_DATA;
      names = NAMES_DATA;
    }
  }
  fields.set('is_final', body.is_final);
  values.push(body.is_final ? R_TRUE : R_FALSE);
  return frameOf('response', fields, keys, names, values);
}

/** A link factory for an in-process core (what `hub.attachPlugin` uses). */
export function coreLinks(core: HubCore): LinkFactory {
  return (id, events) => Promise.resolve(new CoreLink(id, core, events));
}
