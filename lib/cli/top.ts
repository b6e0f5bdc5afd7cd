/**
 * `pipe-io-server top --hub ADDR`: the hub's live figures in the terminal,
 * redrawn in place every --interval ms (in the spirit of `nats top`): rates,
 * connections, tables, and the busiest events with their latency. It asks
 * the hub over its own protocol (a `stats` call into `__comm_ipc_system`),
 * so it needs no HTTP port. `q` or Ctrl-C quits; without a terminal it
 * prints one screen per refresh (for --count N screens).
 */
import { clientSource } from '../metrics/source';
import type { HubMetricsSnapshot } from '../metrics/types';
import { ExitCode, parseCommandArgs, type CliIO } from './common';
import { pipeIOError, PipeIOError } from '../errors';
import { CONNECT_OPTIONS, connectClient, connectionOf, hubExitCode, intOption, withHubErrors } from './hub-remote';
import { renderTop } from './top-screen';

export const TOP_HELP = `Usage: pipe-io-server top [--hub ADDR] [--interval MS] [--count N] [connection options]

Shows a hub's live figures, redrawn in place: calls/s, errors, traffic,
connections, tables, and its busiest events with p50/p99 latency. Asks the
hub over its own protocol (a "stats" call into __comm_ipc_system), so any
of our hubs can be watched; comm-ipc's hub does not answer it. q quits.

Options:
  -H, --hub ADDR          socket path or HOST:PORT (default: comm-ipc's default socket)
      --tls               connect with TLS (system CAs); --tls-ca FILE: trust FILE
      --secret-file FILE  the hub's connection secret
  -i, --interval MS       refresh period (default 1000)
  -n, --count N           stop after N screens (default: until q)
  -h, --help              show this help
`;

const ENTER_ALT = '\x1b[?1049h\x1b[?25l';
const LEAVE_ALT = '\x1b[?25h\x1b[?1049l';
const HOME_CLEAR = '\x1b[H\x1b[2J';

export async function runTop(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('top', argv, { ...CONNECT_OPTIONS, interval: { type: 'string', short: 'i' }, count: { type: 'string', short: 'n' } }, false);
  if (values['help']) {
    io.stdout.write(TOP_HELP);
    return ExitCode.OK;
  }
  const interval = Math.max(100, intOption('top', 'interval', values['interval'], 1000));
  const count = intOption('top', 'count', values['count'], 0);
  const conn = connectionOf('top', values, io);
  const client = await withHubErrors(() => connectClient(conn));
  const source = clientSource(client, Math.max(5000, interval * 5));
  const out = io.stdout as NodeJS.WriteStream;
  const stdin = io.stdin as NodeJS.ReadStream;
  const tty = out.isTTY === true;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onKey = (chunk: Buffer): void => {
    const s = chunk.toString('utf8');
    if (s.includes('q') || s.includes('Q') || s.includes('\x03')) stop();
  };
  if (tty && stdin.isTTY) {
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onKey);
  }
  const onSignal = (): void => stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let failure: Error | undefined;
  const onDisconnect = (err?: Error): void => {
    failure ??= err ?? pipeIOError('PIPEIO_ERR_CONNECTION', 'the hub went away');
    stop();
  };
  client.on('disconnect', onDisconnect);
  if (tty) out.write(ENTER_ALT);
  let prev: HubMetricsSnapshot | undefined;
  let screens = 0;
  try {
    for (;;) {
      let snap: HubMetricsSnapshot;
      try {
        snap = await source.snapshot({ topology: true, limit: 500 });
      } catch (err) {
        failure = err as Error;
        break;
      }
      const lines = renderTop(prev, snap, tty ? (out.columns ?? 100) : 120, tty ? (out.rows ?? 40) : 40, tty);
      out.write(tty ? `${HOME_CLEAR}${lines.join('\r\n')}` : `${lines.join('\n')}\n\n`);
      prev = snap;
      if (count > 0 && ++screens >= count) break;
      let timer: NodeJS.Timeout | undefined;
      const again = await Promise.race([stopped.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), interval)))]);
      clearTimeout(timer);
      if (!again) break;
    }
  } finally {
    if (tty) out.write(LEAVE_ALT);
    if (tty && stdin.isTTY) {
      stdin.removeListener('data', onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    client.removeListener('disconnect', onDisconnect);
    await client.close().catch(() => undefined);
  }
  if (failure) {
    io.stderr.write(`pipe-io-server top: ${failure.message}${failure instanceof PipeIOError ? ` [${failure.code}]` : ''}\n`);
    return failure instanceof PipeIOError ? hubExitCode(failure) : ExitCode.FAILURE;
  }
  return ExitCode.OK;
}
