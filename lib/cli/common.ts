/**
 * Shared pieces of the CLI: exit codes, the error type that carries one,
 * argument parsing on node:util parseArgs with usage errors, and output.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Process exit codes of `pipe-io-server` (see docs/cli.md). */
export const ExitCode = Object.freeze({
  /** Success. */
  OK: 0,
  /** Runtime failure (I/O error, server failure, pipe in use, ...). */
  FAILURE: 1,
  /** Usage error: unknown command or option, bad or missing value. */
  USAGE: 2,
  /** A --timeout elapsed. */
  TIMEOUT: 3,
  /** The pipe does not exist. */
  NO_PIPE: 4,
  /** The path exists but is not a FIFO. */
  NOT_A_FIFO: 5,
  /** Permission denied. */
  PERMISSION: 6,
  /** exec: the plugin command exists but cannot be executed. */
  CANNOT_EXECUTE: 126,
  /** exec: the plugin command was not found. */
  COMMAND_NOT_FOUND: 127,
});

/** A failure with the exit code and message the CLI reports. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage error (exit code 2); the message is followed by a pointer to --help. */
export function usageError(command: string, message: string): CliError {
  const where = command ? ` ${command}` : '';
  return new CliError(ExitCode.USAGE, `${message}\nTry 'pipe-io-server${where} --help'.`);
}

/** Streams a command writes to (tests pass their own). */
export interface CliIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** The `options` part of a parseArgs config. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs in strict mode, with `--help/-h` added; parse errors become
 * usage errors naming `command`.
 */
export function parseCommandArgs(
  command: string,
  argv: string[],
  options: OptionSpec,
  allowPositionals = true,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw usageError(command, message.replace(/\. To specify .*$/s, '.'));
  }
}

/** Parses a non-negative integer option (e.g. milliseconds); usage error otherwise. */
export function parseCount(command: string, option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw usageError(command, `option --${option} needs a non-negative integer (got ${JSON.stringify(value)})`);
  }
  return Number(value);
}

/** Version from package.json (two levels up from both lib/cli and dist/cli). */
export function packageVersion(): string {
  try {
    const file = path.join(__dirname, '..', '..', 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Quotes `word` for bash when it contains anything but safe characters. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Resolves once `stream` has flushed what was written so far. */
export function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    // the callback runs once everything before it is flushed (or on error)
    stream.write('', () => resolve());
  });
}

/** setTimeout as a promise. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
