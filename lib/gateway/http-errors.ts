/**
 * HTTP semantics of every error the gateway can meet: a hub error code
 * becomes a status, and every error response has one JSON body shape,
 *
 *   { "code": "PIPEIO_ERR_...", "message": "...", "detail": "...", "issues"?: [...] }
 *
 * (`detail` repeats the message: it is the key comm-ipc's FastAPI gateway
 * answers with, so ported clients keep working).
 *
 * No provider is 503, not 404: the route exists and the same request
 * succeeds as soon as a provider registers (providers come and go), which
 * is what 503 says; a 404 is cacheable by default (RFC 9110 15.1) and would
 * be remembered by caches and clients as "no such resource".
 */
import type * as http from 'node:http';
import { PipeIOError, type PipeIOErrorCode } from '../errors';

/** An error with the HTTP status it answers with (statuses the code table cannot know: 413, 415, 416, 404 of a path, ...). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: PipeIOErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Status of each hub error code; anything not listed is 500. */
const STATUS: Partial<Record<PipeIOErrorCode, number>> = {
  PIPEIO_ERR_NO_PROVIDER: 503, // transient: see the header comment
  PIPEIO_ERR_CONNECTION: 503, // the hub is unreachable (or the link is reconnecting)
  PIPEIO_ERR_CLOSED: 503, // the gateway is stopping
  PIPEIO_ERR_CHANNEL_TERMINATED: 503,
  PIPEIO_ERR_SLOW_CONSUMER: 503,
  PIPEIO_ERR_LIMIT: 503, // a bounded table of the hub or gateway is full
  PIPEIO_ERR_TIMEOUT: 504,
  PIPEIO_ERR_REMOTE: 502, // the provider's handler threw: its text is the message
  PIPEIO_ERR_HANDLER: 502,
  PIPEIO_ERR_PROVIDER_GONE: 502, // the provider left before answering
  PIPEIO_ERR_PROTOCOL: 502,
  PIPEIO_ERR_AUTH: 403, // a channel password refused or missing
  PIPEIO_ERR_FORBIDDEN: 403, // e.g. publishing to a topic the gateway does not own
  PIPEIO_ERR_RESERVED: 403,
  PIPEIO_ERR_INVALID_SIGNATURE: 403,
  PIPEIO_ERR_CONFLICT: 409,
  PIPEIO_ERR_VALIDATION: 400, // request data failed the event's schema
  PIPEIO_ERR_INVALID_JSON: 400,
  PIPEIO_ERR_INVALID_MESSAGE: 400,
  PIPEIO_ERR_ABORTED: 499, // the client went away; nobody reads this answer
};

/** The HTTP status for an error (an {@link HttpError}'s own, a hub code's, else 500). */
export function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof PipeIOError) return STATUS[err.code] ?? 500;
  return 500;
}

/** The JSON body of an error response. */
export interface ErrorBody {
  code: PipeIOErrorCode | 'PIPEIO_ERR_INTERNAL';
  message: string;
  detail: string;
  issues?: unknown[];
}

/** The body for `err`: hub errors keep their code and the remote text; others are not shown. */
export function errorBody(err: unknown): ErrorBody {
  if (err instanceof HttpError || err instanceof PipeIOError) {
    const message = err instanceof PipeIOError && err.remoteMessage !== undefined ? err.remoteMessage : err.message;
    const body: ErrorBody = { code: err.code, message, detail: message };
    const issues = (err as { issues?: unknown }).issues;
    if (Array.isArray(issues)) body.issues = issues;
    return body;
  }
  // Never leak a stack or an internal message to the web.
  return { code: 'PIPEIO_ERR_INTERNAL', message: 'internal error', detail: 'internal error' };
}

/** Extra headers an error status carries. */
function headersOf(err: unknown, status: number): Record<string, string> {
  const extra: Record<string, string> = err instanceof HttpError ? { ...err.headers } : {};
  if (status === 503 && !('retry-after' in extra)) extra['retry-after'] = '1';
  return extra;
}

/**
 * Answers `err` on `res` (if nothing was sent yet; otherwise the response is
 * cut, which is all HTTP allows once a body started).
 */
export function sendError(res: http.ServerResponse, err: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = statusOf(err);
  const payload = JSON.stringify(errorBody(err));
  res.writeHead(status, {
    ...extraHeaders,
    ...headersOf(err, status),
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

/** A coded error for a request the gateway itself refuses. */
export function httpError(status: number, code: PipeIOErrorCode, message: string, headers?: Record<string, string>): HttpError {
  return new HttpError(status, code, message, headers);
}
