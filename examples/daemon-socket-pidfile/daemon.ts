/**
 * A Node daemon with a pidfile and a Unix control socket (JSON lines).
 *
 *   node -r ts-node/register/transpile-only examples/daemon-socket-pidfile/daemon.ts STATE_DIR
 *
 * STATE_DIR/daemon.pid  held while running (a second instance exits with code 3)
 * STATE_DIR/control.sock  requests: {"cmd":"status"} {"cmd":"echo","text":...} {"cmd":"stop"}
 *
 * Prints `ready pid=N` once both exist. Shuts down on {"cmd":"stop"}, SIGTERM
 * or SIGINT: stops the socket (pending replies are flushed, the socket file is
 * removed), releases the pidfile, exits 0.
 */
import { join } from 'node:path';
import { Pidfile, PipeIOError, UnixServer } from 'pipe-io-server';

async function main(stateDir: string): Promise<void> {
  let pidfile: Pidfile;
  try {
    pidfile = await Pidfile.acquire(join(stateDir, 'daemon.pid'));
  } catch (err) {
    if (err instanceof PipeIOError && err.code === 'PIPEIO_ERR_PIDFILE_LOCKED') {
      console.error(`already running (pid ${err.pid ?? 'unknown'})`);
      process.exitCode = 3;
      return;
    }
    throw err;
  }

  const startedAt = Date.now();
  let requests = 0;
  let shutdown: Promise<void> | undefined;
  const control = new UnixServer(join(stateDir, 'control.sock'), (request) => {
    requests++;
    const { cmd, text } = (request ?? {}) as { cmd?: unknown; text?: unknown };
    switch (cmd) {
      case 'status':
        return { pid: process.pid, requests, uptimeMs: Date.now() - startedAt };
      case 'echo':
        return { text };
      case 'stop':
        setImmediate(stop, 'stop request'); // after this reply is queued; stop() flushes it
        return { stopping: true };
      default:
        throw new RangeError(`unknown cmd ${JSON.stringify(cmd)}`); // -> {"error", "type": "RangeError"}
    }
  });

  function stop(reason: string): Promise<void> {
    shutdown ??= (async () => {
      console.log(`stopping (${reason})`);
      await control.stop();
      await pidfile.release();
      process.off('SIGTERM', onSigterm);
      process.off('SIGINT', onSigint);
    })();
    return shutdown;
  }
  const onSigterm = (): void => void stop('SIGTERM');
  const onSigint = (): void => void stop('SIGINT');
  process.on('SIGTERM', onSigterm);
  process.on('SIGINT', onSigint);

  try {
    await control.start();
  } catch (err) {
    await pidfile.release();
    throw err;
  }
  console.log(`ready pid=${process.pid}`);
}

const stateDir = process.argv[2];
if (!stateDir) {
  console.error('usage: daemon.ts STATE_DIR');
  process.exitCode = 2;
} else {
  main(stateDir).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
