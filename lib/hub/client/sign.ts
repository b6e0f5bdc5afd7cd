/**
 * Signing glue for password channels (comm-ipc 8.1). The channel owns the
 * key (PBKDF2, derived off the event loop); this file builds the envelope a
 * comm-ipc channel object sends and checks what arrives.
 *
 * Signed and checked: `call`, `broadcast`, `send`. Never signed by comm-ipc
 * and so never checked here: stream chunks, responses, publications,
 * first/last notices, system pushes.
 */
import { pipeIOError } from '../../errors';
import type { HubMessage } from '../protocol/messages';
import { signFrame, verifyFrame } from '../security/signing';
import { decodeSigningView } from './signing-view';

/** Unix seconds, an integer (CommData requires one). */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export interface EnvelopeFields {
  type: 'call' | 'broadcast' | 'send';
  channel: string;
  event: string;
  data: unknown;
  senderId: string;
  /** The hub's id from `identified`; omitted (never nil) when unknown. */
  serverId: string | undefined;
  requestId: string | null;
  isStream: boolean;
}

/**
 * The full envelope of comm-ipc's channel API (3.1.5), with all eleven
 * signable keys set explicitly, signed when `key` is given.
 *
 * @throws {PipeIOError} `PIPEIO_ERR_INVALID_SIGNATURE` when `key` is given and
 *   `data` cannot be signed (bytes, for one).
 */
export function buildEnvelope(f: EnvelopeFields, key: Buffer | undefined): Record<string, unknown> {
  const msg: Record<string, unknown> = {
    type: f.type,
    channel: f.channel,
    event: f.event,
    data: f.data === undefined ? null : f.data,
    sender_id: f.senderId,
    timestamp: nowSeconds(),
    request_id: f.requestId,
    target_id: null,
    is_stream: f.isStream,
    is_final: !f.isStream,
    sub_name: null,
  };
  if (f.serverId !== undefined) {
    msg['server_id'] = f.serverId;
    msg['origin_server_id'] = f.serverId;
  } else if (key) {
    // Signed frames must cover origin_server_id; nil is what the verifier reconstructs.
    msg['origin_server_id'] = null;
  }
  if (key) {
    try {
      msg['signature'] = signFrame(key, msg);
    } catch (err) {
      throw pipeIOError(
        'PIPEIO_ERR_INVALID_SIGNATURE',
        `cannot sign ${f.type} ${f.channel}:${f.event}: ${(err as Error).message} (bytes cannot be sent on password channels)`,
        { cause: err },
      );
    }
  }
  return msg;
}

/**
 * Checks a received frame the way a comm-ipc receiver does: every signable
 * key present (absent ones as their CommData defaults), then HMAC over the
 * canonical JSON.
 *
 * @param payload The frame's raw MessagePack payload: `data` is then read
 *   type-exact from it ({@link decodeSigningView}), so a float 1.0 signed by
 *   Python verifies. Without it, `msg.data` is used (integral floats lost).
 */
export function verifyEnvelope(key: Buffer, msg: HubMessage, payload?: Buffer): boolean {
  let data: unknown = msg.data;
  if (payload) {
    try {
      const view = decodeSigningView(payload);
      if (view) data = view.get('data');
    } catch {
      return false;
    }
  }
  const norm: Record<string, unknown> = {
    sender_id: msg.sender_id ?? '',
    channel: msg.channel ?? '',
    event: msg.event ?? '',
    data: data === undefined ? null : data,
    timestamp: msg.timestamp,
    request_id: msg.request_id ?? null,
    target_id: msg.target_id ?? null,
    is_stream: msg.is_stream ?? false,
    is_final: msg.is_final ?? true,
    origin_server_id: msg.origin_server_id ?? null,
    sub_name: msg.sub_name ?? null,
  };
  return verifyFrame(key, norm, msg.signature);
}
