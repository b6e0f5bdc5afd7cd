/**
 * Real client processes for the MultiPipeServer tests: a bash script with a
 * deadline, and a Python echo checker (writes N lines, reads N replies and
 * checks each one, in order).
 */
import { spawn } from 'node:child_process';
import { PYTHON } from '../fixtures/python-env';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `bash -c script` (env added), resolves when it exits, kills it after `timeout` ms. */
export function runBash(script: string, env: Record<string, string> = {}, timeout = 15000): Promise<RunResult> {
  return runProcess('bash', ['-c', script], env, timeout);
}

const PY_ECHO_MANY = `
import sys, threading
n = int(sys.argv[1])
pairs = [a.split(',') for a in sys.argv[2:]]  # read_pipe,write_pipe,tag
failures = []
def serve(read_pipe, write_pipe, tag):
    r = open(read_pipe, 'rb')
    w = open(write_pipe, 'wb')
    def writer():
        w.write(b''.join(('%s:%d\\n' % (tag, i)).encode() for i in range(n)))
        w.close()
    t = threading.Thread(target=writer)
    t.start()
    for i in range(n):
        line = r.readline()
        want = ('%s:%d\\n' % (tag, i)).encode()
        if line != want:
            failures.append('%s at %d: got %r want %r' % (tag, i, line, want))
            break
    t.join()
    r.close()
threads = [threading.Thread(target=serve, args=p) for p in pairs]
for t in threads: t.start()
for t in threads: t.join()
if failures:
    print('\\n'.join(failures))
    sys.exit(1)
print('OK %d' % (n * len(pairs)))
`;

/**
 * One Python process driving many pairs at once (a thread per pair): writes
 * `n` lines `tag:i` to each in pipe and checks each echo, in order.
 */
export function runPythonEchoMany(
  pairs: Array<{ readPipe: string; writePipe: string; tag: string }>,
  n: number,
  timeout = 60000,
): Promise<RunResult> {
  const args = pairs.map((p) => `${p.readPipe},${p.writePipe},${p.tag}`);
  return runProcess(PYTHON, ['-c', PY_ECHO_MANY, String(n), ...args], {}, timeout);
}

/** Python client: writes `n` lines `tag:i` to the in pipe, expects each echoed back on the out pipe. */
export function runPythonEcho(readPipe: string, writePipe: string, n: number, tag: string, timeout = 30000): Promise<RunResult> {
  return runPythonEchoMany([{ readPipe, writePipe, tag }], n, timeout);
}

function runProcess(cmd: string, args: string[], env: Record<string, string>, timeout: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} did not finish within ${timeout} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeout);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
