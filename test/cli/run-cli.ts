/**
 * Runs the compiled CLI (dist/cli/main.js) as a real process with a deadline.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let built = false;

/**
 * Brings dist/ up to date once per test process (`tsc -b`, as `npm test` does):
 * 0.5 s when nothing changed, about 10 s of compiling on 2 cores otherwise.
 */
export function buildOnce(): void {
  if (built) return;
  built = true;
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120000 });
}

/**
 * A world-readable copy of dist/ under os.tmpdir(), for running the CLI as
 * another user: the checkout itself may sit in a private (0700) directory
 * that such a user cannot enter. dist/ needs no node_modules. Remove it with
 * removeTempDir() from test/fixtures/helpers.
 */
export function copyCliForOtherUsers(): { dir: string; cli: string } {
  const dir = path.join(os.tmpdir(), `pio-cli-copy-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir);
  fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  // Explicit modes: mkdir/copy are subject to the umask, which may be 077.
  const open = (p: string): void => {
    const st = fs.statSync(p);
    fs.chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) open(path.join(p, e));
  };
  open(dir);
  return { dir, cli: path.join(dir, 'dist', 'cli', 'main.js') };
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
  options: { env?: NodeJS.ProcessEnv; input?: string; uid?: number; cli?: string } = {},
): ChildProcess {
  const cli = options.cli ?? CLI;
  const child = spawn(process.execPath, [cli, ...args], {
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    // Another user runs from a copy's directory: the checkout may be closed to it.
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid, cwd: path.dirname(cli) }),
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  return child;
}

/** Runs the CLI to completion; SIGKILLs it and rejects after `timeout` ms. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeout?: number; uid?: number; cli?: string } = {},
): Promise<CliResult> {
  const started = Date.now();
  const timeout = options.timeout ?? 15000;
  const child = startCli(args, { env: options.env, input: options.input ?? '', uid: options.uid, cli: options.cli });
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

/** Accumulates what `child` writes on stdout and stderr. */
export function collect(child: ChildProcess): { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  return { stdout: () => out, stderr: () => err };
}
