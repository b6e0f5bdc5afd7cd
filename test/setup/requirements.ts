/**
 * What the test suite needs from the machine beyond Node and npm, in one place
 * (an entry is one line). test/setup/provision.ts provides it: before any test
 * (mocha's `require` in .mocharc.json) and in CI (.ci/run).
 */

/** A program the tests run as a real process. */
export interface Tool {
  /** The command looked up on PATH (and in the sbin folders). */
  name: string;
  /** The Debian package that installs it. */
  apt: string;
  /** What needs it: printed in the report and in the skip reasons. */
  why: string;
  /** The library itself uses it: most tests fail without it (nothing skips). */
  essential?: boolean;
}

export const TOOLS: readonly Tool[] = [
  { name: 'mkfifo', apt: 'coreutils', why: 'the library creates its FIFOs with it', essential: true },
  { name: 'flock', apt: 'util-linux', why: 'the pidfile takes its lock with it (perl is the fallback)', essential: true },
  { name: 'python3', apt: 'python3', why: 'the Python clients, plugins and comm-ipc peers' },
  { name: 'cc', apt: 'gcc', why: 'the C client, plugins and examples' },
  { name: 'make', apt: 'make', why: 'building the C client' },
  { name: 'openssl', apt: 'openssl', why: 'TLS certificates for the hub tests' },
  { name: 'jq', apt: 'jq', why: 'the bash hub plugins' },
  { name: 'nats-server', apt: 'nats-server', why: 'hub federation' },
  { name: 'chromium', apt: 'chromium', why: 'the browser tests (the dashboard)' },
  { name: 'tmux', apt: 'tmux', why: '`pipe-io-server top` in a real terminal' },
  { name: 'promtool', apt: 'prometheus', why: 'checks the hub\'s /metrics text' },
];

/** A Python module the Python peers import, provisioned into the tests' private venv. */
export interface PythonPackage {
  /** The import name. */
  module: string;
  /** The pip requirement; its `>=` bound is also what pythonHas() checks. */
  pip: string;
  /** Debian's package of it, installed where pip cannot reach an index (only if it satisfies `pip`). */
  debian?: string;
  /** What needs it. */
  why: string;
  /** CI may go without it (its tests skip); without an optional module nothing fails. */
  optional?: boolean;
}

export const PYTHON_PACKAGES: readonly PythonPackage[] = [
  { module: 'msgpack', pip: 'msgpack>=1.0', debian: 'python3-msgpack', why: 'the comm-ipc re-creation (hub interop tests)' },
  // No Debian fallback: Debian 12's python3-pydantic is 1.10, and the tests need the v2 API.
  { module: 'pydantic', pip: 'pydantic>=2', why: 'comm-ipc models (return_type="model")', optional: true },
];
