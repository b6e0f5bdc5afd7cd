/**
 * Argument checks of MultiPipeServer: pair names, numeric options, and
 * outgoing messages.
 */
import { pipeIOError } from '../errors';

/** Valid pair names: letters, digits, `.`, `_`, `-`; 1 to 64 characters; not starting with `.`. */
export const PAIR_NAME_PATTERN = /^(?!\.)[A-Za-z0-9._-]{1,64}$/;

/** An integer option >= `min`, else RangeError naming `options.<name>`. */
export function checkSize(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`options.${name} must be an integer >= ${min}`);
  }
  return value;
}

/**
 * A message as bytes without a copy; PIPEIO_ERR_INVALID_MESSAGE for a wrong
 * type or a newline inside (the newline is the delimiter).
 */
export function toBody(message: string | Uint8Array): Buffer {
  let body: Buffer;
  if (typeof message === 'string') body = Buffer.from(message, 'utf8');
  else if (Buffer.isBuffer(message)) body = message; // the common echo case: no new view per message
  else if (message instanceof Uint8Array) body = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  else throw pipeIOError('PIPEIO_ERR_INVALID_MESSAGE', 'message must be a string or a Uint8Array');
  if (body.indexOf(10) !== -1) {
    throw pipeIOError('PIPEIO_ERR_INVALID_MESSAGE', 'message must not contain a newline (it is the delimiter)');
  }
  return body;
}
