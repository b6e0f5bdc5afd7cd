/**
 * Hub values as JSON text for plugin lines (docs/hub-plugins.md, "Values").
 *
 *   MessagePack (hub)          JSON (plugin line)
 *   nil, bool, str, array      null, true/false, "…", […]
 *   map (string keys)          {…}
 *   int, float                 number (an int beyond 2^53 keeps every digit)
 *   bin                        {"$bytes":"<base64>"}
 *
 * Pure: no I/O. The reverse direction turns an object whose only key is
 * `$bytes` (a base64 string) back into bytes, anywhere in the value.
 */

const BIG_MARK = '\u0000pio-big:';
const BIG_RE = /"\\u0000pio-big:(-?\d+)"/g;

/** Depth beyond which {@link toJsonText} hands a value to {@link stringifyJsonText} (hub frames stop at 64). */
const FAST_DEPTH = 64;

/**
 * JSON text of one hub value (a single line: JSON.stringify never emits a
 * raw newline). Takes what either decoder makes: plain objects (the
 * client's) and `Map`s with string keys (the hub's, written in wire order),
 * bin as Buffer/Uint8Array, ints beyond 2^53 (or any int64 the hub decoder
 * makes) as bigint.
 *
 * One walk that writes as it goes: strings go through the native
 * JSON.stringify, numbers through String() (what JSON.stringify writes for
 * a finite number), so the text is exactly {@link stringifyJsonText}'s, minus
 * its per-key replacer calls (measured, Node 20, the bench's 2-entry map:
 * ~0.4 µs, against ~2 µs through the replacer). Anything unusual (an object
 * with toJSON, a class instance, nesting beyond 64) goes to
 * {@link stringifyJsonText}.
 */
export function toJsonText(value: unknown): string {
  return jsonOf(value, 0) ?? 'null';
}

/** The text of `v`, or undefined where JSON.stringify would omit it (undefined, functions, symbols). */
function jsonOf(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'object':
      break;
    default:
      return undefined;
  }
  if (v === null) return 'null';
  if (depth >= FAST_DEPTH) return stringifyJsonText(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ',';
      out += jsonOf(v[i], depth + 1) ?? 'null';
    }
    return `${out}]`;
  }
  if (v instanceof Map) {
    let out = '{';
    for (const [k, e] of v) {
      const text = jsonOf(e, depth + 1);
      if (text === undefined) continue;
      out += `${out.length > 1 ? ',' : ''}${JSON.stringify(typeof k === 'string' ? k : String(k))}:${text}`;
    }
    return `${out}}`;
  }
  if (v instanceof Uint8Array) return bytesText(v);
  const proto = Object.getPrototypeOf(v) as unknown;
  const obj = v as Record<string, unknown>;
  if ((proto !== Object.prototype && proto !== null) || typeof obj['toJSON'] === 'function') return stringifyJsonText(v);
  let out = '{';
  for (const k of Object.keys(obj)) {
    const text = jsonOf(obj[k], depth + 1);
    if (text === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${text}`;
  }
  return `${out}}`;
}

function bytesText(raw: Uint8Array): string {
  return `{"$bytes":"${Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64')}"}`;
}

/**
 * The reference conversion, JSON.stringify with a replacer for bytes,
 * bigints and `Map`s (a Map becomes an object: integer-like keys move
 * first). {@link toJsonText} gives the same text, faster; this handles its
 * unusual cases. @internal exported for the tests' comparison.
 */
export function stringifyJsonText(value: unknown): string {
  if (value === undefined) return 'null';
  let sawBig = false;
  const text = JSON.stringify(value, function jsonReplacer(this: Record<string, unknown>, key: string, v: unknown) {
    // `this[key]` is the value before toJSON (a Buffer's toJSON hides its bytes).
    const raw = this[key];
    if (raw instanceof Uint8Array) return { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
    if (raw instanceof Map) return Object.fromEntries(raw);
    if (typeof v === 'bigint') {
      sawBig = true;
      return `${BIG_MARK}${v.toString()}`;
    }
    return v;
  });
  if (text === undefined) return 'null';
  return sawBig ? text.replace(BIG_RE, '$1') : text;
}

/** Turns `{"$bytes": base64}` objects back into Buffers (in place where possible). */
export function reviveBytes(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveBytes(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === '$bytes' && typeof obj['$bytes'] === 'string') {
    return Buffer.from(obj['$bytes'], 'base64');
  }
  for (const k of keys) obj[k] = reviveBytes(obj[k]);
  return obj;
}

/** Parses a plugin's JSON text; throws a SyntaxError for anything that is not JSON. */
export function fromJsonText(text: string): unknown {
  const value: unknown = JSON.parse(text);
  // No "$bytes" in the text (the key cannot be written any other way but escaped, which we ignore): nothing to revive.
  return value !== null && typeof value === 'object' && text.includes('"$bytes"') ? reviveBytes(value) : value;
}
