/**
 * Every message exchanged between MultiPipeServer (main thread) and its
 * shared I/O worker (io-worker.ts), as two discriminated unions. Pairs are
 * named by a numeric `id` (unique for the server's life, so a late message
 * about a removed pair can never hit a new pair of the same name).
 *
 * File descriptors travel by number: fds are process-wide. The main thread
 * owns the anchors (O_RDONLY|O_NONBLOCK fds held for a pair's whole life);
 * the worker owns the read/write fds it opens through them and closes them
 * itself (socket.destroy(), or libuv when the worker is terminated).
 *
 * There is no stop message: nothing in the worker ever blocks, so stop() is
 * worker.terminate(), which closes every handle (and so fd) the worker holds.
 */

/**
 * Outgoing bytes of any number of pairs: one transferred, unpooled
 * ArrayBuffer and its runs `[pairId, offset, length, ...]`, each run whole
 * framed messages, in order per pair.
 */
export interface WriteSegment {
  buffer: ArrayBuffer;
  runs: number[];
}

/** main -> worker */
export type MainToWorker =
  /** Serve a new pair: open a reader on `inAnchor`'s FIFO and a writer on `outAnchor`'s. */
  | { type: 'add'; id: number; inAnchor: number; inPath: string; outAnchor: number; outPath: string }
  /** Close the pair's reader and writer (unsent bytes are dropped); answered by 'removed'. */
  | { type: 'remove'; id: number }
  /** Outgoing bytes of every pair since the last flush, in order. Answered by 'written' events (one per run). */
  | { type: 'write'; segments: WriteSegment[] }
  /** The main thread processed this many incoming bytes of each pair (read backpressure credit). */
  | { type: 'consumed'; items: Array<{ id: number; bytes: number }> }
  /** The FIFO at a path was recreated: move that side onto the new anchor; answered by 'rebound'. */
  | { type: 'rebind'; id: number; side: PairSide; anchor: number; path: string };

/** Which FIFO of a pair: `in` (clients write, we read) or `out` (we write, clients read). */
export type PairSide = 'in' | 'out';

/** One ordered event inside a 'batch' (order per pair is the order of the array). */
export type WorkerEvent =
  /** Bytes read from the pair's in pipe. */
  | { kind: 'data'; id: number; data: Uint8Array }
  /** The last writer of the in pipe left (EOF); the worker already waits for the next one. */
  | { kind: 'eof'; id: number }
  /** This many bytes of earlier 'write' runs reached the kernel (or were dropped with the pair). */
  | { kind: 'written'; id: number; bytes: number }
  /** An I/O failure on one side; the worker keeps serving what it can. */
  | { kind: 'error'; id: number; side: PairSide; message: string; errno?: string };

/** worker -> main */
export type WorkerToMain =
  | { type: 'ready' }
  | { type: 'added'; id: number }
  | { type: 'add-failed'; id: number; message: string; errno?: string }
  | { type: 'removed'; id: number }
  /** The worker no longer uses `oldAnchor` (the main thread may close it). */
  | { type: 'rebound'; id: number; side: PairSide; oldAnchor: number }
  /** Everything that happened since the last batch, in order. */
  | { type: 'batch'; events: WorkerEvent[] };
