/**
 * A Server-Sent Events response with a bounded buffer: events are written
 * while the client reads; one that stops reading and lets more than
 * `maxBufferedBytes` pile up is cut off (the response ends), never buffered
 * without limit. Comment lines keep idle connections alive through proxies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SseStream {
  /** Sends one event; false once closed (or cut off). */
  send(event: string, data: unknown): boolean;
  close(): void;
  readonly closed: boolean;
  /** Runs `fn` once when the client goes away or the stream is closed. */
  onClose(fn: () => void): void;
}

const KEEPALIVE_MS = 15_000;

export function openSse(req: IncomingMessage, res: ServerResponse, maxBufferedBytes = 1 << 20): SseStream {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': open\n\n');
  let closed = false;
  const listeners: Array<() => void> = [];
  const keepalive = setInterval(() => {
    if (!closed) res.write(': keep-alive\n\n');
  }, KEEPALIVE_MS);
  keepalive.unref();
  const finish = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(keepalive);
    res.end();
    for (const fn of listeners.splice(0)) fn();
  };
  req.on('close', finish);
  res.on('close', finish);
  return {
    send(event, data) {
      if (closed) return false;
      if (res.writableLength > maxBufferedBytes) {
        finish(); // a slow reader: cut off
        return false;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      return true;
    },
    close: finish,
    get closed() {
      return closed;
    },
    onClose(fn) {
      if (closed) fn();
      else listeners.push(fn);
    },
  };
}
