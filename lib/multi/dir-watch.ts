/**
 * Notices changes in a directory: fs.watch (about 8 ms on Linux) plus a slow
 * poll as a fallback (fs.watch can miss events or be unavailable). Calls
 * `onCheck` at most once per loop turn. Keeps nothing alive (unref'd).
 */
import * as fs from 'node:fs';

export class DirWatch {
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Immediate | undefined;
  private readonly onCheck: () => void;

  /**
   * @param dir           directory to watch
   * @param pollInterval  fallback poll period in milliseconds
   * @param onCheck       called (debounced) when something may have changed
   */
  constructor(dir: string, pollInterval: number, onCheck: () => void) {
    this.onCheck = onCheck;
    try {
      this.watcher = fs.watch(dir, { persistent: false }, () => this.schedule());
      this.watcher.on('error', () => {
        this.watcher?.close(); // the poll remains
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    }
    this.timer = setInterval(() => this.schedule(), pollInterval);
    this.timer.unref();
  }

  /** Requests a check on the next loop turn. */
  schedule(): void {
    if (this.pending || !this.timer) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.onCheck();
    });
    this.pending.unref();
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.pending) clearImmediate(this.pending);
    this.pending = undefined;
  }
}
