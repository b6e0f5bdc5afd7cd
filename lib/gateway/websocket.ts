/**
 * WebSockets, on the optional peer `ws` (loaded when the first WebSocket
 * route is served; `npm install ws`). Three kinds of socket:
 *
 * - `channel` (the default route `/channels/{channel}/ws`): a multiplexed
 *   JSON protocol. In: `{"id", "op": "call"|"stream", "event", "data"}`,
 *   `{"id", "op": "cancel"}`, `{"id", "op": "subscribe"|"unsubscribe"|"publish", "topic", "data"?}`.
 *   Out: `{"id", "result"}`, `{"id", "chunk"}` ... `{"id", "end": {"chunks"}}`,
 *   `{"id", "error": {"code", "message", "status"}}`, `{"topic", "data"}` per publication.
 * - `proxy` (comm-ipc's `add_websocket`): each message in is a call of the
 *   event (JSON, or the text itself); each publication of the topic of the
 *   same name goes out as its JSON. A failed call answers `{"error", "code"}`.
 * - `rpc` (comm-ipc's `add_rpc_websocket`): each message in calls the event;
 *   each chunk (or the single result) goes out as its JSON.
 *
 * A socket whose unread output passes `maxBufferedBytes` is cut off
 * (terminated), never buffered without limit. Closing a socket cancels its
 * streams and drops its topics.
 */
import type * as http from 'node:http';
import type * as net from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import { pipeIOError } from '../errors';
import type { HubChannel } from '../hub/client/channel';
import type { HubStream } from '../hub/client/stream';
import type { GatewayContext } from './context';
import { SlowReaderGuard } from './bounded';
import { errorBody, httpError, statusOf } from './http-errors';
import { parseWebJson, toJson } from './json';

export type SocketKind = 'channel' | 'proxy' | 'rpc';

type WsModule = typeof import('ws');
let wsModule: WsModule | undefined;

/** The `ws` package, loaded on first use. */
export function loadWs(): WsModule {
  if (wsModule) return wsModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    wsModule = require('ws') as WsModule;
    return wsModule;
  } catch (err) {
    throw pipeIOError('PIPEIO_ERR_INVALID_STATE', 'WebSocket routes need the package ws: npm install ws', { cause: err });
  }
}

/** A WebSocket server in noServer mode (the gateway's HTTP server hands it upgrades). */
export function makeWsServer(maxPayload: number): WebSocketServer {
  const { WebSocketServer: Server } = loadWs();
  return new Server({ noServer: true, maxPayload, perMessageDeflate: false });
}

/** Refuses an upgrade on the raw socket with a status and a JSON body. */
export function refuseUpgrade(socket: net.Socket, status: number, code: string, message: string): void {
  const body = JSON.stringify({ code, message, detail: message });
  const reason = UPGRADE_REASONS[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
const UPGRADE_REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

function errorJson(err: unknown): { code: string; message: string; status: number } {
  const b = errorBody(err);
  return { code: b.code, message: b.message, status: statusOf(err) };
}

/** Serves one accepted socket. */
export function serveSocket(gw: GatewayContext, ws: WebSocket, ch: HubChannel, kind: SocketKind, event: string | undefined): void {
  const streams = new Map<unknown, HubStream>();
  const topics = new Map<string, () => void>();
  const max = gw.options.maxBufferedBytes;
  let open = true;
  const guard = new SlowReaderGuard(() => ws.bufferedAmount, max, () => {
    if (!open) return;
    gw.counters.slowReadersCut++;
    open = false;
    ws.terminate();
  });
  const send = (text: string): void => {
    if (!open) return;
    ws.send(text);
    guard.check();
  };
  ws.on('close', () => {
    open = false;
    for (const s of streams.values()) void s.return();
    for (const remove of topics.values()) remove();
    streams.clear();
    topics.clear();
  });
  ws.on('error', () => undefined);
  const timeout = gw.options.requestTimeout;

  const subscribe = async (topic: string, relay: (json: string) => void): Promise<void> => {
    if (topics.has(topic)) return;
    const remove = await gw.fanout.add(ch, topic, (json) => relay(json));
    if (!open) remove();
    else topics.set(topic, remove);
  };

  if (kind === 'proxy') {
    subscribe(event!, (json) => send(json)).catch((err) => send(JSON.stringify({ error: errorJson(err).message, code: errorJson(err).code })));
    ws.on('message', (raw, isBinary) => {
      const data = parseIn(raw, isBinary);
      ch.call(event!, data, { timeout }).catch((err) => send(JSON.stringify({ error: errorJson(err).message, code: errorJson(err).code })));
    });
    return;
  }

  if (kind === 'rpc') {
    ws.on('message', (raw, isBinary) => {
      const data = parseIn(raw, isBinary);
      void (async () => {
        try {
          if (gw.hub.catalog.event(ch.name, event!)?.isStream) {
            const s = ch.stream(event!, data, { timeout });
            const key = Symbol('rpc');
            streams.set(key, s);
            try {
              for await (const chunk of s) send(toJson(chunk.data));
            } finally {
              streams.delete(key);
            }
          } else {
            send(toJson((await ch.call(event!, data, { timeout })).data));
          }
        } catch (err) {
          send(JSON.stringify({ error: errorJson(err).message, code: errorJson(err).code }));
        }
      })();
    });
    return;
  }

  // kind === 'channel': the multiplexed protocol.
  ws.on('message', (raw, isBinary) => {
    let msg: Record<string, unknown>;
    try {
      msg = parseWebJson(raw.toString()) as Record<string, unknown>;
      if (isBinary || msg === null || typeof msg !== 'object' || Array.isArray(msg)) throw new Error('not an object');
    } catch {
      send(JSON.stringify({ id: null, error: errorJson(httpError(400, 'PIPEIO_ERR_INVALID_JSON', 'each message must be a JSON object')) }));
      return;
    }
    const id = msg['id'] ?? null;
    const fail = (err: unknown): void => send(JSON.stringify({ id, error: errorJson(err) }));
    const name = (key: string): string => {
      const v = msg[key];
      if (typeof v !== 'string' || v === '') throw httpError(400, 'PIPEIO_ERR_INVALID_MESSAGE', `"${key}" must be a non-empty string`);
      return v;
    };
    void (async () => {
      try {
        switch (msg['op']) {
          case 'call': {
            const ev = name('event');
            const v = gw.hub.catalog.event(ch.name, ev)?.validate?.(msg['data'] ?? null);
            if (v && v.length > 0) throw httpError(400, 'PIPEIO_ERR_VALIDATION', v[0]!.message);
            const res = await ch.call(ev, msg['data'] ?? null, { timeout });
            send(`{"id":${JSON.stringify(id)},"result":${toJson(res.data)}}`);
            return;
          }
          case 'stream': {
            const ev = name('event');
            if (streams.has(id)) throw httpError(400, 'PIPEIO_ERR_INVALID_MESSAGE', 'a stream with this id is running');
            const s = ch.stream(ev, msg['data'] ?? null, { timeout });
            streams.set(id, s);
            let n = 0;
            try {
              for await (const chunk of s) {
                n++;
                send(`{"id":${JSON.stringify(id)},"chunk":${toJson(chunk.data)}}`);
              }
              if (streams.get(id) === s) send(JSON.stringify({ id, end: { chunks: n } }));
            } finally {
              if (streams.get(id) === s) streams.delete(id);
            }
            return;
          }
          case 'cancel': {
            const s = streams.get(id);
            streams.delete(id);
            if (s) {
              await s.return();
              send(JSON.stringify({ id, end: { cancelled: true } }));
            }
            return;
          }
          case 'subscribe': {
            const topic = name('topic');
            await subscribe(topic, (json) => send(`{"topic":${JSON.stringify(topic)},"data":${json}}`));
            send(JSON.stringify({ id, subscribed: topic }));
            return;
          }
          case 'unsubscribe': {
            const topic = name('topic');
            topics.get(topic)?.();
            topics.delete(topic);
            send(JSON.stringify({ id, unsubscribed: topic }));
            return;
          }
          case 'publish': {
            const topic = name('topic');
            if (!gw.hub.ownsTopic(ch.name, topic)) {
              throw httpError(403, 'PIPEIO_ERR_FORBIDDEN', `this gateway does not own topic ${ch.name}:${topic}`);
            }
            await ch.publish(topic, msg['data'] ?? null);
            send(JSON.stringify({ id, published: topic }));
            return;
          }
          default:
            throw httpError(400, 'PIPEIO_ERR_INVALID_MESSAGE', 'op must be call, stream, cancel, subscribe, unsubscribe or publish');
        }
      } catch (err) {
        fail(err);
      }
    })();
  });
}

function parseIn(raw: unknown, isBinary: boolean): unknown {
  const buf = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw as Buffer[]) : Buffer.from(raw as ArrayBuffer);
  if (isBinary) return buf;
  const text = buf.toString('utf8');
  try {
    return parseWebJson(text);
  } catch {
    return text;
  }
}

/** For upgrade handlers: the request's path without the query. */
export function upgradePath(req: http.IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
