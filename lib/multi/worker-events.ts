/**
 * Listeners of the MultiPipeServer's I/O worker (module-level, named
 * source + On + event) and its bounded termination.
 */
import type { Worker } from 'node:worker_threads';
import { pipeIOError } from '../errors';
import type { MultiPipeServer } from './multi-pipe-server';
import type { WorkerToMain } from './worker-protocol';

/** worker.terminate(), but never waits longer than `timeout` ms. */
export async function terminateWithin(worker: Worker, timeout: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    worker.terminate().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeout);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

/** Routes one worker message to the server (protocol errors are fatal for the worker). */
export function workerOnMessage(server: MultiPipeServer, worker: Worker, msg: WorkerToMain): void {
  switch (msg.type) {
    case 'ready':
      server.settle('ready', msg);
      return;
    case 'added':
      server.settle(`added:${msg.id}`, msg);
      return;
    case 'add-failed':
      server.settle(
        `added:${msg.id}`,
        msg,
        pipeIOError(msg.errno === 'EACCES' ? 'PIPEIO_ERR_PERMISSION' : 'PIPEIO_ERR_CONNECTION', `the I/O worker could not open the pair: ${msg.message}`),
      );
      return;
    case 'removed':
      server.settle(`removed:${msg.id}`, msg);
      return;
    case 'rebound':
      server.rebound(msg.id, msg.side, msg.oldAnchor);
      return;
    case 'batch':
      server.processBatch(msg.events);
      return;
    default: {
      const never: never = msg;
      server.workerDied(worker, new Error(`unknown worker message ${JSON.stringify(never)}`));
    }
  }
}

export function workerOnError(server: MultiPipeServer, worker: Worker, err: Error): void {
  server.workerDied(worker, err);
}

export function workerOnExit(server: MultiPipeServer, worker: Worker, code: number): void {
  server.workerDied(worker, new Error(`exited with code ${code}`));
}
