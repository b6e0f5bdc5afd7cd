/**
 * `pipe-io-server provide`: a plugin command as a provider on a running hub
 * (lib/hub/plugins over the hub's wire), until SIGINT/SIGTERM.
 *
 * It says `providing ...` once every instance has stayed up for READY_MS
 * (a plugin that exits at once never gets that line), and reports every exit
 * of a plugin it did not ask for, with its code or signal.
 */
import { PipeIOError } from '../errors';
import { startHubPlugin, socketLinks, type HubPlugin } from '../hub/plugins';
import { CliError, ExitCode, parseCommandArgs, usageError, type CliIO } from './common';
import { PROVIDE_HELP } from './hub-commands-help';
import { CONNECT_OPTIONS, connectionOf, HubExit, intOption, required, untilSignal, withHubErrors } from './hub-remote';

/** ms an instance must stay up before the plugin counts as running. */
const READY_MS = 500;

function spawnExitCode(err: PipeIOError): number | undefined {
  if (err.code !== 'PIPEIO_ERR_SPAWN') return undefined;
  const errno = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return errno === 'ENOENT' ? ExitCode.COMMAND_NOT_FOUND : ExitCode.CANNOT_EXECUTE;
}

function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `code ${String(code)}`;
}

/** Runs `provide`; resolves with the exit code. */
export async function runProvide(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('provide', argv, {
    ...CONNECT_OPTIONS,
    channel: { type: 'string', short: 'c' },
    event: { type: 'string', short: 'e' },
    group: { type: 'string', short: 'g' },
    instances: { type: 'string', short: 'n' },
    mode: { type: 'string', short: 'm' },
    stream: { type: 'boolean', short: 's' },
    pipeline: { type: 'string', short: 'p' },
    timeout: { type: 'string', short: 't' },
    'no-restart': { type: 'boolean' },
  });
  if (values['help']) {
    io.stdout.write(PROVIDE_HELP);
    return ExitCode.OK;
  }
  const channel = required('provide', values, 'channel');
  const mode = (values['mode'] as string | undefined) ?? 'line';
  if (mode !== 'line' && mode !== 'rpc') throw usageError('provide', `--mode must be line or rpc (got ${JSON.stringify(mode)})`);
  const event = values['event'] as string | undefined;
  if (event === undefined && mode === 'line') throw usageError('provide', '--event is required (in rpc mode the plugin may register its own events)');
  if (values['stream'] && mode !== 'rpc') throw usageError('provide', '--stream needs --mode rpc (line mode answers each call with one line)');
  if (values['stream'] && event === undefined) throw usageError('provide', '--stream needs --event (the event to register as a stream)');
  if (values['pipeline'] !== undefined && mode !== 'line') throw usageError('provide', '--pipeline is for line mode (rpc answers carry request ids)');
  const [command, ...args] = positionals;
  if (command === undefined) throw usageError('provide', 'missing the plugin command (after --)');
  const instances = intOption('provide', 'instances', values['instances'], 1);
  if (instances < 1) throw usageError('provide', '--instances must be at least 1');
  const pipeline = intOption('provide', 'pipeline', values['pipeline'], 1);
  if (pipeline < 1) throw usageError('provide', '--pipeline must be at least 1');
  const timeout = intOption('provide', 'timeout', values['timeout'], 30000);
  const conn = connectionOf('provide', values, io);

  let plugin: HubPlugin;
  try {
    plugin = await startHubPlugin(socketLinks(conn.address, { secret: conn.secret }), command, args, {
      channel,
      event,
      group: values['group'] as string | undefined,
      instances,
      mode,
      stream: values['stream'] === true,
      pipeline,
      timeout,
      restart: !values['no-restart'],
      password: conn.password,
      id: conn.clientId,
      stdout: 2, // our stdout is for our own lines
    });
  } catch (err) {
    if (err instanceof PipeIOError) {
      const code = spawnExitCode(err);
      if (code !== undefined) throw new CliError(code, `cannot run ${command}: ${err.message}`);
    }
    if (err instanceof TypeError || err instanceof RangeError) throw usageError('provide', err.message.replace(/^options\./, '--'));
    return withHubErrors(() => Promise.reject(err));
  }
  return serve(plugin, io, `providing ${channel}:${plugin.event ?? '*'} as ${plugin.ids.join(', ')} (${mode} mode)`, values['no-restart'] === true);
}

/** Reports what the plugin does until a signal or its end; resolves with the exit code. */
async function serve(plugin: HubPlugin, io: CliIO, providing: string, noRestart: boolean): Promise<number> {
  const say = (line: string): void => {
    io.stderr.write(`pipe-io-server provide: ${line}\n`);
  };
  let hubLost = false;
  const lastExit: Array<string | undefined> = plugin.ids.map(() => undefined);
  const exitCodes: Array<number | null> = plugin.ids.map(() => 0);
  // running: since when each instance's incarnation has been up (undefined while down)
  const upSince: Array<number | undefined> = plugin.pids.map((pid) => (pid === undefined ? undefined : Date.now()));
  const timers = new Set<NodeJS.Timeout>();
  let announced = false;
  const checkReady = (): void => {
    const now = Date.now();
    if (announced || !upSince.every((t) => t !== undefined && now - t >= READY_MS)) return;
    announced = true;
    io.stdout.write(`${providing}\n`);
  };
  const later = (): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      checkReady();
    }, READY_MS + 5);
    timers.add(timer);
  };

  plugin.on('stderr', (line) => io.stderr.write(`${line}\n`));
  plugin.on('error', (err) => {
    if (err.code === 'PIPEIO_ERR_CONNECTION') hubLost = true;
    say(`${err.message} [${err.code}]`);
  });
  plugin.on('spawn', (index) => {
    upSince[index] = Date.now();
    later();
  });
  plugin.on('exit', (index, code, signal) => {
    upSince[index] = undefined;
    exitCodes[index] = code;
    lastExit[index] = `${plugin.ids[index]} exited (${exitText(code, signal)})`;
  });
  plugin.on('restart', (index, attempt, delay) => say(`${lastExit[index] ?? plugin.ids[index]}; restart ${attempt} in ${delay} ms`));
  later();

  const closed = new Promise<'closed'>((resolve) => plugin.once('close', () => resolve('closed')));
  const why = await Promise.race([untilSignal(), closed]);
  for (const timer of timers) clearTimeout(timer);
  await plugin.stop();
  if (why !== 'closed') return ExitCode.OK;
  if (hubLost) return HubExit.UNREACHABLE;
  const exits = lastExit.filter((e) => e !== undefined).join(', ');
  const budget = noRestart ? ' (--no-restart)' : exitCodes.every((c) => c === 0) ? '' : ' (no restart left)';
  say(`the plugin ended${exits ? `: ${exits}` : ''}${budget}`);
  return exitCodes.every((c) => c === 0) ? ExitCode.OK : ExitCode.FAILURE;
}
