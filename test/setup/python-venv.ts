/**
 * The tests' Python: a private virtual environment in .tmp/pyenv, created once
 * and reused until the requirement list changes (delete .tmp/pyenv to redo it).
 *
 *   PIO_PYTHON set ─────────────────────────────▶ that interpreter, as it is
 *   .tmp/pyenv/pio-state.json has today's key ──▶ reuse (one probe, ~30 ms)
 *   otherwise, built in .tmp/pyenv.new-PID, then renamed into place:
 *     1. venv --system-site-packages from `python3` on PATH; pip installs what is missing
 *     2. a required module still missing (pip reached no index): Debian's packages
 *        (apt-get installs them when this run may) seen through a venv from /usr/bin/python3
 *
 * The rename makes concurrent test runs safe: the first complete venv wins.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PYTHON_PACKAGES, type PythonPackage } from './requirements';
import { aptInstall, findTool, installBlocker, lastLine, run } from './system';

const REPO = path.resolve(__dirname, '..', '..');
export const VENV = path.join(REPO, '.tmp', 'pyenv');
const STATE_FILE = 'pio-state.json';
/** Debian's own interpreter, the one its python3-* packages are built for. */
const DEBIAN_PYTHON = '/usr/bin/python3';

export interface PythonSetup {
  /** The interpreter the tests run, or undefined when there is none. */
  python: string | undefined;
  /** How it was obtained, for the report. */
  how: string;
  /** Its version (`3.11.7`). */
  version?: string;
  /** Every PYTHON_PACKAGES module: its installed version, or null when it does not import. */
  modules: Record<string, string | null>;
  /** What went wrong on the way (pip without an index, ...), for the report. */
  problems: string[];
}

interface State {
  key: string;
  /** 'venv': VENV/bin/python; else an absolute path (a Debian python used directly). */
  interpreter: string;
  how: string;
  problems: string[];
}

const PROBE = [
  'import importlib, importlib.metadata, json, sys',
  'mods = {}',
  'for name in sys.argv[1:]:',
  '    try:',
  '        m = importlib.import_module(name)',
  '    except Exception:',
  '        mods[name] = None; continue',
  '    try:',
  '        mods[name] = importlib.metadata.version(name)',
  '    except Exception:',
  '        mods[name] = str(getattr(m, "__version__", "") or getattr(m, "VERSION", "") or "0")',
  'print(json.dumps({"version": sys.version.split()[0], "modules": mods}))',
].join('\n');

interface Probe {
  version: string;
  modules: Record<string, string | null>;
}

function probe(python: string): Probe | undefined {
  const r = run(python, ['-c', PROBE, ...PYTHON_PACKAGES.map((p) => p.module)], 60_000);
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Probe;
  } catch {
    return undefined;
  }
}

/** The `>=` bound of a pip requirement (`pydantic>=2` → `2`), if any. */
function lowerBound(pip: string): string | undefined {
  return /[>~]=\s*([0-9][0-9.]*)/.exec(pip)?.[1];
}

/** True when `version` is at least `bound`, compared numerically part by part. */
function atLeast(version: string, bound: string): boolean {
  const a = version.split('.').map((p) => parseInt(p, 10) || 0);
  const b = bound.split('.').map((p) => parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** True when the module imports at a version its requirement accepts. */
export function satisfies(pkg: PythonPackage, version: string | null | undefined): boolean {
  if (version === null || version === undefined) return false;
  const bound = lowerBound(pkg.pip);
  return bound === undefined || atLeast(version, bound);
}

function unmet(p: Probe | undefined, which: (pkg: PythonPackage) => boolean): PythonPackage[] {
  return PYTHON_PACKAGES.filter((pkg) => which(pkg) && !satisfies(pkg, p?.modules[pkg.module]));
}

const required = (pkg: PythonPackage): boolean => !pkg.optional;
const any = (): boolean => true;

/** The reuse key: the requirement list (and this file's format). */
function stateKey(): string {
  const data = JSON.stringify({ format: 1, packages: PYTHON_PACKAGES.map((p) => [p.module, p.pip, p.debian ?? '']) });
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

function interpreterOf(state: State, dir: string): string {
  return state.interpreter === 'venv' ? path.join(dir, 'bin', 'python') : state.interpreter;
}

function readState(): State | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(VENV, STATE_FILE), 'utf8')) as State;
  } catch {
    return undefined;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

function makeVenv(base: string, dir: string, args: string[]): string | undefined {
  fs.rmSync(dir, { recursive: true, force: true });
  const r = run(base, ['-m', 'venv', '--system-site-packages', ...args, dir], 5 * 60_000);
  return r.status === 0 ? undefined : `${base} -m venv failed: ${lastLine(r)}`;
}

/** pip-installs each unmet requirement into the venv at `dir`; returns the failures. */
function pipInstall(dir: string, packages: PythonPackage[]): string[] {
  const problems: string[] = [];
  for (const pkg of packages) {
    // Short network timeouts: where no index answers (CI), fail in seconds, not minutes.
    const args = ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '--no-input', '--retries', '1', '--timeout', '15', pkg.pip];
    const r = run(path.join(dir, 'bin', 'python'), args, 10 * 60_000);
    if (r.status !== 0) problems.push(`pip install ${pkg.pip} failed: ${lastLine(r)}`);
  }
  return problems;
}

/** Builds the environment in `dir` (a fresh path); returns how the tests reach Python. */
function build(dir: string, log: (line: string) => void): State {
  const problems: string[] = [];
  const base = findTool('python3');
  if (!base) return { key: stateKey(), interpreter: '', how: 'no python3 on PATH', problems: ['python3 is missing'] };
  log(`creating the tests' Python environment in ${path.relative(REPO, VENV)} (once)`);

  // 1. A venv from the python3 on PATH (its own site-packages visible), pip for the rest.
  let venvError = makeVenv(base, dir, []);
  if (venvError && /ensurepip/.test(venvError) && installBlocker() === undefined && sameFile(base, DEBIAN_PYTHON)) {
    // Debian's python3 without python3-venv cannot make a venv with pip.
    aptInstall(['python3-venv'], log);
    venvError = makeVenv(base, dir, []);
  }
  if (venvError) problems.push(venvError);
  else {
    const missing = unmet(probe(path.join(dir, 'bin', 'python')), any);
    if (missing.length > 0) problems.push(...pipInstall(dir, missing));
    if (unmet(probe(path.join(dir, 'bin', 'python')), required).length === 0) {
      return { key: stateKey(), interpreter: 'venv', how: `venv from ${base}, packages from pip`, problems };
    }
  }

  // 2. Debian's packages, for Debian's interpreter.
  if (!fs.existsSync(DEBIAN_PYTHON)) {
    return { key: stateKey(), interpreter: venvError ? base : 'venv', how: `${base} without its requirements`, problems };
  }
  const debs = unmet(probe(DEBIAN_PYTHON), any).flatMap((pkg) => (pkg.debian ? [pkg.debian] : []));
  const blocker = installBlocker();
  if (debs.length > 0 && blocker === undefined) {
    const failed = aptInstall(debs, log);
    if (failed) problems.push(failed);
  }
  if (unmet(probe(DEBIAN_PYTHON), required).length > 0) {
    if (venvError) return { key: stateKey(), interpreter: base, how: `${base} without its requirements`, problems };
    return { key: stateKey(), interpreter: 'venv', how: `venv from ${base} without its requirements`, problems };
  }
  // Without pip, a venv over Debian's site-packages; if even that fails, Debian's python itself.
  if (makeVenv(DEBIAN_PYTHON, dir, ['--without-pip']) === undefined) {
    return { key: stateKey(), interpreter: 'venv', how: `venv from ${DEBIAN_PYTHON}, packages from Debian`, problems };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { key: stateKey(), interpreter: DEBIAN_PYTHON, how: `${DEBIAN_PYTHON}, packages from Debian`, problems };
}

/** Moves the built `dir` (with its state file) to VENV; a concurrent run's complete venv may win. */
function install(dir: string, state: State): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, STATE_FILE), JSON.stringify(state, null, 2));
  const old = `${VENV}.old-${process.pid}`;
  try {
    if (fs.existsSync(VENV)) fs.renameSync(VENV, old);
    fs.renameSync(dir, VENV);
  } catch {
    fs.rmSync(dir, { recursive: true, force: true }); // another run put its own in place
  }
  fs.rmSync(old, { recursive: true, force: true });
}

function describe(python: string | undefined, how: string, problems: string[]): PythonSetup {
  const p = python ? probe(python) : undefined;
  const modules = Object.fromEntries(PYTHON_PACKAGES.map((pkg) => [pkg.module, p?.modules[pkg.module] ?? null]));
  if (python && !p) problems = [...problems, `${python} does not run`];
  return { python: p ? python : undefined, how, version: p?.version, modules, problems };
}

/** The tests' Python interpreter and what it can import, creating the venv if needed. */
export function setUpPython(log: (line: string) => void): PythonSetup {
  const override = process.env['PIO_PYTHON'];
  if (override) return describe(override, 'PIO_PYTHON', []);

  const state = readState();
  if (state && state.key === stateKey() && state.interpreter) {
    const reused = describe(interpreterOf(state, VENV), state.how, state.problems);
    // Reused as it is, unless a required module is missing and Debian's python has it now
    // (someone ran the apt-get install the report asked for).
    const lacking = PYTHON_PACKAGES.some((pkg) => required(pkg) && !satisfies(pkg, reused.modules[pkg.module]));
    const debianFixed = lacking && fs.existsSync(DEBIAN_PYTHON) && unmet(probe(DEBIAN_PYTHON), required).length === 0;
    if (reused.python && !debianFixed) return reused;
  }
  const dir = `${VENV}.new-${process.pid}`;
  const built = build(dir, log);
  if (!built.interpreter) return describe(undefined, built.how, built.problems);
  install(dir, built);
  const after = readState() ?? built;
  return describe(interpreterOf(after, VENV), after.how, after.problems);
}
