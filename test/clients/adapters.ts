/**
 * How to build and start each reference client's echo program. The
 * conformance suite runs every scenario once per adapter: adding a language
 * means adding one entry to {@link ADAPTERS}.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { PYTHON } from '../fixtures/python-env';

/** Repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');
/** clients/ in the repository. */
export const CLIENTS = path.join(ROOT, 'clients');

/** An executable and its arguments. */
export interface Command {
  file: string;
  args: string[];
  /** Extra environment for the child (merged over process.env). */
  env?: NodeJS.ProcessEnv;
}

/** One client implementation, as the conformance suite drives it. */
export interface ClientAdapter {
  /** Shown in the test titles. */
  readonly name: string;
  /** Messages may contain non-UTF-8 bytes. */
  readonly nonUtf8: boolean;
  /** Messages may contain NUL bytes (bash variables cannot hold them). */
  readonly nulBytes: boolean;
  /**
   * Builds or checks what the adapter needs, once per suite. Resolves with a
   * reason to skip the adapter (a missing compiler), else undefined; rejects
   * if a build that should work fails.
   */
  prepare(): Promise<string | undefined>;
  /**
   * The echo program: `echo READ_PIPE WRITE_PIPE`, or with no paths, relying
   * on PIPE_IO_READ_PIPE / PIPE_IO_WRITE_PIPE.
   */
  echo(readPipe?: string, writePipe?: string): Command;
}

function pipeArgs(readPipe?: string, writePipe?: string): string[] {
  return readPipe === undefined || writePipe === undefined ? [] : [readPipe, writePipe];
}

function hasProgram(file: string, args: string[]): boolean {
  const result = spawnSync(file, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

/** Runs `make -C clients/c <target>` (rejects with make's output on failure). */
function make(target: string): Promise<string | undefined> {
  if (!hasProgram('cc', ['--version'])) return Promise.resolve('no C compiler (cc) on PATH');
  if (!hasProgram('make', ['--version'])) return Promise.resolve('make is not installed');
  const result = spawnSync('make', ['-s', '-C', path.join(CLIENTS, 'c'), target], { encoding: 'utf8' });
  if (result.status !== 0) {
    return Promise.reject(new Error(`make ${target} failed (${result.status}):\n${result.stdout}${result.stderr}`));
  }
  return Promise.resolve(undefined);
}

export const bashAdapter: ClientAdapter = {
  name: 'bash',
  nonUtf8: true,
  nulBytes: false,
  prepare: async () => (hasProgram('bash', ['-c', '(( BASH_VERSINFO[0] >= 4 ))']) ? undefined : 'bash 4+ is missing'),
  echo: (readPipe, writePipe) => ({
    file: 'bash',
    args: [path.join(CLIENTS, 'bash', 'echo.sh'), ...pipeArgs(readPipe, writePipe)],
  }),
};

export const pythonAdapter: ClientAdapter = {
  name: 'python',
  nonUtf8: true,
  nulBytes: true,
  prepare: async () => (hasProgram(PYTHON, ['-c', 'import sys; sys.exit(sys.version_info < (3, 8))']) ? undefined : 'python3 >= 3.8 is missing'),
  echo: (readPipe, writePipe) => ({
    file: PYTHON,
    args: [path.join(CLIENTS, 'python', 'echo.py'), ...pipeArgs(readPipe, writePipe)],
  }),
};

export const cAdapter: ClientAdapter = {
  name: 'c',
  nonUtf8: true,
  nulBytes: true,
  prepare: () => make('all'),
  echo: (readPipe, writePipe) => ({
    file: path.join(CLIENTS, 'c', 'build', 'echo'),
    args: pipeArgs(readPipe, writePipe),
  }),
};

/** The C client built with -fsanitize=address,undefined: any report fails the run (non-zero exit, stderr). */
export const cSanitizedAdapter: ClientAdapter = {
  name: 'c (asan+ubsan)',
  nonUtf8: true,
  nulBytes: true,
  prepare: () => make('asan'),
  echo: (readPipe, writePipe) => ({
    file: path.join(CLIENTS, 'c', 'build', 'echo-asan'),
    args: pipeArgs(readPipe, writePipe),
    env: { ASAN_OPTIONS: 'detect_leaks=1:exitcode=86', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' },
  }),
};

/** Every client the conformance suite checks. */
export const ADAPTERS: readonly ClientAdapter[] = [bashAdapter, pythonAdapter, cAdapter, cSanitizedAdapter];
