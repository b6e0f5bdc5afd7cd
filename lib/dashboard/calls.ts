/**
 * How the dashboard calls events and tails topics: through a HubClient of
 * its own (made on first use by `connect`), one subscription per topic
 * shared by every page that tails it.
 */
import type { HubChannel, HubClient } from '../hub/client';

export interface CallResult {
  ok: boolean;
  data?: unknown;
  error?: string;
  code?: string;
}

export interface DashboardCalls {
  /** A single call. */
  call(channel: string, event: string, data: unknown, timeout: number): Promise<CallResult>;
  /** A stream call: `onChunk` per chunk; resolves with the end (or error). */
  stream(channel: string, event: string, data: unknown, timeout: number, onChunk: (data: unknown) => boolean): Promise<CallResult>;
  /** Tails a topic; resolves with the remover. */
  tail(channel: string, topic: string, onData: (data: unknown) => void): Promise<() => void>;
  close(): Promise<void>;
}

function failure(err: unknown): CallResult {
  const e = err as { message?: string; code?: string; remoteMessage?: string };
  return { ok: false, error: e?.remoteMessage ?? e?.message ?? String(err), code: e?.code ?? 'PIPEIO_ERR_REMOTE' };
}

/** Calls made by the HubClient `connect()` resolves to (made once, on first use). */
export function clientCalls(connect: () => Promise<HubClient>): DashboardCalls {
  let client: Promise<HubClient> | undefined;
  const channels = new Map<string, Promise<HubChannel>>();
  const tails = new Map<string, Set<(data: unknown) => void>>();
  const channel = async (name: string): Promise<HubChannel> => {
    client ??= connect().catch((err: unknown) => {
      client = undefined;
      throw err;
    });
    const c = await client;
    let ch = channels.get(name);
    if (!ch) {
      ch = c.open(name);
      channels.set(name, ch);
      ch.catch(() => channels.delete(name));
    }
    return ch;
  };
  return {
    async call(ch, event, data, timeout) {
      try {
        const answer = await (await channel(ch)).call(event, data, { timeout });
        return { ok: true, data: answer.data };
      } catch (err) {
        return failure(err);
      }
    },
    async stream(ch, event, data, timeout, onChunk) {
      try {
        const s = (await channel(ch)).stream(event, data, { timeout });
        for await (const chunk of s) {
          if (!onChunk(chunk.data)) {
            await s.return();
            break;
          }
        }
        return { ok: true };
      } catch (err) {
        return failure(err);
      }
    },
    async tail(chName, topic, onData) {
      const key = `${chName}\u0000${topic}`;
      let set = tails.get(key);
      if (!set) {
        const mine = new Set<(data: unknown) => void>();
        tails.set(key, (set = mine));
        try {
          await (await channel(chName)).subscribe(topic, (msg) => {
            for (const fn of mine) fn(msg.data);
          });
        } catch (err) {
          tails.delete(key);
          throw err;
        }
      }
      set.add(onData);
      return () => {
        set.delete(onData);
        if (set.size === 0 && tails.get(key) === set) {
          tails.delete(key);
          void channel(chName)
            .then((ch) => ch.unsubscribe(topic))
            .catch(() => undefined);
        }
      };
    },
    async close() {
      const c = client;
      client = undefined;
      channels.clear();
      tails.clear();
      if (c) await (await c.catch(() => undefined))?.close();
    },
  };
}
