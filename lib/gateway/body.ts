/**
 * Reading a request body within a byte limit. The limit is checked against
 * Content-Length before a byte is read, and again while reading (chunked
 * bodies); going over answers 413 and stops reading.
 */
import type * as http from 'node:http';
import { httpError } from './http-errors';
import { parseWebJson } from './json';

/** Reads the whole body (at most `limit` bytes) as one Buffer. */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | undefined): void => {
      if (done) return;
      done = true;
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onError);
      req.removeListener('close', onClose);
      if (err) {
        req.resume(); // drain what is left, so the connection can answer
        reject(err);
      } else {
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      }
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) finish(tooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const onError = (err: Error): void => finish(httpError(400, 'PIPEIO_ERR_CONNECTION', `reading the request body failed: ${err.message}`));
    const onClose = (): void => finish(httpError(499, 'PIPEIO_ERR_ABORTED', 'the client went away while sending the body'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function tooLarge(limit: number): Error {
  return httpError(413, 'PIPEIO_ERR_LIMIT', `the request body is larger than ${limit} bytes`, { connection: 'close' });
}

/** True if the request's media type is JSON (`application/json`, `application/*+json`) or absent. */
export function isJsonContentType(req: http.IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (type === undefined || type === '') return true;
  const media = type.split(';', 1)[0]!.trim().toLowerCase();
  return media === 'application/json' || (media.startsWith('application/') && media.endsWith('+json'));
}

/**
 * Parses a JSON request body: empty is `null` (comm-ipc's `Body(None)`),
 * anything else must be JSON a hub frame can carry (400
 * `PIPEIO_ERR_INVALID_JSON` otherwise: see {@link parseWebJson}).
 */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return null;
  try {
    return parseWebJson(body.toString('utf8'));
  } catch (err) {
    const what = err instanceof RangeError ? 'cannot be sent to the hub' : 'is not JSON';
    throw httpError(400, 'PIPEIO_ERR_INVALID_JSON', `the request body ${what}: ${(err as Error).message}`);
  }
}
