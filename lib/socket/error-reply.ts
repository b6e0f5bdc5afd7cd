/**
 * The error object of the wire protocol (codechu-ipc's): `{"error": message,
 * "type": name}`, optionally with our `"code"`. Python peers read the first
 * two; extra keys are ignored by them.
 */
import { asError, pipeIOError, PipeIOError } from '../errors';

/** An error reply as it travels on the wire. */
export interface ErrorReply {
  error: string;
  type: string;
  code?: string;
}

/** Builds the error reply for a thrown value (Error or not). */
export function errorReply(thrown: unknown, type?: string): ErrorReply {
  const err = asError(thrown);
  const reply: ErrorReply = { error: err.message, type: type ?? err.name };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') reply.code = code;
  return reply;
}

/** True for a plain object with string `error` and `type` keys. */
export function isErrorReply(value: unknown): value is ErrorReply {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as ErrorReply).error === 'string' &&
    typeof (value as ErrorReply).type === 'string'
  );
}

/**
 * Turns a received error reply into a `PIPEIO_ERR_REMOTE` error. Its `cause`
 * is an Error whose `name` is the remote type and whose `code` (if the peer
 * sent one) is the remote code.
 */
export function remoteError(reply: ErrorReply): PipeIOError {
  const cause = new Error(reply.error);
  cause.name = reply.type;
  if (typeof reply.code === 'string') (cause as Error & { code?: string }).code = reply.code;
  return pipeIOError('PIPEIO_ERR_REMOTE', `remote ${reply.type}: ${reply.error}`, { cause });
}
