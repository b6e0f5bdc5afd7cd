/**
 * Provides what the tests need from the machine (test/setup/requirements.ts)
 * and reports, in one message before any test runs, what is still missing and
 * the command that installs it. Used by both entry points:
 *
 *   npm test / npx mocha   .mocharc.json requires test/setup/mocha-provision.ts,
 *                          which calls provision() before mocha loads a test file
 *   .ci/run                node -r ts-node/register/transpile-only test/setup/provision.ts --install --strict
 *
 * Missing programs are installed with apt-get when the run is root on Debian
 * (PIO_NO_INSTALL=1 turns that off); the tests that need what is still missing
 * skip, saying why (test/fixtures/python-env.ts, test/fixtures/tools.ts).
 * Synchronous on purpose: it runs before mocha loads the test files.
 */
import * as path from 'node:path';
import { setUpPython, satisfies, type PythonSetup } from './python-venv';
import { PYTHON_PACKAGES, TOOLS, type PythonPackage, type Tool } from './requirements';
import { aptCommand, aptInstall, findTool, installBlocker } from './system';

export interface Provisioned {
  /** Tools still missing after any install. */
  missingTools: Tool[];
  /** Python packages the tests' interpreter lacks (or has at a version its requirement refuses). */
  missingPython: PythonPackage[];
  python: PythonSetup;
  /** Why nothing was installed (not root, ...), when something is missing. */
  installBlocker: string | undefined;
  /** Install failures, pip failures: printed in the report. */
  problems: string[];
}

/** Progress while provisioning (installs take a while): one line each, on stderr. */
function log(line: string): void {
  process.stderr.write(`pipe-io-server tests: ${line}\n`);
}

/**
 * Finds (and, with `install` on a machine that allows it, installs) every tool,
 * then sets up the tests' Python. Synchronous; seconds on a first run, ~50 ms after.
 */
export function provision(options: { install: boolean }): Provisioned {
  const problems: string[] = [];
  const blocker = options.install ? installBlocker() : 'not asked to install';
  let missingTools = TOOLS.filter((t) => !findTool(t.name));
  if (missingTools.length > 0 && blocker === undefined) {
    const failed = aptInstall(
      missingTools.map((t) => t.apt),
      log,
    );
    if (failed) problems.push(failed);
    missingTools = TOOLS.filter((t) => !findTool(t.name));
  }
  const python = setUpPython(log);
  problems.push(...python.problems);
  const missingPython = python.python ? PYTHON_PACKAGES.filter((pkg) => !satisfies(pkg, python.modules[pkg.module])) : [...PYTHON_PACKAGES];
  return { missingTools, missingPython, python, installBlocker: blocker, problems };
}

let memo: Provisioned | undefined;

/** The provisioning of this process: the one mocha's setup did, else a check that installs nothing. */
export function provisioned(): Provisioned {
  memo ??= provision({ install: false });
  return memo;
}

/** Records the result of a provision() run as this process's (see provisioned()). */
export function remember(result: Provisioned): void {
  memo = result;
}

/** The one message: the Python in use, then everything missing with the commands that install it. */
export function formatReport(p: Provisioned): string {
  const repo = path.resolve(__dirname, '..', '..');
  const py = p.python;
  const where = py.python && !path.relative(repo, py.python).startsWith('..') ? path.relative(repo, py.python) : py.python;
  const mods = PYTHON_PACKAGES.map((pkg) => `${pkg.module} ${py.modules[pkg.module] ?? 'missing'}`).join(', ');
  const lines = [py.python ? `Python ${where} (${py.version}; ${py.how}): ${mods}` : `no Python (${py.how})`];
  const missing = [
    ...p.missingTools.map((t) => [t.name, t.essential ? `${t.why} (most tests fail without it)` : t.why] as const),
    ...(py.python ? p.missingPython.map((pkg) => [pkg.pip, pkg.why] as const) : []),
  ];
  if (missing.length > 0) {
    lines.push('missing (the tests that need it are skipped, saying why):');
    const width = Math.max(...missing.map(([name]) => name.length)) + 2;
    for (const [name, why] of missing) lines.push(`  ${name.padEnd(width)}${why}`);
    const apt = [...p.missingTools.map((t) => t.apt), ...p.missingPython.flatMap((pkg) => (pkg.debian ? [pkg.debian] : []))];
    if (apt.length > 0) {
      const note = p.installBlocker ? `not installed by this run: ${p.installBlocker}` : 'this run tried: see below';
      lines.push(`  install them: ${aptCommand(apt)}   (${note})`);
    }
    if (p.missingPython.length > 0 && py.python) {
      const specs = p.missingPython.map((pkg) => `'${pkg.pip}'`).join(' ');
      lines.push(`  or from pip (${specs}): rm -rf .tmp/pyenv and rerun where pip reaches an index, or set PIO_PYTHON to an interpreter that has them`);
    }
    for (const problem of p.problems) lines.push(`  (${problem})`);
  }
  return `pipe-io-server tests: ${lines.join('\n')}\n`.replace(/\n(?=[^ ])/g, '\npipe-io-server tests: ');
}

/** True when CI must stop: an essential or any non-optional requirement is missing. */
export function incomplete(p: Provisioned): boolean {
  return p.missingTools.length > 0 || !p.python.python || p.missingPython.some((pkg) => !pkg.optional);
}

// `node -r ts-node/register/transpile-only test/setup/provision.ts [--install] [--strict]`
if (require.main === module) {
  const args = process.argv.slice(2);
  const result = provision({ install: args.includes('--install') });
  process.stderr.write(formatReport(result));
  if (args.includes('--strict') && incomplete(result)) {
    process.stderr.write('pipe-io-server tests: --strict: a requirement is missing (above); stopping\n');
    process.exitCode = 1;
  }
}
