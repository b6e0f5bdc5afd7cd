/**
 * `pipe-io-server hub` as a real process for CLI tests, on a socket in a
 * private temp dir; stop() ends it (SIGTERM, SIGKILL if it lingers) and
 * removes the dir.
 */
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { killChild, makeTempDir, removeTempDir, waitFor, waitForExit } from '../fixtures/helpers';
import { startCli } from './run-cli';

export class HubProcess {
  readonly dir = makeTempDir('pio-hubproc');
  readonly socket = path.join(this.dir, 'hub.sock');
  child: ChildProcess | undefined;
  /** Everything the hub printed. */
  out = '';
  err = '';

  /** Starts `hub --socket <socket> ...extra`; resolves once it listens. */
  async start(extra: string[] = [], env?: NodeJS.ProcessEnv): Promise<this> {
    const child = startCli(['hub', '--socket', this.socket, ...extra], env ? { env } : {});
    this.child = child;
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (this.out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (this.err += c));
    await waitFor(() => this.out.includes('listening on unix:') || child.exitCode !== null, 'the hub to listen', 15000);
    if (child.exitCode !== null) throw new Error(`hub exited ${child.exitCode}: ${this.err}`);
    return this;
  }

  /** The --hub arguments of a client command. */
  get hubArgs(): string[] {
    return ['--hub', this.socket];
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await waitForExit(child, 10000).catch(() => killChild(child));
    }
    removeTempDir(this.dir);
  }
}
