/**
 * Applies one ordered 'batch' from the I/O worker on the main thread: bytes
 * into each pair's LineSplitter (which calls the handler per line),
 * attach/detach/drain events, queue accounting, and the read credit sent
 * back to the worker (withheld while a pair's out queue is at/above
 * highWaterMark, so a client that does not read stops being read).
 */
import { pipeIOError } from '../errors';
import type { PairState } from './pair-state';
import type { WorkerEvent } from './worker-protocol';

/** What the intake needs from its server. */
export interface IntakeHost {
  readonly highWaterMark: number;
  /** Is the server running (a stopping server delivers nothing more)? */
  isRunning(): boolean;
  pairById(id: number): PairState | undefined;
  emitPair(event: 'attach' | 'detach' | 'drain', name: string): void;
  emitError(err: unknown, name?: string): void;
  /** Credits processed bytes back to the worker (resumes paused readers). */
  postConsumed(items: Array<{ id: number; bytes: number }>): void;
}

/** Applies `events` in order (see the file comment). */
export function applyBatch(host: IntakeHost, events: WorkerEvent[]): void {
  const consumed = new Map<number, number>();
  for (const ev of events) {
    if (!host.isRunning()) return; // stopping: deliver nothing more
    const pair = host.pairById(ev.id);
    if (!pair || pair.closed) continue;
    const name = pair.info.name;
    switch (ev.kind) {
      case 'data':
        consumed.set(ev.id, (consumed.get(ev.id) ?? 0) + ev.data.byteLength);
        if (!pair.attached) {
          pair.attached = true;
          host.emitPair('attach', name);
        }
        pair.splitter.push(Buffer.from(ev.data.buffer, ev.data.byteOffset, ev.data.byteLength));
        break;
      case 'eof':
        pair.splitter.end();
        if (!pair.attached) host.emitPair('attach', name); // a writer came and left without writing
        pair.attached = false;
        host.emitPair('detach', name);
        break;
      case 'written':
        pair.queued -= ev.bytes;
        if (pair.needDrain && pair.queued < host.highWaterMark) {
          pair.needDrain = false;
          if (pair.withheldCredit > 0) {
            consumed.set(ev.id, (consumed.get(ev.id) ?? 0) + pair.withheldCredit);
            pair.withheldCredit = 0;
          }
          host.emitPair('drain', name);
        }
        break;
      case 'error':
        host.emitError(
          pipeIOError('PIPEIO_ERR_CONNECTION', `pair ${name}, ${ev.side} pipe: ${ev.message}`, {
            path: pair.pathOf(ev.side),
          }),
          name,
        );
        break;
      default: {
        const never: never = ev;
        throw new Error(`MultiPipeServer: unknown worker event ${JSON.stringify(never)}`);
      }
    }
  }
  // Backpressure: a pair whose out queue is at/above highWaterMark gets no read
  // credit until it drains, so the worker pauses reading it (bounded memory).
  const items: Array<{ id: number; bytes: number }> = [];
  for (const [id, bytes] of consumed) {
    const pair = host.pairById(id);
    if (pair?.needDrain) pair.withheldCredit += bytes;
    else items.push({ id, bytes });
  }
  if (items.length > 0) host.postConsumed(items);
}
