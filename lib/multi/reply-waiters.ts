/**
 * Pending answers of the I/O worker ('ready', 'added:<id>', 'removed:<id>',
 * 'stopped'), each with a deadline (PIPEIO_ERR_TIMEOUT) and failed all at
 * once on stop.
 */
import { pipeIOError } from '../errors';
import type { WorkerToMain } from './worker-protocol';

interface Waiter {
  resolve: (msg: WorkerToMain) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Waiters keyed by the answer they expect. */
export class ReplyWaiters {
  private readonly waiters = new Map<string, Waiter>();

  /**
   * Resolves with the worker message settled under `key`; rejects
   * PIPEIO_ERR_TIMEOUT after `timeout` milliseconds.
   */
  expect(key: string, timeout: number): Promise<WorkerToMain> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(pipeIOError('PIPEIO_ERR_TIMEOUT', `the I/O worker did not answer ${key} within ${timeout} ms`));
      }, timeout);
      this.waiters.set(key, { resolve, reject, timer });
    });
  }

  /** Settles the waiter of `key`, if any: rejects with `err`, else resolves with `msg`. */
  settle(key: string, msg: WorkerToMain, err?: Error): void {
    const waiter = this.waiters.get(key);
    if (!waiter) return;
    this.waiters.delete(key);
    clearTimeout(waiter.timer);
    if (err) waiter.reject(err);
    else waiter.resolve(msg);
  }

  /** Rejects every waiter with `err`. */
  failAll(err: Error): void {
    for (const waiter of this.waiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    this.waiters.clear();
  }
}
