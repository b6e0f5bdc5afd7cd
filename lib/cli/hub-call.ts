/**
 * `pipe-io-server call` and `explore`: one request to a running hub, its
 * answer on stdout.
 */
import { CliError, ExitCode, parseCommandArgs, usageError, type CliIO } from './common';
import { CALL_HELP, EXPLORE_HELP } from './hub-commands-help';
import { CONNECT_OPTIONS, connectClient, connectionOf, intOption, jsonLine, parseJsonArg, required, withHubErrors } from './hub-remote';

/** Runs `call`; resolves with the exit code. */
export async function runCall(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('call', argv, {
    ...CONNECT_OPTIONS,
    channel: { type: 'string', short: 'c' },
    event: { type: 'string', short: 'e' },
    stream: { type: 'boolean', short: 's' },
    full: { type: 'boolean' },
    timeout: { type: 'string', short: 't' },
  });
  if (values['help']) {
    io.stdout.write(CALL_HELP);
    return ExitCode.OK;
  }
  const channel = required('call', values, 'channel');
  const event = required('call', values, 'event');
  if (positionals.length > 1) throw usageError('call', 'at most one JSON argument (the data)');
  const data = positionals.length === 1 ? parseJsonArg('call', positionals[0]!) : null;
  const timeout = intOption('call', 'timeout', values['timeout'], 30000);
  const conn = connectionOf('call', values, io);
  const out = (msg: Record<string, unknown>): void => {
    io.stdout.write(`${jsonLine(values['full'] ? msg : msg['data'])}\n`);
  };
  return withHubErrors(async () => {
    const client = await connectClient(conn);
    try {
      const ch = await client.open(channel, conn.password === undefined ? {} : { password: conn.password });
      const options = timeout > 0 ? { timeout } : {};
      // An event the hub lists as a stream is called as one (every chunk printed), --stream or not:
      // a plain call would get its first chunk only.
      const isStream = values['stream'] === true || (await ch.explore()).events[event]?.is_stream === true;
      if (isStream) {
        for await (const chunk of ch.stream(event, data, options)) out(chunk as Record<string, unknown>);
        return ExitCode.OK;
      }
      const answer = (await ch.call(event, data, options)) as Record<string, unknown>;
      if (answer['is_stream'] === true && answer['is_final'] === false) {
        // the provider streams although the hub did not list the event as a stream: the rest is lost
        throw new CliError(ExitCode.FAILURE, `${channel}:${event} answered with a stream (not announced as one): call it again with --stream to get every chunk`);
      }
      out(answer);
      return ExitCode.OK;
    } finally {
      await client.close();
    }
  });
}

/** Runs `explore`; resolves with the exit code. */
export async function runExplore(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('explore', argv, {
    ...CONNECT_OPTIONS,
    channel: { type: 'string', short: 'c' },
    compact: { type: 'boolean' },
  });
  if (values['help']) {
    io.stdout.write(EXPLORE_HELP);
    return ExitCode.OK;
  }
  if (positionals.length > 0) throw usageError('explore', `unexpected argument ${JSON.stringify(positionals[0])}`);
  const channel = required('explore', values, 'channel');
  const conn = connectionOf('explore', values, io);
  return withHubErrors(async () => {
    const client = await connectClient(conn);
    try {
      const ch = await client.open(channel, conn.password === undefined ? {} : { password: conn.password });
      const explored = await ch.explore();
      const members = await ch.listMembers();
      const view = { channel, ...explored, members: members.filter((m) => m.id !== client.clientId) };
      io.stdout.write(`${values['compact'] ? JSON.stringify(view) : JSON.stringify(view, null, 2)}\n`);
      return ExitCode.OK;
    } finally {
      await client.close();
    }
  });
}

