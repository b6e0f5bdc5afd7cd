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
  /** Reader: writer sessions the main thread has asked it to read (see in-reader.ts). */
  GO: 4,
} as const;
export const SLOT_COUNT = 5;

export const Ctrl = { RUN: 0, STOP: 1 } as const;
export const Phase = { STARTING: 0, OPENING: 1, READING: 2, WRITING: 3, IDLE: 4, DONE: 5 } as const;

/**
 * The in pipe's first read buffer size, and the unit of the out path's
 * sizes. 64 KiB is a Linux pipe's default capacity: one read() never returns
 * more.
 */
export const IO_CHUNK = 64 * 1024;
/**
 * The writer's per-write() cap: 1 MiB, the largest a Linux pipe may be made
 * without privileges (/proc/sys/fs/pipe-max-size). The kernel fills the pipe
 * and sleeps until the reader makes room, inside one syscall. Measured
 * (docs/bench.md): capped at 64 KiB, 1 MiB echoes ran 10-15% slower, one
 * syscall and one trip through the pump loop per pipe-full. A stop or rebind
 * is still noticed between writes: the main thread frees a blocked write()
 * by draining the FIFO through its anchor (every 2 ms, each time until the
 * pipe is empty), so one write of this size ends within a few drains.
 */
export const MAX_WRITE = 16 * IO_CHUNK;
/**
 * Out path: writes of at least this many bytes go to the writer in a buffer
 * it hands back once written, and the main thread copies the next one into
 * it: a fresh 1 MiB buffer costs page faults on every copy (the main thread's
 * copy into fresh memory was 18% of its time at 1 MiB messages), and garbage
 * in an isolate that rarely collects.
 */
export const RECYCLE_MIN = 4 * IO_CHUNK;
/** Out path: most spare buffers kept for reuse. */
export const MAX_SPARES = 4;

/**
 * Reader: chunks in flight to the main thread before it pauses reading.
 * Small on purpose: a MessagePort delivers everything queued in one turn of
 * the event loop, so this bounds how long a busy client can hold timers off
 * and how much a stop() must still deliver.
 */
export const MAX_INFLIGHT_CHUNKS = 8;
/** Length of the random stop token; < PIPE_BUF so its write is atomic. */
export const TOKEN_LENGTH = 16;

export interface ReaderWorkerData {
  path: string;
  control: SharedArrayBuffer;
  /** Random bytes without `\n`: where they appear, the worker stops. */
  stopToken: Uint8Array;
  /** The server's maxMessageSize: no point growing a buffer beyond it. */
  maxMessageSize: number;
}

export interface WriterWorkerData {
  path: string;
  control: SharedArrayBuffer;
}

/** reader worker -> main */
export type ReaderMessage =
  | { type: 'ready' }
  | { type: 'data'; buffer: ArrayBuffer; length: number } // bytes in order: whole lines, or a piece of a long one
  | { type: 'eof'; anchor: number } // every writer left the inode reached through `anchor`: the session is over
  | { type: 'hand-back' } // only short lines lately: the main thread reads the rest of the session
  | { type: 'error'; message: string; code?: string } // a syscall failed; the session is over
  | { type: 'stopped' }; // found the stop token or was told to stop; nothing follows

/** main -> writer worker */
export type WriterCommand =
  | { type: 'write'; data: Uint8Array; recycle?: boolean } // bytes, newline-terminated messages; recycle: send data.buffer back once written
  | { type: 'carry'; data: Uint8Array } // unread bytes of the old inode, written before anything else
  | { type: 'rebind' } // look at the control block: the anchor changed
  | { type: 'stop' };

/** writer worker -> main */
export type WriterMessage =
  | { type: 'ready' } // write end open: clients may connect
  | { type: 'written'; bytes: number; spare?: ArrayBuffer } // bytes handed to the kernel; a written-out buffer to reuse
  | { type: 'rebound'; anchor: number } // left the inode reached through `anchor`; awaits 'carry'
  | { type: 'error'; message: string; code?: string }
  | { type: 'stopped' };
