/**
 * JSON in and out of the hub's value space. The hub carries msgpack: bytes
 * (Buffer) and 64-bit integers (bigint) have no JSON form, so answers write
 * bytes as base64 strings and bigints as decimal strings (exact, unlike a
 * double). Plain values take the fast path of JSON.stringify.
 */

/** A JSON.stringify replacer for hub values (reads the raw value: Buffer.toJSON would run first). */
function hubReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** JSON text of a hub value (`undefined` becomes `null`). */
export function toJson(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value !== 'object') {
    if (typeof value === 'bigint') return JSON.stringify(value.toString());
    return JSON.stringify(value);
  }
  return JSON.stringify({ v: value }, hubReplacer).slice(5, -1);
}
