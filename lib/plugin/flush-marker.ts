/**
 * End-of-output marker. When a plugin has ended, the host writes a unique
 * marker line into the plugin's write pipe (the server's in pipe) and waits
 * for the server to deliver it: a FIFO keeps order, so every message the
 * plugin wrote before ending has been delivered by then. Nothing here blocks:
 * the pipe is opened O_WRONLY|O_NONBLOCK and the marker is one atomic write.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { isErrno } from '../errors';

const { O_WRONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;

/** A fresh marker (starts with NUL, which no text protocol line does). */
export function makeFlushMarker(): Buffer {
  return Buffer.from(`\0pipe-io-server:flush:${randomBytes(12).toString('hex')}`, 'latin1');
}

/** Result of one {@link writeFlushMarker} attempt. */
export type FlushWriteResult = 'written' | 'retry' | 'impossible';

/**
 * Writes `marker + "\n"` to the FIFO at `path` without blocking: 'retry' if
 * the pipe is full right now, 'impossible' if nobody reads it or the path is
 * no FIFO (no point in waiting for the marker).
 */
export function writeFlushMarker(path: string, marker: Buffer): FlushWriteResult {
  let fd: number;
  try {
    fd = fs.openSync(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
  } catch (err) {
    return isErrno(err, 'EAGAIN', 'EINTR') ? 'retry' : 'impossible';
  }
  try {
    if (!fs.fstatSync(fd).isFIFO()) return 'impossible';
    const line = Buffer.concat([marker, Buffer.from('\n')]);
    // < PIPE_BUF bytes: written whole or not at all (EAGAIN)
    const written = fs.writeSync(fd, line);
    return written === line.length ? 'written' : 'impossible';
  } catch (err) {
    return isErrno(err, 'EAGAIN', 'EINTR') ? 'retry' : 'impossible';
  } finally {
    fs.closeSync(fd);
  }
}

/** If `message` ends with `marker`: the bytes before it (maybe empty); else undefined. */
export function stripFlushMarker(message: Buffer, marker: Buffer): Buffer | undefined {
  if (message.length < marker.length) return undefined;
  const start = message.length - marker.length;
  if (message.compare(marker, 0, marker.length, start) !== 0) return undefined;
  return message.subarray(0, start);
}
