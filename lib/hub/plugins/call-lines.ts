/**
 * CallLines: the line a plugin gets for one call, in its mode
 * (docs/hub-plugins.md): 'line' mode the call's data as JSON; 'rpc' mode
 * `{"type":"call","request_id":…,"channel":…,"event":…,"sender_id":…[,"stream":true],"data":…}`
 * (envelopeLine's key order, data last).
 *
 * The data is the decoded value, from either decoder (the routing core's,
 * with `Map`s, or the client's): json-value.ts writes it. The rpc head after
 * the request id repeats from call to call (same channel, event and caller),
 * so a few are kept as text.
 */
import { toJsonText } from './json-value';
import type { PluginLineMode } from './line-protocol';

const RPC_START = '{"type":"call","request_id":';

interface Head {
  channel: string;
  event: string;
  caller: string;
  stream: boolean;
  text: string;
}

/** rpc heads kept per plugin instance (replaced oldest first). */
const HEADS = 8;

export class CallLines {
  private readonly heads: Head[] = [];

  constructor(private readonly mode: PluginLineMode) {}

  /** The line of a call with local request id `local` ('rpc' mode) and decoded `data`. */
  line(local: string, channel: string, event: string, caller: string, stream: boolean, data: unknown): string {
    if (this.mode === 'line') return toJsonText(data);
    return `${RPC_START}${JSON.stringify(local)}${this.head(channel, event, caller, stream)}${toJsonText(data)}}`;
  }

  /** `,"channel":…,"event":…,"sender_id":…[,"stream":true],"data":` */
  private head(channel: string, event: string, caller: string, stream: boolean): string {
    for (const h of this.heads) {
      if (h.caller === caller && h.channel === channel && h.event === event && h.stream === stream) return h.text;
    }
    const text = `,"channel":${JSON.stringify(channel)},"event":${JSON.stringify(event)},"sender_id":${JSON.stringify(caller)}${stream ? ',"stream":true' : ''},"data":`;
    const head: Head = { channel, event, caller, stream, text };
    if (this.heads.length >= HEADS) this.heads.shift();
    this.heads.push(head);
    return text;
  }
}
