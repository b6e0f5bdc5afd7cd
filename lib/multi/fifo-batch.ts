/**
 * Creates FIFOs in batches: every createFifo() request made in the same loop
 * turn shares ONE run of the `mkfifo` program (Node has no mkfifo(2)), so
 * adding 100 pairs at once costs one process spawn instead of 200.
 * Same rules as lib/pipe/fifo.ts createFifo: exact mode, a stale FIFO is
 * replaced, anything else at a path is refused with PIPEIO_ERR_NOT_A_FIFO.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { isErrno, pipeIOError } from '../errors';
import { createFifo, lstatOrUndefined, openAnchor, type FifoAnchor } from '../pipe/fifo';

interface Request {
  path: string;
  resolve: (anchor: FifoAnchor) => void;
  reject: (err: unknown) => void;
}

/** Batches FIFO creation with one mode. */
export class FifoBatcher {
  private readonly mode: number;
  private queue: Request[] = [];
  private scheduled = false;

  /** @param mode exact permission bits of every FIFO */
  constructor(mode: number) {
    this.mode = mode & 0o777;
  }

  /** Creates a FIFO at `path` and resolves with its anchor (see lib/pipe/fifo.ts createFifo). */
  create(path: string): Promise<FifoAnchor> {
    return new Promise((resolve, reject) => {
      this.queue.push({ path, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.run());
      }
    });
  }

  private run(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 1) {
      const only = batch[0] as Request;
      createFifo(only.path, this.mode).then(only.resolve, only.reject);
      return;
    }
    const todo: Request[] = [];
    for (const req of batch) {
      try {
        const st = lstatOrUndefined(req.path);
        if (st && !st.isFIFO()) {
          // let createFifo produce the exact refusal
          createFifo(req.path, this.mode).then(req.resolve, req.reject);
          continue;
        }
        if (st) fs.unlinkSync(req.path); // stale FIFO
        todo.push(req);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) todo.push(req);
        else req.reject(err);
      }
    }
    if (todo.length === 0) return;
    const args = ['-m', this.mode.toString(8), '--', ...todo.map((r) => r.path)];
    execFile('mkfifo', args, (err) => {
      if (err && isErrno(err, 'ENOENT')) {
        const e = pipeIOError('PIPEIO_ERR_MKFIFO', 'the mkfifo program was not found on PATH', { cause: err });
        for (const req of todo) req.reject(e);
        return;
      }
      // mkfifo makes what it can; each path is then checked on its own
      for (const req of todo) {
        const st = lstatOrUndefined(req.path);
        if (!st) {
          createFifo(req.path, this.mode).then(req.resolve, req.reject); // precise error
          continue;
        }
        try {
          req.resolve(openAnchor(req.path, this.mode));
        } catch (e) {
          req.reject(e);
        }
      }
    });
  }
}
