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

/** True if `value` holds bytes or a bigint somewhere (JSON.stringify alone would get them wrong). */
function needsReplacer(value: unknown, depth: number): boolean {
  if (typeof value === 'bigint') return true;
  if (value === null || typeof value !== 'object') return false;
  if (value instanceof Uint8Array || depth > 64) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (needsReplacer(value[i], depth + 1)) return true;
    return false;
  }
  for (const k in value) if (needsReplacer((value as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

/** JSON text of one hub value (a single line: JSON.stringify never emits a raw newline). */
export function toJsonText(value: unknown): string {
  if (value === undefined) return 'null';
  // Fast path: a walk in JS is much cheaper than a replacer called for every key.
  if (!needsReplacer(value, 0)) return JSON.stringify(value) ?? 'null';
  let sawBig = false;
  const text = JSON.stringify(value, function jsonReplacer(this: Record<string, unknown>, key: string, v: unknown) {
    // `this[key]` is the value before toJSON (a Buffer's toJSON hides its bytes).
    const raw = this[key];
    if (raw instanceof Uint8Array) return { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
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
