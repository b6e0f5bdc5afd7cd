/**
 * Server-Sent Events with a bounded buffer. Every event is written at once
 * (the gateway never waits on one reader); a reader whose unread bytes pass
 * `maxBuffer` is cut off (the response is destroyed, `onCut` says so) rather
 * than buffered without limit. Comment lines keep idle connections open
 * through proxies.
 *
 *   data: <json>          a chunk or a publication (the default `message` event; comm-ipc's shape)
 *   event: error          an error mid-stream: {"error": text, "code", "status"}
 *   event: end            the last event of a call stream: {"chunks": n}
 */
import type * as http from 'node:http';
import { SlowReaderGuard } from './bounded';

/** The head of an SSE response. */
export const SSE_HEADERS: http.OutgoingHttpHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  'x-accel-buffering': 'no', // nginx: do not buffer the stream
};

/** One SSE event as bytes (`json` is already JSON text: one line, no CR/LF). */
export function sseFrame(json: string, event?: string, id?: number): Buffer {
  let text = '';
  if (event !== undefined) text += `event: ${event}\n`;
  if (id !== undefined) text += `id: ${id}\n`;
  text += `data: ${json}\n\n`;
  return Buffer.from(text, 'utf8');
}

const PING = Buffer.from(':\n\n');

export class SseWriter {
  private closed = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly guard: SlowReaderGuard;

  /**
   * @param maxBuffer Unread bytes a reader may have before it is cut off.
   * @param keepAlive Milliseconds between comment lines (0: none).
   * @param onCut Called once if the reader was cut off for being slow.
   */
  constructor(
    private readonly res: http.ServerResponse,
    maxBuffer: number,
    keepAlive: number,
    onCut?: () => void,
  ) {
    this.guard = new SlowReaderGuard(() => res.writableLength, maxBuffer, () => {
      if (this.closed) return;
      this.stop();
      res.destroy();
      onCut?.();
    });
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    if (keepAlive > 0) {
      this.pingTimer = setInterval(() => this.write(PING), keepAlive);
      this.pingTimer.unref();
    }
    res.once('close', () => this.stop());
  }

  /** False once the response is closed (by the reader, by end(), or cut off). */
  get open(): boolean {
    return !this.closed;
  }

  /** Writes bytes (an encoded frame, possibly shared with other readers). False if the reader is gone or was cut off. */
  write(frame: Buffer): boolean {
    if (this.closed) return false;
    this.res.write(frame);
    return this.guard.check();
  }

  /** Writes a last frame (if any) and ends the response. */
  end(frame?: Buffer): void {
    if (this.closed) return;
    if (frame) this.write(frame);
    this.stop();
    this.res.end();
  }

  private stop(): void {
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }
}
