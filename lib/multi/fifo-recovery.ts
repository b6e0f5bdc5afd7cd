/**
 * Deleted-FIFO recovery of a MultiPipeServer: watches the directory
 * (DirWatch: fs.watch plus a poll), compares each pair's paths with its
 * anchors, and recreates (or adopts) a FIFO whose path changed; a non-FIFO
 * put in its place is reported once and left alone.
 *
 *   path gone         -> new FIFO (same mode), worker 'rebind' to its anchor
 *   another FIFO      -> adopted (clients opening the path reach it), 'rebind'
 *   not a FIFO        -> 'error' PIPEIO_ERR_NOT_A_FIFO once, left alone
 *   worker 'rebound'  -> old anchor closed, 'recreate' (name, path) emitted
 */
import type * as fs from 'node:fs';
import { pipeIOError, type PipeIOErrorCode } from '../errors';
import { closeQuietly, lstatOrUndefined, openAnchor, removeFifo, samePipe } from '../pipe/fifo';
import { DirWatch } from './dir-watch';
import type { FifoBatcher } from './fifo-batch';
import type { PairState } from './pair-state';
import type { PairSide } from './worker-protocol';

/** What recovery needs from its server. */
export interface RecoveryHost {
  /** Is the server running (checks do nothing otherwise)? */
  isRunning(): boolean;
  /** Every pair, by name. */
  pairs(): Iterable<PairState>;
  /** A pair by id (undefined once removed). */
  pairById(id: number): PairState | undefined;
  /** Posts a 'rebind' to the worker; false when the worker is gone. */
  rebind(pair: PairState, side: PairSide, anchorFd: number, path: string): boolean;
  emitError(err: unknown, name?: string, code?: PipeIOErrorCode): void;
  emitRecreate(name: string, path: string): void;
}

/** Keeps every pair's FIFOs in place while the server runs. */
export class FifoRecovery {
  private readonly host: RecoveryHost;
  private readonly fifos: FifoBatcher;
  private readonly permissions: number;
  private watch: DirWatch | undefined;

  /**
   * @param dir           directory of the FIFOs
   * @param pollInterval  fallback poll period, milliseconds
   * @param fifos         creates new FIFOs (exact mode)
   * @param permissions   mode used when adopting a FIFO
   * @param host          the server
   */
  constructor(dir: string, pollInterval: number, fifos: FifoBatcher, permissions: number, host: RecoveryHost) {
    this.host = host;
    this.fifos = fifos;
    this.permissions = permissions;
    this.watch = new DirWatch(dir, pollInterval, () => this.check());
  }

  /** Stops watching. Idempotent. */
  close(): void {
    this.watch?.close();
    this.watch = undefined;
  }

  /** Checks every ready pair now (also called by the watch). */
  check(): void {
    if (!this.host.isRunning()) return;
    for (const pair of this.host.pairs()) {
      if (!pair.ready) continue;
      this.checkSide(pair, 'in');
      this.checkSide(pair, 'out');
    }
  }

  private checkSide(pair: PairState, side: PairSide): void {
    const anchor = pair.anchors[side];
    if (!anchor || pair.recreating[side]) return;
    const where = pair.pathOf(side);
    if (samePipe(where, anchor)) {
      pair.reportedNotFifo[side] = false;
      return;
    }
    let st: fs.Stats | undefined;
    try {
      st = lstatOrUndefined(where);
    } catch (err) {
      this.host.emitError(err, pair.info.name);
      return;
    }
    if (st && !st.isFIFO()) {
      if (!pair.reportedNotFifo[side]) {
        pair.reportedNotFifo[side] = true;
        this.host.emitError(
          pipeIOError('PIPEIO_ERR_NOT_A_FIFO', `${where} was replaced by something that is not a FIFO; left alone`, {
            path: where,
          }),
          pair.info.name,
        );
      }
      return;
    }
    pair.recreating[side] = true;
    void this.recreate(pair, side, st !== undefined);
  }

  /**
   * Gives a side a new FIFO: a new one when the path is empty, or the FIFO
   * someone put there (adopted: clients that open the path reach it). The
   * worker moves onto it ('rebind'); the old anchor is closed on 'rebound'.
   */
  private async recreate(pair: PairState, side: PairSide, adopt: boolean): Promise<void> {
    const where = pair.pathOf(side);
    try {
      const anchor = adopt ? openAnchor(where, this.permissions) : await this.fifos.create(where);
      if (pair.closed || !this.host.isRunning()) {
        closeQuietly(anchor.fd);
        removeFifo(where, anchor);
        return;
      }
      const old = pair.anchors[side];
      pair.anchors[side] = anchor;
      if (old) pair.retired.push(old.fd);
      this.host.rebind(pair, side, anchor.fd, where);
    } catch (err) {
      pair.recreating[side] = false;
      this.host.emitError(err, pair.info.name, 'PIPEIO_ERR_PIPE_DELETED');
    }
  }

  /** The worker no longer uses `oldAnchor` of pair `id` (-1: nothing to close). */
  rebound(id: number, side: PairSide, oldAnchor: number): void {
    const pair = this.host.pairById(id);
    if (!pair) return;
    const at = pair.retired.indexOf(oldAnchor);
    if (at !== -1) {
      pair.retired.splice(at, 1);
      closeQuietly(oldAnchor);
    }
    pair.recreating[side] = false;
    if (!pair.closed) this.host.emitRecreate(pair.info.name, pair.pathOf(side));
  }
}
