/**
 * Everything two federated hubs say to each other through NATS: the
 * subjects, the control messages (one discriminated union, MessagePack) and
 * the frame batches (a small binary layout around the comm-ipc frames, which
 * travel as the exact bytes the core produced).
 *
 *   <prefix>.ctl          every hub -> every hub: hello, state, hb, bye
 *   <prefix>.in.<hub>     any hub -> one hub: batches of frames for its members
 *
 * Unknown control kinds are refused (decodeControl throws); a hub drops such a
 * message and counts it rather than guess.
 */
import { Packr, Unpackr } from 'msgpackr';
import { pipeIOError } from '../../errors';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** Wire version of both message families; a hub ignores other versions. */
export const WIRE_VERSION = 1;

/** A NATS subject token for a hub id: the id itself when safe, else `x` + hex. */
export function subjectToken(hubId: string): string {
  return /^[A-Za-z0-9_-]+$/.test(hubId) ? hubId : `x${Buffer.from(hubId, 'utf8').toString('hex')}`;
}

export function controlSubject(prefix: string): string {
  return `${prefix}.ctl`;
}

export function inboxSubject(prefix: string, hubId: string): string {
  return `${prefix}.in.${subjectToken(hubId)}`;
}

/** [ms since epoch, hub id]: a cluster-wide order for password changes. */
export type Version = [number, string];

export function newer(a: Version, b: Version | undefined): boolean {
  if (!b) return true;
  return a[0] !== b[0] ? a[0] > b[0] : a[1] > b[1];
}

/** What a hub announces about its own (local) members. */
export interface HubState {
  /** [id, mode] of every identified local client. */
  clients: Array<[string, string]>;
  /** Per channel: local members [id, joinedAt ms] and local openers. */
  channels: Array<{ name: string; members: Array<[string, number]>; openers: string[] }>;
  /** Per (channel, event): the event record and its local providers in registration order. */
  events: Array<{
    channel: string;
    event: string;
    isGroup: boolean;
    isStream: boolean;
    paramSchema: unknown;
    returnSchema: unknown;
    providers: string[];
  }>;
  /** Per topic: the owner if local (else null), its schema, the local subscribers. */
  topics: Array<{ channel: string; name: string; owner: string | null; schema: unknown; subscribers: string[] }>;
  /** Channel passwords this hub holds, with the version that set them. */
  passwords: Array<{ channel: string; password: string; version: Version }>;
}

interface Header {
  v: number;
  hub: string;
  /** Random per process: a restarted hub with the same id is a new instance. */
  inst: string;
}

export type ControlMessage =
  /** A hub joined (or re-joined after a link loss): everyone answers with its state. */
  | (Header & { k: 'hello' })
  /**
   * A hub's full state (MessagePack of {@link HubState}) in `parts` chunks of at most
   * STATE_CHUNK_BYTES, sent in a row (consecutive `seq`); `ver` bumps on every change.
   */
  | (Header & { k: 'state'; seq: number; ver: number; part: number; parts: number; chunk: Uint8Array })
  /** Liveness; a receiver whose copy of `ver` is older asks for the state with a hello. */
  | (Header & { k: 'hb'; seq: number; ver: number })
  /** The hub stops: drop its members now. */
  | (Header & { k: 'bye' });

const KINDS = new Set(['hello', 'state', 'hb', 'bye']);

/**
 * Largest chunk of a state message: a hub's state grows with its members, NATS refuses
 * messages over its max_payload (1 MiB by default), so big states travel in parts.
 */
export const STATE_CHUNK_BYTES = 256 * 1024;
/** Most parts a state may have (bounds what a receiver buffers: 1 GiB at the default chunk). */
export const MAX_STATE_PARTS = 4096;

export function encodeState(state: HubState): Buffer {
  return Buffer.from(packr.pack(state));
}

export function decodeState(bytes: Uint8Array): HubState {
  const s = unpackr.unpack(bytes) as Partial<HubState> | null;
  if (!s || !Array.isArray(s.clients) || !Array.isArray(s.channels) || !Array.isArray(s.events) || !Array.isArray(s.topics) || !Array.isArray(s.passwords)) {
    throw pipeIOError('PIPEIO_ERR_FEDERATION', 'malformed hub state');
  }
  return s as HubState;
}

/** Cuts an encoded state into chunks of at most `size` bytes (at least one). */
export function splitState(bytes: Buffer, size = STATE_CHUNK_BYTES): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < bytes.length; o += size) out.push(bytes.subarray(o, o + size));
  return out.length > 0 ? out : [bytes];
}

export function encodeControl(message: ControlMessage): Uint8Array {
  return packr.pack(message);
}

export function decodeControl(bytes: Uint8Array): ControlMessage {
  const m = unpackr.unpack(bytes) as Partial<ControlMessage> | null;
  if (!m || typeof m !== 'object' || typeof m.k !== 'string' || typeof m.hub !== 'string' || typeof m.inst !== 'string') {
    throw pipeIOError('PIPEIO_ERR_FEDERATION', 'malformed control message');
  }
  if (!KINDS.has(m.k)) throw pipeIOError('PIPEIO_ERR_FEDERATION', `unknown control message kind "${m.k}"`);
  return m as ControlMessage;
}

/** One frame for some members of the receiving hub. */
export interface BatchItem {
  /** A whole comm-ipc frame (length header included), exactly as the sending core produced it. */
  frame: Buffer;
  /** Member ids on the receiving hub. */
  targets: string[];
}

/**
 * Frame batch layout (all integers big-endian):
 *   u8 version | u16 len + source hub id | u16 len + source instance | u32 item count |
 *   per item: u32 frame length + frame bytes | u16 target count | per target: u16 len + id
 */
export function encodeBatch(hub: string, inst: string, items: readonly BatchItem[]): Buffer {
  const hubB = Buffer.from(hub, 'utf8');
  const instB = Buffer.from(inst, 'utf8');
  let size = 1 + 2 + hubB.length + 2 + instB.length + 4;
  const ids: Buffer[][] = [];
  for (const item of items) {
    const mine = item.targets.map((t) => Buffer.from(t, 'utf8'));
    ids.push(mine);
    size += 4 + item.frame.length + 2;
    for (const b of mine) size += 2 + b.length;
  }
  const out = Buffer.allocUnsafe(size);
  let o = out.writeUInt8(WIRE_VERSION, 0);
  o = out.writeUInt16BE(hubB.length, o);
  o += hubB.copy(out, o);
  o = out.writeUInt16BE(instB.length, o);
  o += instB.copy(out, o);
  o = out.writeUInt32BE(items.length, o);
  items.forEach((item, i) => {
    o = out.writeUInt32BE(item.frame.length, o);
    o += item.frame.copy(out, o);
    o = out.writeUInt16BE(ids[i]!.length, o);
    for (const b of ids[i]!) {
      o = out.writeUInt16BE(b.length, o);
      o += b.copy(out, o);
    }
  });
  return out;
}

export interface Batch {
  hub: string;
  inst: string;
  items: BatchItem[];
}

/** Decodes a frame batch; throws PIPEIO_ERR_FEDERATION on anything malformed. */
export function decodeBatch(bytes: Uint8Array): Batch {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  const need = (n: number): void => {
    if (o + n > buf.length) throw pipeIOError('PIPEIO_ERR_FEDERATION', 'truncated frame batch');
  };
  const str16 = (): string => {
    need(2);
    const n = buf.readUInt16BE(o);
    o += 2;
    need(n);
    const s = buf.toString('utf8', o, o + n);
    o += n;
    return s;
  };
  need(1);
  if (buf.readUInt8(0) !== WIRE_VERSION) throw pipeIOError('PIPEIO_ERR_FEDERATION', `unknown frame batch version ${buf[0]}`);
  o = 1;
  const hub = str16();
  const inst = str16();
  need(4);
  const count = buf.readUInt32BE(o);
  o += 4;
  const items: BatchItem[] = [];
  for (let i = 0; i < count; i++) {
    need(4);
    const len = buf.readUInt32BE(o);
    o += 4;
    need(len);
    // A copy: the frame may outlive the NATS message buffer (queued to a socket).
    const frame = Buffer.from(buf.subarray(o, o + len));
    o += len;
    need(2);
    const n = buf.readUInt16BE(o);
    o += 2;
    const targets: string[] = [];
    for (let t = 0; t < n; t++) targets.push(str16());
    items.push({ frame, targets });
  }
  if (o !== buf.length) throw pipeIOError('PIPEIO_ERR_FEDERATION', 'trailing bytes after a frame batch');
  return { hub, inst, items };
}
