/**
 * Runs the compiled CLI (dist/cli/main.js) as a real process with a deadline.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let built = false;

/** Builds dist/ (npm run build) once per test process. Slow: about 10 s on 2 cores. */
export function buildOnce(): void {
  if (built) return;
  built = true;
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120000 });
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  elapsed: number;
}

/** Starts the CLI with `args`; stdin gets `input` (then EOF) unless `input` is undefined. */
export function startCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; uid?: number } = {},
): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  return child;
}

/** Runs the CLI to completion; SIGKILLs it and rejects after `timeout` ms. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeout?: number; uid?: number } = {},
): Promise<CliResult> {
  const started = Date.now();
  const timeout = options.timeout ?? 15000;
  const child = startCli(args, { env: options.env, input: options.input ?? '', uid: options.uid });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pipe-io-server ${args.join(' ')} did not exit within ${timeout} ms; stderr: ${stderr}`));
    }, timeout);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, elapsed: Date.now() - started });
    });
  });
}
