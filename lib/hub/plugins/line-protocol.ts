/**
 * Everything a hub plugin and its member say to each other, one JSON line
 * each (docs/hub-plugins.md). A discriminated union per direction; a line
 * of an unknown type is refused with a clear error, never guessed at.
 *
 * Two modes:
 * - 'line': hub -> plugin: the call's `data` as one JSON line; plugin -> hub:
 *   the next line is the result (`{"$error": "text"}` fails the call).
 * - 'rpc': the JSON form of the hub envelope with request ids, so answers
 *   may come out of order, stream, and the plugin may call out, publish,
 *   broadcast and subscribe.
 *
 * Lines written to a plugin keep a fixed key order with `data` always last,
 * so a shell or C plugin can cut `data` off the end without a JSON parser.
 */
import { fromJsonText, toJsonText } from './json-value';

/** How a plugin talks: plain data lines, or envelope lines with request ids. */
export type PluginLineMode = 'line' | 'rpc';

// -- plugin -> member ('rpc' mode) ---------------------------------------------

/** An answer to a call the member passed in: result, error, stream chunk or stream end. */
export interface PluginResponse {
  type: 'response';
  request_id: string;
  data?: unknown;
  error?: string;
  /** false: a stream chunk (more follow); true with no data: the stream's end marker. */
  is_final?: boolean;
}
/** A call out to another member's event. */
export interface PluginCall {
  type: 'call';
  request_id: string;
  channel: string;
  event: string;
  data?: unknown;
  /** Ask for a stream (the provider decides; chunks come as responses with is_final false). */
  stream?: boolean;
  /** Give up after this many ms with a PIPEIO_ERR_TIMEOUT response (default: the member's timeout). */
  timeout?: number;
}
/** One-way messages. */
export interface PluginSend {
  type: 'send' | 'broadcast';
  channel: string;
  event: string;
  data?: unknown;
}
export interface PluginPublish {
  type: 'publish';
  channel: string;
  sub_name: string;
  data?: unknown;
}
/** Requests answered by a `response` line when they carry a request_id. */
export interface PluginRequest {
  type: 'open' | 'provide' | 'subscribe' | 'unsubscribe' | 'add_subscription' | 'remove_subscription' | 'list_members';
  request_id?: string;
  channel: string;
  event?: string;
  sub_name?: string;
  group?: boolean;
  stream?: boolean;
  password?: string;
}
export type PluginLine = PluginResponse | PluginCall | PluginSend | PluginPublish | PluginRequest;

const REQUEST_TYPES = new Set(['open', 'provide', 'subscribe', 'unsubscribe', 'add_subscription', 'remove_subscription', 'list_members']);

/** A plugin line that is JSON but not a message we understand. */
export class LineShapeError extends Error {
  constructor(
    message: string,
    /** The request id of the line, when it had one (the error can be answered). */
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'LineShapeError';
  }
}

function str(obj: Record<string, unknown>, key: string, required: boolean, rid?: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw new LineShapeError(`"${key}" is required in a "${String(obj['type'])}" line`, rid);
    return undefined;
  }
  if (typeof v !== 'string' || (required && v === '')) throw new LineShapeError(`"${key}" must be a non-empty string`, rid);
  return v;
}

const PLAIN_ANSWER = '{"type":"response","request_id":"';
const PLAIN_DATA = '","data":';

/**
 * The commonest line, a plain answer `{"type":"response","request_id":"<digits>","data":…}`
 * written with exactly these keys and no spaces (the C and Python kits do):
 * only its data is parsed. Anything else (another shape, or text after the
 * data that makes it a longer line) returns undefined for the full parse.
 * Exact: when the data's text parses as one JSON value, the line is that
 * object and nothing more.
 */
function plainAnswer(text: string): PluginResponse | undefined {
  if (!text.startsWith(PLAIN_ANSWER) || text.charCodeAt(text.length - 1) !== 0x7d) return undefined;
  let i = PLAIN_ANSWER.length;
  const start = i;
  for (let c = text.charCodeAt(i); c >= 0x30 && c <= 0x39 && i - start < 16; c = text.charCodeAt(++i));
  if (i === start || !text.startsWith(PLAIN_DATA, i)) return undefined;
  let data: unknown;
  try {
    data = fromJsonText(text.slice(i + PLAIN_DATA.length, -1));
  } catch {
    return undefined;
  }
  return { type: 'response', request_id: text.slice(start, i), data, error: undefined, is_final: undefined };
}

/**
 * Parses one 'rpc' line. Throws SyntaxError if it is not JSON, and
 * LineShapeError if it is JSON of the wrong shape.
 */
export function parsePluginLine(text: string): PluginLine {
  const plain = plainAnswer(text);
  if (plain) return plain;
  const value = fromJsonText(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LineShapeError('an rpc line must be a JSON object with a "type"');
  }
  const obj = value as Record<string, unknown>;
  const rawRid = obj['request_id'];
  const rid = typeof rawRid === 'string' && rawRid !== '' ? rawRid : typeof rawRid === 'number' ? String(rawRid) : undefined;
  if (rawRid !== undefined && rawRid !== null && rid === undefined) throw new LineShapeError('"request_id" must be a non-empty string');
  const type = obj['type'];
  switch (type) {
    case 'response': {
      if (rid === undefined) throw new LineShapeError('a "response" line needs the request_id of the call it answers');
      const error = obj['error'];
      if (error !== undefined && error !== null && typeof error !== 'string') throw new LineShapeError('"error" must be a string', rid);
      const isFinal = obj['is_final'];
      if (isFinal !== undefined && typeof isFinal !== 'boolean') throw new LineShapeError('"is_final" must be a boolean', rid);
      return { type, request_id: rid, data: obj['data'], error: typeof error === 'string' ? error : undefined, is_final: isFinal };
    }
    case 'call': {
      if (rid === undefined) throw new LineShapeError('a "call" line needs a request_id');
      const timeout = obj['timeout'];
      if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isSafeInteger(timeout) || timeout < 0)) {
        throw new LineShapeError('"timeout" must be a non-negative integer (ms)', rid);
      }
      return {
        type,
        request_id: rid,
        channel: str(obj, 'channel', true, rid)!,
        event: str(obj, 'event', true, rid)!,
        data: obj['data'],
        stream: obj['stream'] === true,
        timeout: timeout as number | undefined,
      };
    }
    case 'send':
    case 'broadcast':
      return { type, channel: str(obj, 'channel', true)!, event: str(obj, 'event', true)!, data: obj['data'] };
    case 'publish':
      return { type, channel: str(obj, 'channel', true)!, sub_name: str(obj, 'sub_name', true)!, data: obj['data'] };
    default:
      if (typeof type === 'string' && REQUEST_TYPES.has(type)) {
        const req: PluginRequest = { type: type as PluginRequest['type'], request_id: rid, channel: str(obj, 'channel', true, rid)! };
        if (type === 'provide') req.event = str(obj, 'event', true, rid);
        if (type.endsWith('subscribe') || type.endsWith('subscription')) req.sub_name = str(obj, 'sub_name', true, rid);
        if (obj['group'] === true) req.group = true;
        if (obj['stream'] === true) req.stream = true;
        const password = str(obj, 'password', false, rid);
        if (password !== undefined) req.password = password;
        return req;
      }
      throw new LineShapeError(`unknown line type ${JSON.stringify(type)}`, rid);
  }
}

// -- member -> plugin ('rpc' mode) ---------------------------------------------

/** Keys copied from a hub frame into a plugin line, in this order (then `data`). */
const HEAD_KEYS = ['request_id', 'channel', 'event', 'sub_name', 'sender_id', 'stream', 'is_stream', 'is_final', 'error', 'code', 'message'] as const;

/**
 * One 'rpc' line for the plugin: `type`, then the present head keys in a
 * fixed order, then `data` last (always present: null when absent).
 */
export function envelopeLine(type: string, fields: Readonly<Record<string, unknown>>): string {
  let out = `{"type":${JSON.stringify(type)}`;
  for (const key of HEAD_KEYS) {
    const v = fields[key];
    if (v === undefined || v === null) continue;
    out += `,"${key}":${typeof v === 'string' || typeof v === 'boolean' ? JSON.stringify(v) : toJsonText(v)}`;
  }
  return `${out},"data":${toJsonText(fields['data'])}}`;
}

/** The hub frame for a plugin's request line, under the member's request id `rid`. */
export function requestFrame(line: PluginRequest, rid: string): Record<string, unknown> {
  const base = { request_id: rid, channel: line.channel };
  switch (line.type) {
    case 'open':
      return { type: 'register', ...base, is_provider: false };
    case 'provide':
      return { type: 'register', ...base, is_provider: true, event: line.event, is_stream: line.stream === true, is_group: line.group === true, param_schema: null, return_schema: null };
    case 'list_members':
      return { type: 'list_members', ...base };
    case 'add_subscription':
      return { type: line.type, ...base, sub_name: line.sub_name, return_schema: null };
    default:
      return { type: line.type, ...base, sub_name: line.sub_name };
  }
}

/** `{"$error": "text"}` (that key alone: line mode's way to fail a call) -> the text. */
export function errorOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const text = (value as Record<string, unknown>)['$error'];
  return keys.length === 1 && typeof text === 'string' ? text : undefined;
}

/** A line shortened for an error text. */
export function preview(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
