/**
 * CallLines: the line a plugin gets for one call, in its mode
 * (docs/hub-plugins.md): 'line' mode the call's data as JSON; 'rpc' mode
 * `{"type":"call","request_id":…,"channel":…,"event":…,"sender_id":…[,"stream":true],"data":…}`
 * (envelopeLine's key order, data last).
 *
 * Two ways in, one text out: {@link fromPeek} writes it straight from the
 * frame's bytes into a scratch buffer (msgpack-json.ts), {@link fromData}
 * from a decoded value. The rpc head after the request id repeats from call
 * to call (same channel, event and caller), so a few are kept encoded.
 */
import { toJsonText } from './json-value';
import { envelopeLine, type PluginLineMode } from './line-protocol';
import type { CallPeek } from './call-peek';
import { JsonLineWriter } from './msgpack-json';

/** The scratch buffer every plugin's lines are built in (one line at a time: all of this is synchronous). */
const scratch = new JsonLineWriter();
const RPC_START = '{"type":"call","request_id":';

interface Head {
  channel: string;
  event: string;
  caller: string;
  stream: boolean;
  bytes: Buffer;
}

/** Encoded rpc heads kept per plugin instance (replaced oldest first). */
const HEADS = 8;

export class CallLines {
  private readonly heads: Head[] = [];

  constructor(private readonly mode: PluginLineMode) {}

  /**
   * The line of the call read in place as `peek`, with local request id
   * `local` ('rpc' mode), as a view of the scratch buffer: valid until the
   * next line is built. Undefined if its data is not covered (see
   * msgpack-json.ts): use {@link fromData} with the decoded data instead.
   */
  fromPeek(peek: CallPeek, local: string): Buffer | undefined {
    const w = scratch.reset();
    if (this.mode === 'rpc') w.ascii(RPC_START).jsonString(local).bytes(this.head(peek.channel, peek.event, peek.senderId, peek.isStream));
    if (peek.dataStart < 0) w.ascii('null');
    else if (!w.value(peek.payload, peek.dataStart, peek.dataEnd)) return undefined;
    if (this.mode === 'rpc') w.ascii('}');
    return w.view();
  }

  /** The line of a call whose data is decoded. */
  fromData(local: string, channel: string, event: string, caller: string, stream: boolean, data: unknown): string {
    if (this.mode === 'line') return toJsonText(data);
    return envelopeLine('call', { request_id: local, channel, event, sender_id: caller, stream: stream ? true : undefined, data });
  }

  /** `,"channel":…,"event":…,"sender_id":…[,"stream":true],"data":` */
  private head(channel: string, event: string, caller: string, stream: boolean): Buffer {
    for (const h of this.heads) {
      if (h.caller === caller && h.channel === channel && h.event === event && h.stream === stream) return h.bytes;
    }
    const text = `,"channel":${JSON.stringify(channel)},"event":${JSON.stringify(event)},"sender_id":${JSON.stringify(caller)}${stream ? ',"stream":true' : ''},"data":`;
    const head: Head = { channel, event, caller, stream, bytes: Buffer.from(text, 'utf8') };
    if (this.heads.length >= HEADS) this.heads.shift();
    this.heads.push(head);
    return head.bytes;
  }
}
