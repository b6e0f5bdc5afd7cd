/**
 * Where the in pipe's read buffers (which become the messages) come from,
 * and how the engine helps the C allocator and the garbage collector reuse
 * their memory.
 *
 * Every message of the per-message API is a buffer of its own (a handler may
 * keep it), so a stream of 1 MiB messages is a stream of fresh 1 MiB
 * allocations, and what one costs depends on whether its memory was used
 * before: on this project's 2-core VM, writing 1 MiB of memory never touched
 * before took 1.7-7.8 ms (a page fault per 4 KiB), of reused memory 0.1 ms.
 *
 * - glibc serves a block above its mmap threshold (128 KiB at start) with an
 *   mmap() of its own, and munmap()s it when freed (a TLB shootdown on every
 *   CPU running the process); it raises the threshold to the size of the
 *   largest such block freed (up to 32 MiB), after which blocks of that size
 *   come from the heap and are reused. {@link freshBuffer} frees one block of
 *   each new size at once, so that happens before the first message instead
 *   of after the first garbage collection, 64 MiB of messages later.
 * - V8 frees a dead buffer at the next collection that reaches it. It starts a
 *   young-generation collection (cheap) when the isolate allocates a backing
 *   store while 32 MiB or more of young ones are held
 *   (Heap::AllocateExternalBackingStore), but a buffer transferred in from a
 *   worker is not allocated on the receiving thread: dead messages waited for
 *   a full collection at about 64 MiB of external memory. {@link
 *   noteReceived} allocates one byte per big buffer received, so that check
 *   runs.
 *
 * Measured (docs/bench.md), a fresh server echoing 64 x 1 MiB: 1.27x the
 * throughput without both, a quarter fewer page faults, peak RSS 115 MiB
 * against 131.
 *
 * Both only change when memory is reused, never what a buffer holds. On
 * another C library the first is one allocation freed at once; if V8 drops
 * the check, the second is one byte of garbage per big message. The out
 * path's buffers do not go through here: they are reused already (spares in
 * out-writer.ts), and releasing their power-of-two sizes raised the threshold
 * to 16 MiB and more under a stream of small messages, so that freed memory
 * stayed in the heap: peak RSS of the warm bench +80 MiB.
 */
import { MessageChannel } from 'node:worker_threads';

/** glibc's mmap threshold at start (M_MMAP_THRESHOLD): smaller blocks come from the heap anyway. */
const MMAP_THRESHOLD_START = 128 * 1024;
/** glibc stops raising the threshold here (DEFAULT_MMAP_THRESHOLD_MAX, 64-bit). */
const MMAP_THRESHOLD_MAX = 32 * 1024 * 1024;
/** Buffers received from a worker at least this long are noted (see noteReceived()). */
export const NOTE_MIN = 256 * 1024;

/** The largest block released so far, in this thread. */
let released = 0;

/**
 * A buffer of its own (not a slice of Node's shared pool, so transferable),
 * not zero-filled: callers hand out only bytes they wrote into it (zero-filling
 * a 1 MiB buffer per message cost more than the copy it replaces).
 */
export function freshBuffer(size: number): Buffer {
  if (size > released && size > MMAP_THRESHOLD_START && size <= MMAP_THRESHOLD_MAX) releaseBlock(size);
  return Buffer.allocUnsafeSlow(size);
}

/** Allocates a block of `size` bytes and frees it at once (see the file header). */
function releaseBlock(size: number): void {
  released = size;
  // Zero-filled by calloc(), so above the threshold an mmap() nobody touches: no page faults.
  const block = new ArrayBuffer(size);
  // A transfer to a closed port detaches the buffer and drops the message with it: the block
  // is freed here, not at a garbage collection.
  const { port1, port2 } = new MessageChannel();
  port1.close();
  port2.close();
  try {
    port1.postMessage(null, [block]);
  } catch {
    // Not on this Node version: the block is freed at a garbage collection instead.
  }
}

/** Call once per big buffer (>= NOTE_MIN) received from a worker (see the file header). */
export function noteReceived(): void {
  void new ArrayBuffer(1);
}
