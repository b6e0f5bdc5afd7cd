/**
 * Notices when a pipe path stops naming the FIFO the server holds (deleted,
 * replaced): fs.watch on the parent directory for speed (~10 ms), and a slow
 * poll as a fallback where watching is unavailable or misses an event.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class PathWatcher {
  private readonly watchers: fs.FSWatcher[] = [];
  private readonly timer: NodeJS.Timeout;
  private scheduled = false;
  private closed = false;

  /** Calls `check` (coalesced) whenever one of `paths` may have changed. */
  constructor(paths: string[], check: () => void, pollMs: number) {
    const run = (): void => {
      this.scheduled = false;
      if (!this.closed) check();
    };
    const schedule = (): void => {
      if (this.scheduled || this.closed) return;
      this.scheduled = true;
      setImmediate(run);
    };
    const names = new Set(paths.map((p) => path.basename(p)));
    for (const dir of new Set(paths.map((p) => path.dirname(p)))) {
      try {
        const w = fs.watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(String(name))) schedule();
        });
        w.on('error', () => w.close()); // the poll still runs
        this.watchers.push(w);
      } catch {
        /* inotify limits or no such dir: the poll covers it */
      }
    }
    this.timer = setInterval(schedule, pollMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const w of this.watchers) w.close();
  }
}
