/**
 * One running instance of a plugin: spawn it (in its own process group by
 * default), split its stderr into lines, signal it, and stop it with
 * SIGTERM -> grace period -> SIGKILL. Knows nothing about pipes.
 *
 *   terminate(grace):
 *     kill(-pgid, SIGTERM) ──exit within grace──> sweep the group ──> done
 *            │
 *            └──grace elapsed──> kill(-pgid, SIGKILL) ──exit──> sweep ──> done
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import { isErrno, pipeIOError } from '../errors';
import { LineSplitter } from '../framing/line-splitter';

/** Longest stderr line kept, in bytes; longer lines are dropped. */
export const MAX_STDERR_LINE = 1024 * 1024;
/** How long to poll for a SIGKILLed process (group) to vanish, in ms. */
const KILL_WAIT = 2000;
/** Poll interval while waiting for a process group to vanish, in ms. */
const GROUP_POLL = 20;

/** How a plugin process ended: exactly one of `code` / `signal` is non-null. */
export interface PluginExit {
  /** Exit status, or null if the process was killed by a signal. */
  code: number | null;
  /** Signal that killed the process, or null if it exited. */
  signal: NodeJS.Signals | null;
}

/** What {@link PluginProcess.spawn} needs. */
export interface PluginSpawnSpec {
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  stdin: 'ignore' | 'inherit' | 'pipe';
  stdout: 'ignore' | 'inherit' | 'pipe' | number;
  /** Run the child as the leader of a new process group and signal the whole group. */
  processGroup: boolean;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** kill() that ignores ESRCH (already gone). Returns false if nothing was signalled. */
function signalQuietly(target: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch (err) {
    if (isErrno(err, 'ESRCH')) return false;
    throw err;
  }
}

/**
 * Linux: does process group `pgid` have a member that is not a zombie? An
 * orphaned member that died stays a zombie until init reaps it (some
 * container inits never do), and kill(-pgid, 0) still finds zombies.
 * Elsewhere: answers `true`, leaving the decision to kill(-pgid, 0).
 */
export function groupHasLiveMember(pgid: number): boolean {
  if (process.platform !== 'linux') return true;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

/** A spawned plugin process. Create with {@link PluginProcess.spawn}. */
export class PluginProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** `Date.now()` when the process started. */
  readonly startedAt = Date.now();
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<PluginExit>;
  /** Resolves when its stderr pipe has closed and every line was delivered. */
  readonly stderrClosed: Promise<void>;
  private readonly processGroup: boolean;
  private exitInfo: PluginExit | undefined;
  private killTimer: NodeJS.Timeout | undefined;

  private constructor(child: ChildProcess, processGroup: boolean, onStderrLine: (line: string) => void) {
    this.child = child;
    this.pid = child.pid as number;
    this.processGroup = processGroup;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        if (this.killTimer) clearTimeout(this.killTimer);
        resolve(this.exitInfo);
      });
    });
    const stderr = child.stderr;
    if (!stderr) {
      this.stderrClosed = Promise.resolve();
      return;
    }
    const splitter = new LineSplitter(
      (line) => {
        let text = line.toString('utf8');
        if (text.endsWith('\r')) text = text.slice(0, -1);
        onStderrLine(text);
      },
      () => {
        /* an over-long stderr line is dropped */
      },
      { maxLineLength: MAX_STDERR_LINE },
    );
    this.stderrClosed = new Promise((resolve) => {
      stderr.on('data', (chunk: Buffer) => splitter.push(chunk));
      stderr.once('close', () => {
        splitter.end();
        resolve();
      });
      stderr.on('error', () => {
        /* 'close' follows */
      });
    });
  }

  /**
   * Starts `spec.command`. Resolves once the OS has started it; rejects with
   * `PIPEIO_ERR_SPAWN` (errno in `cause`, e.g. ENOENT, EACCES) otherwise.
   */
  static spawn(spec: PluginSpawnSpec, onStderrLine: (line: string) => void): Promise<PluginProcess> {
    const stdio: StdioOptions = [spec.stdin, spec.stdout, 'pipe'];
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      const fail = (err: unknown): void => {
        const errno = isErrno(err) ? ` (${String(err.code)})` : '';
        reject(
          pipeIOError('PIPEIO_ERR_SPAWN', `cannot start plugin ${JSON.stringify(spec.command)}${errno}`, {
            cause: err,
            path: spec.command,
          }),
        );
      };
      try {
        child = spawn(spec.command, [...spec.args], {
          env: spec.env,
          cwd: spec.cwd,
          stdio,
          detached: spec.processGroup,
          windowsHide: true,
        });
      } catch (err) {
        fail(err);
        return;
      }
      const childOnSpawn = (): void => {
        child.off('error', childOnSpawnError);
        // later 'error's (e.g. a failed kill) are not fatal: the exit is what counts
        child.on('error', () => {});
        resolve(new PluginProcess(child, spec.processGroup, onStderrLine));
      };
      const childOnSpawnError = (err: Error): void => {
        child.off('spawn', childOnSpawn);
        child.stderr?.destroy();
        child.stdout?.destroy();
        child.stdin?.destroy();
        fail(err);
      };
      child.once('spawn', childOnSpawn);
      child.once('error', childOnSpawnError);
    });
  }

  /** How the process ended, once it has. */
  get exit(): PluginExit | undefined {
    return this.exitInfo;
  }

  /** Sends `signal` to the process (its whole group by default); false if it is gone. */
  signal(signal: NodeJS.Signals): boolean {
    if (this.processGroup) {
      // the group may outlive its leader; the pid is not reused while the group exists
      if (signalQuietly(-this.pid, signal)) return true;
    }
    if (this.exitInfo) return false;
    return signalQuietly(this.pid, signal);
  }

  /** True while any process of the plugin's group (or the process itself) exists. */
  alive(): boolean {
    if (this.exitInfo === undefined) return true;
    return this.processGroup && this.groupAlive();
  }

  private groupAlive(): boolean {
    return signalQuietly(-this.pid, 0) && groupHasLiveMember(this.pid);
  }

  /**
   * Stops the instance: `signal` (default SIGTERM) now, SIGKILL after
   * `gracePeriod` ms if it is still running, then makes sure nothing of its
   * process group is left. Resolves with how the process ended.
   */
  async terminate(gracePeriod: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<PluginExit> {
    const deadline = Date.now() + gracePeriod;
    if (!this.exitInfo) {
      this.signal(signal);
      this.killTimer = setTimeout(() => this.signal('SIGKILL'), gracePeriod);
    }
    const exit = await this.exited;
    await this.sweep(Math.max(0, deadline - Date.now()), signal);
    return exit;
  }

  /**
   * After the leader exited: ends what is left of its process group (a
   * background job, a pipeline stage) with `signal`, then SIGKILL after
   * `gracePeriod` ms. Bounded: gives up polling after KILL_WAIT more ms.
   */
  async sweep(gracePeriod: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.processGroup || !this.groupAlive()) return;
    signalQuietly(-this.pid, signal);
    if (await this.groupGone(gracePeriod)) return;
    signalQuietly(-this.pid, 'SIGKILL');
    await this.groupGone(KILL_WAIT);
  }

  private async groupGone(within: number): Promise<boolean> {
    const deadline = Date.now() + within;
    for (;;) {
      if (!this.groupAlive()) return true;
      if (Date.now() >= deadline) return false;
      await delay(GROUP_POLL);
    }
  }
}
