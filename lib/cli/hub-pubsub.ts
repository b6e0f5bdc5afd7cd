/**
 * `pipe-io-server publish | subscribe | broadcast | listen`: pub/sub and
 * broadcasts on a channel of a running hub, as JSON lines.
 */
import * as readline from 'node:readline';
import { pipeIOError, type PipeIOError } from '../errors';
import type { HubClient } from '../hub/client';
import { CliError, ExitCode, parseCommandArgs, usageError, type CliIO } from './common';
import { BROADCAST_HELP, LISTEN_HELP, PUBLISH_HELP, SUBSCRIBE_HELP } from './hub-commands-help';
import { CONNECT_OPTIONS, connectClient, connectionOf, HubExit, intOption, jsonLine, parseJsonArg, required, untilSignal, withHubErrors } from './hub-remote';

/** Each JSON argument, or (none given) each non-empty stdin line parsed as JSON. */
async function* values(command: string, positionals: string[], io: CliIO): AsyncGenerator<unknown> {
  if (positionals.length > 0) {
    const parsed = positionals.map((p) => parseJsonArg(command, p)); // all checked before anything is sent
    yield* parsed;
    return;
  }
  const lines = readline.createInterface({ input: io.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    yield parseJsonArg(command, line);
  }
}

/** Runs `publish`. */
export async function runPublish(argv: string[], io: CliIO): Promise<number> {
  const { values: v, positionals } = parseCommandArgs('publish', argv, {
    ...CONNECT_OPTIONS,
    channel: { type: 'string', short: 'c' },
    topic: { type: 'string', short: 'T' },
    wait: { type: 'boolean', short: 'w' },
    timeout: { type: 'string', short: 't' },
  });
  if (v['help']) {
    io.stdout.write(PUBLISH_HELP);
    return ExitCode.OK;
  }
  const channel = required('publish', v, 'channel');
  const topic = required('publish', v, 'topic');
  const timeout = intOption('publish', 'timeout', v['timeout'], 30000);
  const conn = connectionOf('publish', v, io);
  return withHubErrors(async () => {
    const client = await connectClient(conn);
    // the hub's answer to a publication it refuses: an `error` frame (a publish has no reply).
    // Not one: the end of our channel membership (its owner left), which stops no publication.
    const refused: PipeIOError[] = [];
    client.on('error', (err) => {
      if (err.code !== 'PIPEIO_ERR_CHANNEL_TERMINATED') refused.push(err);
    });
    try {
      const ch = await client.open(channel, conn.password === undefined ? {} : { password: conn.password });
      const first = new Promise<void>((resolve) => ch.onReceive(`subscription.${topic}.first`, () => resolve()));
      await ch.addSubscription(topic);
      if (v['wait']) await within(first, timeout, `no subscriber to ${channel}:${topic} within ${timeout} ms`);
      let sent = 0;
      for await (const data of values('publish', positionals, io)) {
        if (refused.length > 0) break;
        await ch.publish(topic, data);
        sent++;
      }
      // Round trip: the hub handles one connection's frames in order, so its answer comes after
      // it handled (and answered any refusal of) every publication sent before.
      await ch.listMembers();
      if (refused.length > 0) {
        const err = refused[0]!;
        throw new CliError(ExitCode.FAILURE, `the hub refused a publication to ${channel}:${topic} (${sent} sent, ${refused.length} refused): ${err.message} [${err.code}]`);
      }
      return ExitCode.OK;
    } finally {
      await client.close();
    }
  });
}

/** Runs `broadcast`. */
export async function runBroadcast(argv: string[], io: CliIO): Promise<number> {
  const { values: v, positionals } = parseCommandArgs('broadcast', argv, {
    ...CONNECT_OPTIONS,
    channel: { type: 'string', short: 'c' },
    event: { type: 'string', short: 'e' },
  });
  if (v['help']) {
    io.stdout.write(BROADCAST_HELP);
    return ExitCode.OK;
  }
  const channel = required('broadcast', v, 'channel');
  const event = required('broadcast', v, 'event');
  const conn = connectionOf('broadcast', v, io);
  return withHubErrors(async () => {
    const client = await connectClient(conn);
    try {
      const ch = await client.open(channel, conn.password === undefined ? {} : { password: conn.password });
      for await (const data of values('broadcast', positionals, io)) await ch.broadcast(event, data);
      return ExitCode.OK;
    } finally {
      await client.close();
    }
  });
}

/** Runs `subscribe`. */
export async function runSubscribe(argv: string[], io: CliIO): Promise<number> {
  const { values: v, positionals } = parseCommandArgs('subscribe', argv, {
    ...CONNECT_OPTIONS,
    channel: { type: 'string', short: 'c' },
    topic: { type: 'string', short: 'T' },
    count: { type: 'string', short: 'n' },
    full: { type: 'boolean' },
  });
  if (v['help']) {
    io.stdout.write(SUBSCRIBE_HELP);
    return ExitCode.OK;
  }
  if (positionals.length > 0) throw usageError('subscribe', `unexpected argument ${JSON.stringify(positionals[0])}`);
  const channel = required('subscribe', v, 'channel');
  const topic = required('subscribe', v, 'topic');
  const count = intOption('subscribe', 'count', v['count'], 0);
  const conn = connectionOf('subscribe', v, io);
  return withHubErrors(async () => {
    const client = await connectClient(conn);
    return printUntilDone('subscribe', client, io, count, 'subscribed', async (print) => {
      const ch = await client.open(channel, conn.password === undefined ? {} : { password: conn.password });
      const listener = (msg: Record<string, unknown>): void => print(v['full'] ? msg : msg['data']);
      await ch.subscribe(topic, listener);
      // comm-ipc tells a topic's owner about its first subscriber only when the set
      // goes from empty to non-empty: if the owner declares the topic after we
      // subscribed, subscribe again so that it learns about us (publish --wait).
      // Both requests leave in one write and the hub handles one connection's
      // frames back to back, so no publication falls between them; our listener
      // is set again before anything else can arrive.
      client.on('metadata', (msg) => {
        if (msg.channel !== channel || msg['stype'] !== 'subscription' || msg['name'] !== topic) return;
        const left = ch.unsubscribe(topic);
        const back = ch.subscribe(topic, listener);
        void Promise.all([left, back]).catch(() => undefined);
      });
    });
  });
}

/** Runs `listen`. */
export async function runListen(argv: string[], io: CliIO): Promise<number> {
  const { values: v, positionals } = parseCommandArgs('listen', argv, {
    ...CONNECT_OPTIONS,
    channel: { type: 'string', short: 'c' },
    event: { type: 'string', short: 'e' },
    count: { type: 'string', short: 'n' },
  });
  if (v['help']) {
    io.stdout.write(LISTEN_HELP);
    return ExitCode.OK;
  }
  if (positionals.length > 0) throw usageError('listen', `unexpected argument ${JSON.stringify(positionals[0])}`);
  const channel = required('listen', v, 'channel');
  const event = v['event'] as string | undefined;
  const count = intOption('listen', 'count', v['count'], 0);
  const conn = connectionOf('listen', v, io);
  return withHubErrors(async () => {
    const client = await connectClient(conn);
    return printUntilDone('listen', client, io, count, 'listening', async (print) => {
      const ch = await client.open(channel, conn.password === undefined ? {} : { password: conn.password });
      const listener = (msg: Record<string, unknown>): void => print({ event: msg['event'], sender_id: msg['sender_id'], data: msg['data'] });
      if (event === undefined) ch.onReceive(listener);
      else ch.onReceive(event, listener);
    });
  });
}

/**
 * Runs `setup` (which registers a listener calling `print`), reports `ready`
 * on stderr, then prints until `count` lines (0: no limit), SIGINT/SIGTERM
 * (exit 0) or the hub going away (exit 7).
 */
async function printUntilDone(
  command: string,
  client: HubClient,
  io: CliIO,
  count: number,
  ready: string,
  setup: (print: (value: unknown) => void) => Promise<void>,
): Promise<number> {
  let printed = 0;
  let reachedCount: () => void = () => undefined;
  const enough = new Promise<'count'>((resolve) => (reachedCount = () => resolve('count')));
  const gone = new Promise<'gone'>((resolve) => client.once('disconnect', () => resolve('gone')));
  try {
    await setup((value) => {
      if (count > 0 && printed >= count) return;
      io.stdout.write(`${jsonLine(value)}\n`);
      printed++;
      if (count > 0 && printed >= count) reachedCount();
    });
    io.stderr.write(`${ready}\n`);
    const why = await Promise.race([untilSignal(), enough, gone]);
    if (why === 'gone') {
      io.stderr.write(`pipe-io-server ${command}: the hub closed the connection\n`);
      return HubExit.UNREACHABLE;
    }
    return ExitCode.OK;
  } finally {
    await client.close();
  }
}

/** Resolves with `promise`, or rejects with a timeout error after `ms` (0: never). */
async function within(promise: Promise<void>, ms: number, message: string): Promise<void> {
  if (ms === 0) return promise;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(pipeIOError('PIPEIO_ERR_TIMEOUT', message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
