/**
 * Calls over HTTP (comm-ipc's `add_event`): the request's data goes to the
 * event, its result comes back.
 *
 *   POST  JSON body = data           -> 200 JSON result
 *   GET   query parameters = data    -> same (strings coerced by the event's schema, as pydantic does)
 *   with `Accept: text/event-stream` -> SSE: one `data:` event per chunk, then `event: end`
 *   a stream event without it        -> 200 JSON array of every chunk (bounded by collectLimit)
 *
 * The data is checked against the event's announced parameter schema first
 * (400 with the issues). Errors before the first chunk get their HTTP status;
 * after it, an `event: error` ends the stream. A web client that goes away
 * aborts the call: the hub is sent a `cancel` and the provider stops.
 */
import { setMaxListeners } from 'node:events';
import type * as http from 'node:http';
import type * as net from 'node:net';
import type { HubChannel } from '../hub/client/channel';
import type { HubStream } from '../hub/client/stream';
import type { CallOptions } from '../hub/client/types';
import type { GatewayContext } from './context';
import { validationError } from '../schema/issues';
import { errorBody, httpError, sendError, statusOf } from './http-errors';
import { isJsonContentType, parseJsonBody, readBody } from './body';
import { toJson } from './json';
import type { RouteContext } from './router';
import { SseWriter, sseFrame } from './sse';
import { compileValidator, type ValidationIssue } from './validate';

/** Where a call's data comes from. */
export type DataSource = 'body' | 'query';

/** True if the client asked for an event stream. */
export function wantsEventStream(req: http.IncomingMessage): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes('text/event-stream');
}

const GONE = Symbol('pipe-io-server.gateway.connectionGone');

/**
 * An AbortSignal that fires when the web client's connection closes: the
 * calls made for its requests listen to it, and are cancelled on the hub
 * when it fires. One per connection, not per request (an AbortController
 * costs more than the rest of a call's bookkeeping); a keep-alive
 * connection's requests come one after another, and a closed connection
 * ends every request on it.
 */
export function connectionSignal(req: http.IncomingMessage): AbortSignal {
  const socket = req.socket as net.Socket & { [GONE]?: AbortController };
  let gone = socket[GONE];
  if (!gone) {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal); // one listener per call in flight (pipelined requests)
    if (socket.destroyed) controller.abort();
    else socket.once('close', () => controller.abort());
    socket[GONE] = gone = controller;
  }
  return gone.signal;
}

/** The call's data: the JSON body, or the query (coerced by the event's schema). */
export async function requestData(gw: GatewayContext, rc: RouteContext, source: DataSource, channel: string, event: string): Promise<unknown> {
  const entry = gw.hub.catalog.event(channel, event);
  if (source === 'query') {
    const data: Record<string, unknown> = {};
    for (const [k, v] of rc.query) {
      const prev = data[k];
      data[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const coerce = compileValidator(entry?.parameters, true);
    if (coerce) check(`${channel}:${event}`, coerce(data));
    return data;
  }
  if (!isJsonContentType(rc.req)) {
    throw httpError(415, 'PIPEIO_ERR_INVALID_MESSAGE', 'the request body must be application/json');
  }
  const data = parseJsonBody(await readBody(rc.req, gw.options.bodyLimit));
  if (entry?.validate) check(`${channel}:${event}`, entry.validate(data));
  return data;
}

function check(label: string, issues: ReadonlyArray<ValidationIssue>): void {
  if (issues.length > 0) throw validationError(`invalid data for ${label}`, issues);
}

/** Answers one call request. Never throws: failures become error responses. */
export async function handleCall(gw: GatewayContext, rc: RouteContext, channelName: string, event: string, source: DataSource): Promise<void> {
  const { res } = rc;
  gw.counters.calls++;
  const signal = connectionSignal(rc.req);
  try {
    const ch = gw.hub.openedChannel(channelName) ?? (await gw.hub.channel(channelName));
    const data = await requestData(gw, rc, source, channelName, event);
    const options = { timeout: gw.options.requestTimeout, signal };
    if (wantsEventStream(rc.req)) {
      await streamAsSse(gw, res, ch.stream(event, data, options));
      return;
    }
    if (gw.hub.catalog.event(channelName, event)?.isStream) {
      await collectStream(gw, res, ch, event, data, options);
      return;
    }
    const reply = await ch.call(event, data, options);
    sendJson(res, 200, toJson(reply.data));
  } catch (err) {
    if (signal.aborted) gw.counters.clientAborts++;
    gw.counters.errors++;
    sendError(res, err);
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Sends a JSON text with status. */
export function sendJson(res: http.ServerResponse, status: number, json: string, headers?: http.OutgoingHttpHeaders): void {
  if (res.destroyed) return;
  const length = String(Buffer.byteLength(json));
  if (headers === undefined) res.writeHead(status, ['content-type', JSON_TYPE, 'content-length', length]);
  else res.writeHead(status, { ...headers, 'content-type': JSON_TYPE, 'content-length': length });
  res.end(json);
}

/**
 * Relays a hub stream as SSE. The head waits for the first chunk, so an
 * error before it (no provider, refused) still gets its status. The web
 * reader leaving ends the hub stream (cancel); a reader that falls
 * `maxBufferedBytes` behind is cut off, and the hub stream cancelled.
 */
export async function streamAsSse(gw: GatewayContext, res: http.ServerResponse, stream: HubStream): Promise<void> {
  gw.counters.streams++;
  let writer: SseWriter | undefined;
  let n = 0;
  const stop = (): void => void stream.return();
  res.once('close', stop);
  try {
    for await (const chunk of stream) {
      writer ??= new SseWriter(res, gw.options.maxBufferedBytes, gw.options.keepAlive, () => gw.counters.slowReadersCut++);
      if (!writer.write(sseFrame(toJson(chunk.data), undefined, ++n))) break;
    }
    if (!writer) writer = new SseWriter(res, gw.options.maxBufferedBytes, gw.options.keepAlive);
    writer.end(sseFrame(JSON.stringify({ chunks: n }), 'end'));
  } catch (err) {
    if (!writer) {
      if (!res.destroyed) {
        gw.counters.errors++;
        sendError(res, err);
      }
      return;
    }
    gw.counters.errors++;
    writer.end(sseFrame(errorEventJson(err), 'error'));
  } finally {
    res.removeListener('close', stop);
  }
}

/** The data of an `event: error`: comm-ipc's `{"error": text}` plus our code and the status it would have had. */
export function errorEventJson(err: unknown): string {
  const body = errorBody(err);
  return JSON.stringify({ error: body.message, code: body.code, status: statusOf(err), ...(body.issues ? { issues: body.issues } : {}) });
}

/** A stream event called without SSE: every chunk, as one JSON array. */
async function collectStream(gw: GatewayContext, res: http.ServerResponse, ch: HubChannel, event: string, data: unknown, options: CallOptions): Promise<void> {
  const parts: string[] = [];
  let size = 2;
  for await (const chunk of ch.stream(event, data, options)) {
    const json = toJson(chunk.data);
    size += json.length + 1;
    if (size > gw.options.collectLimit) {
      throw httpError(502, 'PIPEIO_ERR_LIMIT', `the stream's chunks pass ${gw.options.collectLimit} bytes: ask with Accept: text/event-stream`);
    }
    parts.push(json);
  }
  sendJson(res, 200, `[${parts.join(',')}]`);
}
