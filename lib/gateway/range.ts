/**
 * The `Range` request header (RFC 9110 14.2), single byte ranges only: a
 * multi-range or malformed header is ignored (the whole file is sent, as
 * the RFC allows); `If-Range` with another validator also disables it.
 * Pure functions, no I/O.
 */

/** A requested byte range before the size is known. */
export type RangeSpec = { start: number; end: number | undefined } | { suffix: number };

/** Parses `bytes=a-b`, `bytes=a-`, `bytes=-n`; undefined for anything else (then: no range). */
export function parseRange(header: string | undefined): RangeSpec | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const suffix = Number(b);
    return Number.isSafeInteger(suffix) ? { suffix } : undefined;
  }
  const start = Number(a);
  const end = b === '' ? undefined : Number(b);
  if (!Number.isSafeInteger(start) || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) return undefined;
  return { start, end };
}

/** The satisfiable range `[start, end]` (inclusive) of a file of `size` bytes, or undefined (416). */
export function resolveRange(spec: RangeSpec, size: number): { start: number; end: number } | undefined {
  if ('suffix' in spec) {
    if (spec.suffix === 0 || size === 0) return undefined;
    return { start: Math.max(0, size - spec.suffix), end: size - 1 };
  }
  if (spec.start >= size) return undefined;
  return { start: spec.start, end: Math.min(spec.end ?? size - 1, size - 1) };
}
