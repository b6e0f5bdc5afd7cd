/**
 * `pipe-io-server provide`: a plugin command as a provider on a running hub
 * (lib/hub/plugins over the hub's wire), until SIGINT/SIGTERM.
 */
import { PipeIOError } from '../errors';
import { startHubPlugin, socketLinks, type HubPlugin } from '../hub/plugins';
import { CliError, ExitCode, parseCommandArgs, usageError, type CliIO } from './common';
import { PROVIDE_HELP } from './hub-commands-help';
import { CONNECT_OPTIONS, connectionOf, HubExit, intOption, required, untilSignal, withHubErrors } from './hub-remote';

function spawnExitCode(err: PipeIOError): number | undefined {
  if (err.code !== 'PIPEIO_ERR_SPAWN') return undefined;
  const errno = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return errno === 'ENOENT' ? ExitCode.COMMAND_NOT_FOUND : ExitCode.CANNOT_EXECUTE;
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
  const [command, ...args] = positionals;
  if (command === undefined) throw usageError('provide', 'missing the plugin command (after --)');
  const instances = intOption('provide', 'instances', values['instances'], 1);
  if (instances < 1) throw usageError('provide', '--instances must be at least 1');
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
  let lastExit: number | null = 0;
  let hubLost = false;
  plugin.on('stderr', (line) => io.stderr.write(`${line}\n`));
  plugin.on('error', (err) => {
    if (err.code === 'PIPEIO_ERR_CONNECTION') hubLost = true;
    io.stderr.write(`pipe-io-server provide: ${err.message} [${err.code}]\n`);
  });
  plugin.on('exit', (_index, code) => (lastExit = code));
  plugin.on('restart', (index, attempt, delay) =>
    io.stderr.write(`pipe-io-server provide: ${plugin.ids[index]} crashed; restart ${attempt} in ${delay} ms\n`),
  );
  io.stdout.write(`providing ${channel}:${plugin.event ?? '*'} as ${plugin.ids.join(', ')} (${mode} mode)\n`);
  const closed = new Promise<'closed'>((resolve) => plugin.once('close', () => resolve('closed')));
  const why = await Promise.race([untilSignal(), closed]);
  await plugin.stop();
  if (why !== 'closed') return ExitCode.OK;
  if (hubLost) return HubExit.UNREACHABLE;
  io.stderr.write('pipe-io-server provide: the plugin ended\n');
  return lastExit === 0 ? ExitCode.OK : ExitCode.FAILURE;
}
