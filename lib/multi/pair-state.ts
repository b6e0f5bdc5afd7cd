/**
 * Main-thread state of one pair of a MultiPipeServer: its anchors (the fds
 * that keep each FIFO's inode and pipe buffer alive), incoming framing, and
 * outgoing queue accounting (the bytes themselves wait in the server's
 * shared OutStage).
 */
import { LineSplitter } from '../framing/line-splitter';
import { closeQuietly, type FifoAnchor } from '../pipe/fifo';
import type { PairSide } from './worker-protocol';
import type { PairHandler, PipePairInfo } from './types';

export class PairState {
  readonly id: number;
  readonly info: PipePairInfo;
  readonly handler: PairHandler | undefined;
  readonly splitter: LineSplitter;
  anchors: Record<PairSide, FifoAnchor | undefined> = { in: undefined, out: undefined };
  /** Anchors replaced by a recreate, closed once the worker says it no longer uses them. */
  retired: number[] = [];
  /** Added to the worker and visible (has/send/pairs). */
  ready = false;
  /** removePair() or stop() took it. */
  closed = false;
  /** A writer was seen on the in pipe since the last EOF. */
  attached = false;
  /** Bytes accepted by send() and not yet handed to the kernel. */
  queued = 0;
  needDrain = false;
  /** Read credit withheld while the out queue is at/above highWaterMark (bytes). */
  withheldCredit = 0;
  /** A recreate of this side is in progress. */
  recreating: Record<PairSide, boolean> = { in: false, out: false };
  /** A non-FIFO at this side's path was already reported. */
  reportedNotFifo: Record<PairSide, boolean> = { in: false, out: false };

  constructor(
    id: number,
    info: PipePairInfo,
    handler: PairHandler | undefined,
    onLine: (line: Buffer) => void,
    onOverflow: (length: number) => void,
    maxLineLength: number,
  ) {
    this.id = id;
    this.info = info;
    this.handler = handler;
    this.splitter = new LineSplitter(onLine, onOverflow, { maxLineLength });
  }

  pathOf(side: PairSide): string {
    return side === 'in' ? this.info.inPipe : this.info.outPipe;
  }

  /** Closes every anchor this pair holds (current and retired). Idempotent. */
  closeAnchors(): void {
    for (const side of ['in', 'out'] as const) {
      const anchor = this.anchors[side];
      if (anchor) {
        closeQuietly(anchor.fd);
        anchor.fd = -1; // never close a number twice: it may be someone else's fd by then
      }
    }
    for (const fd of this.retired) closeQuietly(fd);
    this.retired = [];
  }
}
