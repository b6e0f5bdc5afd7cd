/**
 * Everything the main thread and the FIFO workers say to each other: the
 * shared control block layout and every message type (one discriminated
 * union per direction). Unknown message types are fatal on both sides.
 */

/** Int32 slots of the SharedArrayBuffer each worker shares with its owner. */
export const Slot = {
  /** Control word: {@link Ctrl}. */
  CTRL: 0,
  /** The anchor fd whose inode the worker opens next (updated on rebind). */
  ANCHOR: 1,
  /** Reader: chunks posted and not yet consumed. Writer: rebind generation. */
  COUNTER: 2,
  /** What the worker is doing now: {@link Phase}. */
  PHASE: 3,
} as const;
export const SLOT_COUNT = 4;

export const Ctrl = { RUN: 0, STOP: 1 } as const;
export const Phase = { STARTING: 0, OPENING: 1, READING: 2, WRITING: 3, IDLE: 4, DONE: 5 } as const;

/** Bytes the reader asks for per read(); also the writer's per-write() cap. */
export const IO_CHUNK = 64 * 1024;
/**
 * Reader: chunks in flight to the main thread before it pauses reading.
 * Small on purpose: a MessagePort delivers everything queued in one turn of
 * the event loop, so this bounds how long a busy client can hold timers off
 * (8 x 64 KiB of 100-byte lines is a few ms of handler calls) and how much a
 * stop() must still deliver.
 */
export const MAX_INFLIGHT_CHUNKS = 8;
/** Length of the random stop token; < PIPE_BUF so its write is atomic. */
export const TOKEN_LENGTH = 16;

export interface ReaderWorkerData {
  path: string;
  control: SharedArrayBuffer;
  /** Random bytes without `\n`: where they appear, the worker stops. */
  stopToken: Uint8Array;
}

export interface WriterWorkerData {
  path: string;
  control: SharedArrayBuffer;
}

/** reader worker -> main */
export type ReaderMessage =
  | { type: 'ready' } // about to block in open(): clients may connect
  | { type: 'data'; buffer: ArrayBuffer; length: number } // one chunk, in order
  | { type: 'eof'; anchor: number } // every writer left the inode reached through `anchor`
  | { type: 'error'; message: string; code?: string } // a syscall failed; the worker retries or stops
  | { type: 'stopped' }; // found the stop token; nothing follows

/** main -> writer worker */
export type WriterCommand =
  | { type: 'write'; data: Uint8Array } // bytes, newline-terminated messages
  | { type: 'carry'; data: Uint8Array } // unread bytes of the old inode, written before anything else
  | { type: 'rebind' } // look at the control block: the anchor changed
  | { type: 'stop' };

/** writer worker -> main */
export type WriterMessage =
  | { type: 'ready' } // write end open: clients may connect
  | { type: 'written'; bytes: number } // bytes handed to the kernel
  | { type: 'rebound'; anchor: number } // left the inode reached through `anchor`; awaits 'carry'
  | { type: 'error'; message: string; code?: string }
  | { type: 'stopped' };
