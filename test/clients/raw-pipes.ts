/**
 * Raw FIFO fds standing in for a server, for tests that must decide the exact
 * moment a side goes away (EPIPE, end of stream after a partial line).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const READ_DEADLINE_MS = 10000;
/** Step of the read poll (bounded by READ_DEADLINE_MS). */
const POLL_MS = 10;

/**
 * A minimal stand-in for the server's ends of the two FIFOs: a non-blocking
 * reader on the in pipe and a read-write fd on the out pipe (never blocks on
 * Linux/macOS), so the test decides when each side disappears.
 */
export class RawPipes {
  readonly inPipe: string;
  readonly outPipe: string;
  private readerFd: number | undefined;
  private writerFd: number | undefined;
  private received = '';

  constructor(dir: string) {
    this.inPipe = path.join(dir, 'raw-in');
    this.outPipe = path.join(dir, 'raw-out');
    execFileSync('mkfifo', ['-m', '600', this.inPipe, this.outPipe]);
    const { O_RDONLY, O_RDWR, O_NONBLOCK } = fs.constants;
    this.readerFd = fs.openSync(this.inPipe, O_RDONLY | O_NONBLOCK);
    this.writerFd = fs.openSync(this.outPipe, O_RDWR | O_NONBLOCK);
  }

  write(text: string): void {
    fs.writeSync(this.writerFd!, text);
  }

  /** Polls the in pipe (10 ms steps) until everything received equals `expected`'s length. */
  async readUntil(expected: string, ms = READ_DEADLINE_MS): Promise<string> {
    const deadline = Date.now() + ms;
    const chunk = Buffer.alloc(65536);
    while (this.received.length < expected.length) {
      try {
        const n = fs.readSync(this.readerFd!, chunk, 0, chunk.length, null);
        this.received += chunk.toString('latin1', 0, n);
        if (n > 0) continue;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      }
      if (Date.now() > deadline) throw new Error(`raw in pipe got ${JSON.stringify(this.received)}, expected ${JSON.stringify(expected)}`);
      await delay(POLL_MS); // polling step, not synchronisation: the deadline above bounds it
    }
    return this.received;
  }

  closeReader(): void {
    if (this.readerFd !== undefined) fs.closeSync(this.readerFd);
    this.readerFd = undefined;
  }

  closeWriter(): void {
    if (this.writerFd !== undefined) fs.closeSync(this.writerFd);
    this.writerFd = undefined;
  }

  close(): void {
    this.closeReader();
    this.closeWriter();
  }
}
