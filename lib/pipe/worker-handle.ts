/**
 * Shared plumbing for the two FIFO workers: start from the entry file, a
 * control block, waiting for 'ready', and a bounded wait for 'stopped'.
 */
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { pipeIOError, type PipeIOError } from '../errors';
import { startWorker } from '../internal/worker-loader';
import { SLOT_COUNT } from './worker-protocol';

export function newControl(): { buffer: SharedArrayBuffer; view: Int32Array } {
  const buffer = new SharedArrayBuffer(SLOT_COUNT * 4);
  return { buffer, view: new Int32Array(buffer) };
}

export function spawnFifoWorker(entry: 'reader-worker' | 'writer-worker', workerData: object): Worker {
  return startWorker(path.join(__dirname, entry), {
    workerData,
    name: `pipe-io-${entry}`,
    stdout: false,
    stderr: false,
    resourceLimits: { stackSizeMb: 1 },
  });
}

/** Resolves on the worker's first 'ready' message; rejects if it dies first. */
export function waitReady(worker: Worker, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; message?: string }): void => {
      if (m.type === 'ready') {
        cleanup();
        resolve();
      } else if (m.type === 'error') {
        cleanup();
        reject(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `${what} worker failed to start: ${m.message}`));
      }
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `${what} worker failed to start: ${err.message}`, { cause: err }));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `${what} worker exited (code ${code}) before it was ready`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}

/**
 * Resolves once the worker has exited. `poke` runs every `intervalMs` until
 * then (it is how a blocked worker is freed). After `timeoutMs` the worker is
 * terminated and the promise resolves at once with a CLOSE_TIMEOUT error to
 * report: terminate() cannot interrupt a syscall, so stop() does not wait on it.
 */
export function awaitExit(
  worker: Worker,
  poke: () => void,
  intervalMs: number,
  timeoutMs: number,
  what: string,
): Promise<PipeIOError | undefined> {
  return new Promise((resolve) => {
    const finish = (err?: PipeIOError): void => {
      clearInterval(interval);
      clearTimeout(deadline);
      worker.off('exit', onExit);
      resolve(err);
    };
    const onExit = (): void => finish();
    worker.once('exit', onExit);
    const interval = setInterval(poke, intervalMs);
    const deadline = setTimeout(() => {
      void worker.terminate();
      finish(pipeIOError('PIPEIO_ERR_CLOSE_TIMEOUT', `${what} worker did not stop within ${timeoutMs} ms; terminated`));
    }, timeoutMs);
    if (worker.threadId === -1) return finish(); // already gone
    poke();
  });
}

/**
 * Reports a worker that fails or exits without being asked to stop (while
 * `stopping()` is false) through `onCrash`, once.
 */
export function onWorkerCrash(worker: Worker, what: string, stopping: () => boolean, onCrash: (err: PipeIOError) => void): void {
  let reported = false;
  const report = (err: PipeIOError): void => {
    if (reported || stopping()) return;
    reported = true;
    onCrash(err);
  };
  worker.on('error', (err) =>
    report(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `${what} worker failed: ${err.message}`, { cause: err })),
  );
  worker.on('exit', (code) => report(pipeIOError('PIPEIO_ERR_WORKER_EXITED', `${what} worker exited unexpectedly (code ${code})`)));
}
