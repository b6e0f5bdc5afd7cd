/**
 * File downloads from a stream event (comm-ipc's `add_file_stream`), with
 * HTTP range semantics: `Accept-Ranges: bytes`, `206` with the real
 * `Content-Range`, `416` (its Content-Range giving the size) for an
 * unsatisfiable range, HEAD, byte-exact bodies.
 *
 * The provider's contract (docs/gateway.md): it is called with
 * `{ ...params, offset, length }` (`length` null: to the end; 0: the header
 * only) and yields first a header `{ size, type?, name?, etag?, encoding? }`,
 * then the bytes from `offset` (Buffers; or strings: UTF-8 text, base64
 * when `encoding: 'base64'`, for providers whose language has no bytes on
 * the wire). A suffix range (`bytes=-n`) asks the header first.
 *
 * Backpressure: the file is asked for in segments of `downloadSegmentSize`
 * bytes (offset, length), the next once the last has arrived, so the hub
 * (which has no flow control of its own) never holds more than a segment of
 * it, whatever the file's size and the reader's speed. The response waits
 * for the web reader: each download runs on a hub client of its own whose
 * stream buffers a few chunks (its link pauses, never the shared one); on a
 * client the gateway was given, a reader that falls far behind is cut off
 * instead. A file whose size or etag changes between segments ends the
 * body early (the reader sees it truncated).
 */
import type * as http from 'node:http';
import type { HubClient } from '../hub/client/hub-client';
import type { HubChannel } from '../hub/client/channel';
import type { HubMessage } from '../hub/protocol/messages';
import type { GatewayContext } from './context';
import { httpError, sendError } from './http-errors';
import { parseRange, resolveRange, type RangeSpec } from './range';
import type { RouteContext } from './router';

/** The header a file provider yields first. */
export interface FileHeader {
  size: number;
  type?: string;
  name?: string;
  etag?: string;
  encoding?: 'base64' | 'utf8';
}

/** Chunks a download's own client buffers before its link pauses. */
const DOWNLOAD_HIGH_WATER = 8;
/** On a shared client, how far (in multiples of maxBufferedBytes) a reader may fall behind. */
const SHARED_SLACK = 8;

const TOKEN_SAFE = /^[\x20-\x7e]*$/;

/** A header value from provider text: printable ASCII only (no CR/LF injection), else dropped. */
function safeHeader(value: unknown, max = 256): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !TOKEN_SAFE.test(value)) return undefined;
  return value;
}

/** `Content-Disposition` for a file name from a provider (RFC 6266, with an ASCII fallback). */
function disposition(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '' || name.length > 255) return undefined;
  const base = name.replace(/^.*[\\/]/, '');
  const ascii = base.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}

function checkHeader(msg: HubMessage | undefined): FileHeader {
  const h = msg?.data as FileHeader | undefined;
  if (!h || typeof h !== 'object' || !Number.isSafeInteger(h.size) || h.size < 0) {
    throw httpError(502, 'PIPEIO_ERR_PROTOCOL', 'the file provider must yield a header { size, type?, name? } first');
  }
  return h;
}

function bytesOf(data: unknown, encoding: FileHeader['encoding']): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === 'string') return Buffer.from(data, encoding === 'base64' ? 'base64' : 'utf8');
  throw httpError(502, 'PIPEIO_ERR_PROTOCOL', 'a file chunk must be bytes or a string');
}

/** The data a transfer's provider gets: query parameters, then path parameters (which win). */
export function transferParams(rc: RouteContext, pathParams: Record<string, string>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [k, v] of rc.query) data[k] = v;
  return Object.assign(data, pathParams);
}

/** Serves one download (GET or HEAD). */
export async function handleDownload(gw: GatewayContext, rc: RouteContext, channelName: string, event: string, params: Record<string, unknown>): Promise<void> {
  const { req, res } = rc;
  let own: HubClient | undefined;
  const abort = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) {
      gw.counters.clientAborts++;
      abort.abort();
    }
  };
  res.once('close', onClose);
  try {
    await gw.hub.channel(channelName); // 404 for a channel not served, before any dial
    own = await gw.hub.dedicated(DOWNLOAD_HIGH_WATER);
    const ch: HubChannel = own
      ? await own.open(channelName, gw.hub.passwordOf(channelName) === undefined ? {} : { password: gw.hub.passwordOf(channelName)! })
      : await gw.hub.channel(channelName);
    const callOpts = { timeout: gw.options.requestTimeout, signal: abort.signal };
    const ifRange = req.headers['if-range'];
    let spec: RangeSpec | undefined = parseRange(req.headers.range);
    let range: { start: number; end: number } | undefined;
    if (req.method === 'HEAD' || (spec && ('suffix' in spec || ifRange !== undefined))) {
      // The size (or the validator) first: a header-only call.
      let header: FileHeader | undefined;
      for await (const msg of ch.stream(event, { ...params, offset: 0, length: 0 }, callOpts)) {
        header = checkHeader(msg);
        break;
      }
      if (!header) throw httpError(502, 'PIPEIO_ERR_PROTOCOL', 'the file provider ended without a header');
      // If-Range with a validator we cannot confirm: the whole file (RFC 9110 13.1.5).
      if (spec && ifRange !== undefined && (header.etag === undefined || ifRange !== header.etag)) spec = undefined;
      if (spec) {
        range = resolveRange(spec, header.size);
        if (!range) return unsatisfiable(res, header.size);
        spec = { start: range.start, end: range.end };
      }
      if (req.method === 'HEAD') {
        writeHead(res, header, range, header.size);
        res.end();
        return;
      }
    }
    const start = spec && 'start' in spec ? spec.start : 0;
    const asked = spec && 'start' in spec && spec.end !== undefined ? spec.end - spec.start + 1 : undefined;
    const segment = gw.options.downloadSegmentSize;
    const slack = own ? Infinity : gw.options.maxBufferedBytes * SHARED_SLACK;
    let header: FileHeader | undefined;
    let expected = asked ?? Infinity;
    let sent = 0;
    // One segment at a time: the next is asked for once this one has arrived (see the header comment).
    while (sent < expected) {
      const want = Math.min(segment, expected - sent);
      let got = 0;
      let first = true;
      for await (const msg of ch.stream(event, { ...params, offset: start + sent, length: want }, callOpts)) {
        if (first) {
          first = false;
          const h = checkHeader(msg);
          if (header) {
            if (h.size !== header.size || h.etag !== header.etag) return void res.destroy(); // the file changed: cut the body
            continue;
          }
          header = h;
          if (spec) {
            range = resolveRange(spec, header.size);
            if (!range) return unsatisfiable(res, header.size);
          }
          expected = range ? range.end - range.start + 1 : header.size;
          writeHead(res, header, range, header.size);
          if (expected === 0) break;
          continue;
        }
        let bytes = bytesOf(msg.data, header!.encoding);
        const room = Math.min(want - got, expected - sent);
        if (bytes.length > room) bytes = bytes.subarray(0, room); // a provider that ignores `length`
        got += bytes.length;
        sent += bytes.length;
        gw.counters.downloadBytes += bytes.length;
        if (!res.write(bytes)) {
          if (res.writableLength > slack) {
            gw.counters.slowReadersCut++;
            res.destroy();
            return;
          }
          if (own) await drained(res);
        }
        if (got >= want || sent >= expected) break;
      }
      if (!header) throw httpError(502, 'PIPEIO_ERR_PROTOCOL', 'the file provider ended without a header');
      if (got < want) break; // the provider ended early
    }
    if (sent < expected) {
      res.destroy(); // Content-Length promised more: the reader must see a truncated body
      return;
    }
    res.end();
  } catch (err) {
    if (!res.destroyed) {
      gw.counters.errors++;
      sendError(res, err);
    }
  } finally {
    res.removeListener('close', onClose);
    if (own) void own.close();
  }
}

function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.removeListener('drain', done);
      res.removeListener('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

function unsatisfiable(res: http.ServerResponse, size: number): void {
  sendError(res, httpError(416, 'PIPEIO_ERR_INVALID_MESSAGE', `the range is outside the file (${size} bytes)`), {
    'content-range': `bytes */${size}`,
    'accept-ranges': 'bytes',
  });
}

function writeHead(res: http.ServerResponse, h: FileHeader, range: { start: number; end: number } | undefined, size: number): void {
  const headers: http.OutgoingHttpHeaders = {
    'accept-ranges': 'bytes',
    'content-type': safeHeader(h.type) ?? 'application/octet-stream',
    'content-length': range ? range.end - range.start + 1 : size,
    'x-content-type-options': 'nosniff',
  };
  const etag = safeHeader(h.etag);
  if (etag) headers['etag'] = etag;
  const cd = disposition(h.name);
  if (cd) headers['content-disposition'] = cd;
  if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
  res.writeHead(range ? 206 : 200, headers);
}
