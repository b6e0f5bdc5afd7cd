/**
 * The hub's cryptographic primitives, compatible with comm-ipc (protocol doc
 * 2.4, 4.2, 8.1). Pure functions: no I/O, no state; randomness from
 * node:crypto only.
 *
 *   connection secret (2.4)   H = sha256hex(secret)
 *                             proof = hmac(ascii(H), 'challenge:"<challenge>"')
 *   channel password  (4.2)   proof = hmac(utf8(password), utf8(challenge))
 *   message signature (8.1)   key = pbkdf2(password, channel, 100000, 32)
 *                             sig = hmac(key, 'k1:<json>|k2:<json>|...')
 *
 * Every digest is lowercase hex, and every comparison is constant time.
 */

import {
  createHash,
  createHmac,
  pbkdf2,
  pbkdf2Sync,
  randomBytes,
  randomInt,
  timingSafeEqual,
} from 'node:crypto';
import { pythonJson } from './python-json';

/** PBKDF2 iterations of the message key (comm-ipc's fixed value). */
export const MESSAGE_KEY_ITERATIONS = 100_000;

/** Length of the derived message key, in bytes. */
export const MESSAGE_KEY_LENGTH = 32;

/**
 * The frame keys a message signature covers (8.1), in ascending code-point
 * order, which is the order they appear in the signed string.
 */
export const SIGNABLE_KEYS = [
  'challenge',
  'channel',
  'data',
  'event',
  'is_final',
  'is_stream',
  'origin_server_id',
  'request_id',
  'sender_id',
  'sub_name',
  'target_id',
  'timestamp',
] as const;

/** One of {@link SIGNABLE_KEYS}. */
export type SignableKey = (typeof SIGNABLE_KEYS)[number];

/** A stored connection-secret hash, passed to {@link connectionProof} instead of the secret. */
export interface ConnectionSecretHash {
  /** `H`: 64 lowercase hex chars, as returned by {@link connectionSecretHash}. */
  readonly hash: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const CHALLENGE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * `H` of section 2.4: the lowercase hex SHA-256 of the UTF-8 secret. A server
 * keeps only this, never the plaintext.
 *
 * @param secret The connection secret.
 * @returns 64 lowercase hex chars.
 */
export function connectionSecretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * The `conn_proof` answer to a `conn_challenge` (2.4): lowercase hex
 * HMAC-SHA256 with key = the ASCII bytes of `H` (not the raw digest) over
 * `challenge:"<challenge>"` (the 8.1 payload of the single key `challenge`).
 *
 * A plain string is always the plaintext secret (a client); a server passes
 * its stored hash as `{ hash: H }`. There is deliberately no guessing: a
 * secret may itself be 64 hex chars (e.g. from `secrets.token_hex(32)`).
 *
 * @param secretOrHash The plaintext secret, or `{ hash }` with its stored hash.
 * @param challenge The challenge the server sent (any string).
 * @returns 64 lowercase hex chars.
 * @throws {TypeError} If `{ hash }` is not 64 lowercase hex chars.
 */
export function connectionProof(secretOrHash: string | ConnectionSecretHash, challenge: string): string {
  let hash: string;
  if (typeof secretOrHash === 'string') {
    hash = connectionSecretHash(secretOrHash);
  } else {
    if (typeof secretOrHash?.hash !== 'string' || !HEX64.test(secretOrHash.hash)) {
      throw new TypeError('secretOrHash.hash must be 64 lowercase hex chars');
    }
    hash = secretOrHash.hash;
  }
  return signFrame(Buffer.from(hash, 'ascii'), { challenge });
}

/**
 * The `auth_proof` of a per-registration channel password challenge (4.2):
 * lowercase hex HMAC-SHA256(key = UTF-8 password, message = UTF-8 challenge).
 *
 * @param password The channel password (plaintext, as comm-ipc stores it).
 * @param challenge The 32-char challenge of the `auth_challenge`.
 * @returns 64 lowercase hex chars.
 */
export function channelProof(password: string, challenge: string): string {
  return createHmac('sha256', Buffer.from(password, 'utf8')).update(challenge, 'utf8').digest('hex');
}

/**
 * The message-signing key of a channel (8.1), synchronously:
 * PBKDF2-HMAC-SHA256(UTF-8 password, salt = UTF-8 channel, 100000 iterations,
 * 32 bytes). Blocks for tens of milliseconds; prefer {@link deriveMessageKey}.
 *
 * @param password The channel password.
 * @param channel The channel name (the salt).
 * @returns The 32-byte key.
 */
export function deriveMessageKeySync(password: string, channel: string): Buffer {
  return pbkdf2Sync(
    Buffer.from(password, 'utf8'),
    Buffer.from(channel, 'utf8'),
    MESSAGE_KEY_ITERATIONS,
    MESSAGE_KEY_LENGTH,
    'sha256',
  );
}

/**
 * The message-signing key of a channel (8.1), computed on libuv's thread pool
 * (`crypto.pbkdf2`) so the event loop is not blocked. Same result as
 * {@link deriveMessageKeySync}.
 *
 * @param password The channel password.
 * @param channel The channel name (the salt).
 * @returns A promise of the 32-byte key.
 */
export function deriveMessageKey(password: string, channel: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    pbkdf2(
      Buffer.from(password, 'utf8'),
      Buffer.from(channel, 'utf8'),
      MESSAGE_KEY_ITERATIONS,
      MESSAGE_KEY_LENGTH,
      'sha256',
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

/**
 * The canonical string a signature covers (8.1): for each of
 * {@link SIGNABLE_KEYS} present in `frame`, `key:<pythonJson(value)>`, joined
 * by `|`. A `null` value counts as present (`key:null`); an `undefined` value
 * or a missing key is left out. Other keys (`type`, `server_id`, `path`,
 * `metadata`, `mode`, `signature`) are ignored.
 *
 * @param frame The frame (a decoded wire map).
 * @returns The payload, pure ASCII.
 * @throws {PipeIOError} `PIPEIO_ERR_INVALID_SIGNATURE` if a covered value is
 *   not JSON serialisable (bytes, for one), see {@link pythonJson}.
 */
export function signablePayload(frame: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  for (const key of SIGNABLE_KEYS) {
    if (!Object.prototype.hasOwnProperty.call(frame, key)) continue;
    const value = frame[key];
    if (value === undefined) continue;
    parts.push(`${key}:${pythonJson(value)}`);
  }
  return parts.join('|');
}

/**
 * Signs a frame (8.1): lowercase hex HMAC-SHA256 of the UTF-8
 * {@link signablePayload}. The caller stores the result in `signature`.
 *
 * @param key The message key ({@link deriveMessageKey}) or any HMAC key.
 * @param frame The frame to sign.
 * @returns 64 lowercase hex chars.
 * @throws {PipeIOError} `PIPEIO_ERR_INVALID_SIGNATURE` if a covered value is not JSON serialisable.
 */
export function signFrame(key: Uint8Array, frame: Readonly<Record<string, unknown>>): string {
  return createHmac('sha256', key).update(signablePayload(frame), 'utf8').digest('hex');
}

/**
 * Checks a frame's signature in constant time. Exactly like Python's
 * `hmac.compare_digest` on the hex strings, so upper-case hex does not match.
 * The frame is used as given: a receiver that mimics comm-ipc must first
 * normalise it as 8.1 "Verification" describes (all eleven non-challenge keys
 * present, nil channel/event/sender_id as `""`).
 *
 * @param key The message key.
 * @param frame The received frame.
 * @param signature The received `signature` value (any type; non-strings fail).
 * @returns `true` if it matches; `false` otherwise, including when the frame
 *   cannot be serialised (never throws for that).
 */
export function verifyFrame(key: Uint8Array, frame: Readonly<Record<string, unknown>>, signature: unknown): boolean {
  if (typeof signature !== 'string') return false;
  let expected: string;
  try {
    expected = signFrame(key, frame);
  } catch {
    return false;
  }
  return safeEqualHex(expected, signature);
}

/**
 * A 32-char channel challenge from `[A-Za-z0-9]` (4.2), drawn with
 * `crypto.randomInt` (uniform, no modulo bias).
 *
 * @returns 32 alphanumeric chars.
 */
export function randomChallenge(): string {
  let out = '';
  for (let i = 0; i < 32; i++) out += CHALLENGE_ALPHABET[randomInt(CHALLENGE_ALPHABET.length)];
  return out;
}

/**
 * A connection challenge (2.4): 32 random bytes as lowercase hex.
 *
 * @returns 64 lowercase hex chars.
 */
export function randomHexChallenge(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Constant-time string equality for digests (the time depends only on the
 * length). Compares the exact strings (case-sensitive), like Python's
 * `hmac.compare_digest`.
 *
 * @param a A digest (any value).
 * @param b Another digest (any value).
 * @returns `true` only if both are strings with identical contents; `false`
 *   for non-strings or different lengths. Never throws.
 */
export function safeEqualHex(a: unknown, b: unknown): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  if (a.length !== b.length) return false;
  // UTF-16LE is lossless for any JS string (UTF-8 would map every lone
  // surrogate to U+FFFD and make different strings compare equal).
  return timingSafeEqual(Buffer.from(a, 'utf16le'), Buffer.from(b, 'utf16le'));
}
