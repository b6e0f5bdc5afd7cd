/**
 * Uploads streamed into an event (comm-ipc's `add_file_upload`), with
 * backpressure: the raw request body (any media type; a browser's
 * `fetch(url, { body: file })`) is cut into chunks of `uploadChunkSize`
 * bytes, each sent as one call
 *
 *   { ...params, filename, chunk: <bytes>, offset, index, final: false }
 *
 * and a last call `{ ..., chunk: <empty>, offset: size, index, final: true, size }`
 * whose result is the HTTP answer (200 JSON). At most `uploadWindow` chunk
 * calls are in flight: beyond, the request stream is paused and TCP holds
 * the uploader back, so memory stays at window x chunk size whatever the
 * upload's size. A comm-ipc provider that appends `data["chunk"]` works as
 * it is; with a window above 1 its calls may finish out of order, hence
 * `offset` (write at it, or use a window of 1 for strict order). A failing
 * chunk call fails the upload with that call's status, and the rest of the
 * body is not read (`Connection: close`).
 */
import type { GatewayContext } from './context';
import { httpError, sendError } from './http-errors';
import { sendJson } from './calls';
import { toJson } from './json';
import type { RouteContext } from './router';

/** The upload's file name: `?filename=`, `X-Filename`, or Content-Disposition's `filename`. */
function fileName(rc: RouteContext): string | null {
  const q = rc.query.get('filename');
  if (q) return q;
  const x = rc.req.headers['x-filename'];
  if (typeof x === 'string' && x !== '') return x;
  const cd = rc.req.headers['content-disposition'];
  const m = typeof cd === 'string' ? /filename="?([^";]+)"?/i.exec(cd) : null;
  return m ? m[1]! : null;
}

export async function handleUpload(gw: GatewayContext, rc: RouteContext, channelName: string, event: string, params: Record<string, unknown>): Promise<void> {
  const { req, res } = rc;
  const { uploadLimit, uploadChunkSize, uploadWindow, requestTimeout } = gw.options;
  const abort = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  try {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > uploadLimit) {
      throw httpError(413, 'PIPEIO_ERR_LIMIT', `the upload is larger than ${uploadLimit} bytes`, { connection: 'close' });
    }
    const ch = await gw.hub.channel(channelName);
    const base = { ...params, filename: fileName(rc) };
    const callOpts = { timeout: requestTimeout, signal: abort.signal };
    let offset = 0;
    let index = 0;
    let inFlight = 0;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const settle = (): void => {
      inFlight--;
      const w = wake;
      wake = undefined;
      w?.();
    };
    const send = (chunk: Buffer): void => {
      const data = { ...base, chunk, offset, index: index++, final: false };
      offset += chunk.length;
      inFlight++;
      ch.call(event, data, callOpts).then(settle, (err) => {
        failure ??= err;
        settle();
      });
    };
    const room = async (limit: number): Promise<void> => {
      while (inFlight > limit && failure === undefined) await new Promise<void>((r) => (wake = r));
    };
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    await new Promise<void>((resolve, reject) => {
      const stop = (err: unknown): void => {
        req.removeListener('data', onData);
        req.removeListener('end', onEnd);
        req.pause(); // the rest of the body is not read; the answer closes the connection
        reject(err);
      };
      const onData = (piece: Buffer): void => {
        if (offset + pendingBytes + piece.length > uploadLimit) {
          stop(httpError(413, 'PIPEIO_ERR_LIMIT', `the upload is larger than ${uploadLimit} bytes`));
          return;
        }
        gw.counters.uploadBytes += piece.length;
        pending.push(piece);
        pendingBytes += piece.length;
        while (pendingBytes >= uploadChunkSize) {
          const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
          send(all.subarray(0, uploadChunkSize));
          const rest = all.subarray(uploadChunkSize);
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
        }
        if (inFlight >= uploadWindow) {
          req.pause(); // TCP holds the uploader back until a chunk call returns
          void room(uploadWindow - 1).then(() => {
            if (failure !== undefined) stop(failure);
            else req.resume();
          });
        }
      };
      const onEnd = (): void => resolve();
      req.on('data', onData);
      req.once('end', onEnd);
      req.once('error', (err) => stop(httpError(400, 'PIPEIO_ERR_CONNECTION', `reading the upload failed: ${err.message}`)));
      abort.signal.addEventListener('abort', () => stop(httpError(499, 'PIPEIO_ERR_ABORTED', 'the client went away')), { once: true });
    });
    if (pendingBytes > 0) send(pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes));
    await room(0);
    if (failure !== undefined) throw failure;
    const last = await ch.call(event, { ...base, chunk: Buffer.alloc(0), offset, index, final: true, size: offset }, callOpts);
    sendJson(res, 200, toJson(last.data));
  } catch (err) {
    gw.counters.errors++;
    sendError(res, err, { connection: 'close' });
  } finally {
    res.removeListener('close', onClose);
  }
}
