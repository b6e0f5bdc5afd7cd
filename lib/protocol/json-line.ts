/**
 * JSON lines: one compact JSON text per line, `\n`-terminated, UTF-8. This is
 * the wire format of the Unix-socket server/client and of FifoChannel, and
 * the one codechu-ipc speaks. Pure and I/O-free except `decodeStream`, which
 * only consumes an async-iterable of chunks.
 */
import { pipeIOError, PipeIOError } from '../errors';
import { StringDecoder } from 'node:string_decoder';

/** Default longest accepted line for JSON lines: 16 MiB (newline excluded). */
export const DEFAULT_JSON_MAX_LINE_LENGTH = 16 * 1024 * 1024;

export interface JsonLineDecoderOptions {
  /**
   * Longest accepted line in bytes, newline excluded. A longer line is
   * skipped up to its newline and reported as `PIPEIO_ERR_LINE_TOO_LONG`.
   * @default 16777216 (16 MiB)
   */
  maxLineLength?: number;
}

export interface DecodeStreamOptions extends JsonLineDecoderOptions {
  /**
   * Called with a `PIPEIO_ERR_INVALID_JSON` or `PIPEIO_ERR_LINE_TOO_LONG`
   * error for each bad line; the stream goes on with the next line. Without
   * it, bad lines are skipped silently.
   */
  onError?: (err: PipeIOError) => void;
}

const BLANK = /^[ \t\r]*$/;

/**
 * Incremental JSON-line decoder, reusable across chunks: `push()` any chunk
 * boundaries, it calls `onValue` for each complete, valid line and `onError`
 * for each bad one (invalid JSON or too long). A bad line never stops the
 * lines after it. Blank lines (spaces, tabs, CR) are ignored.
 */
export class JsonLineDecoder {
  /** Longest accepted line in bytes. */
  readonly maxLineLength: number;
  private readonly onValue: (value: unknown) => void;
  private readonly onError: (err: PipeIOError) => void;
  // Chunks are decoded to text once (StringDecoder keeps split UTF-8
  // sequences) and split in string space: one toString per chunk, not per line.
  private text = new StringDecoder('utf8');
  private partial = '';
  private skipping = false;

  constructor(
    onValue: (value: unknown) => void,
    onError: (err: PipeIOError) => void,
    options: JsonLineDecoderOptions = {},
  ) {
    if (typeof onValue !== 'function') throw new TypeError('onValue must be a function');
    if (typeof onError !== 'function') throw new TypeError('onError must be a function');
    const max = options.maxLineLength ?? DEFAULT_JSON_MAX_LINE_LENGTH;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('options.maxLineLength must be a positive integer');
    this.maxLineLength = max;
    this.onValue = onValue;
    this.onError = onError;
  }

  /** Feeds one chunk; calls back synchronously for each complete line. */
  push(chunk: Buffer): void {
    const text = this.text.write(chunk);
    let start = 0;
    let nl = text.indexOf('\n');
    if (nl === -1) {
      this.keep(text);
      return;
    }
    if (this.skipping) {
      this.skipping = false;
    } else if (this.partial.length > 0) {
      const line = this.partial + text.slice(0, nl);
      this.partial = '';
      this.line(line);
    } else {
      this.line(text.slice(0, nl));
    }
    start = nl + 1;
    while ((nl = text.indexOf('\n', start)) !== -1) {
      this.line(text.slice(start, nl));
      start = nl + 1;
    }
    if (start < text.length) this.keep(text.slice(start));
  }

  /** End of input: a last unterminated line is decoded too. */
  end(): void {
    const rest = this.text.end();
    if (rest) this.keep(rest);
    this.text = new StringDecoder('utf8');
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    const line = this.partial;
    this.partial = '';
    if (line.length > 0) this.line(line);
  }

  /** Forgets any partial line (e.g. after the source was replaced). */
  discard(): void {
    this.text = new StringDecoder('utf8');
    this.partial = '';
    this.skipping = false;
  }

  private keep(piece: string): void {
    if (this.skipping) return;
    this.partial += piece;
    if (this.tooLong(this.partial)) {
      this.overflow(Buffer.byteLength(this.partial, 'utf8'));
      this.partial = '';
      this.skipping = true;
    }
  }

  private tooLong(text: string): boolean {
    // A UTF-16 code unit is at most 3 UTF-8 bytes: only long lines pay for byteLength.
    return text.length * 3 > this.maxLineLength && Buffer.byteLength(text, 'utf8') > this.maxLineLength;
  }

  private line(text: string): void {
    if (this.tooLong(text)) {
      this.overflow(Buffer.byteLength(text, 'utf8'));
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (BLANK.test(text)) return;
      const preview = text.length > 80 ? `${text.slice(0, 80)}...` : text;
      this.onError(pipeIOError('PIPEIO_ERR_INVALID_JSON', `invalid JSON line: ${preview}`, { cause: err }));
      return;
    }
    this.onValue(value);
  }

  private overflow(length: number): void {
    this.onError(
      pipeIOError('PIPEIO_ERR_LINE_TOO_LONG', `JSON line of ${length}+ bytes exceeds maxLineLength ${this.maxLineLength}`),
    );
  }
}

/** Compact JSON text of `value` plus `\n`, as a string. @throws TypeError as {@link encodeJsonLine}. */
export function jsonLineText(value: unknown): string {
  const text = JSON.stringify(value);
  if (typeof text !== 'string') throw new TypeError(`cannot encode ${typeof value} as JSON`);
  return `${text}\n`;
}

/**
 * Encodes one value as compact JSON plus `\n`. JSON escapes newlines inside
 * strings, so the result is always exactly one line.
 * @throws TypeError if `value` has no JSON text (undefined, a function, a symbol) or is cyclic.
 */
export function encodeJsonLine(value: unknown): Buffer {
  return Buffer.from(jsonLineText(value), 'utf8');
}

/**
 * Decodes an async-iterable of chunks (a `Readable`, a socket...) into an
 * async iterator of values, whatever the chunk boundaries. Bad lines go to
 * `options.onError` and the stream goes on. Ends when the source ends; an
 * error of the source itself is thrown from the iterator.
 */
export async function* decodeJsonLineStream(
  source: AsyncIterable<Buffer | string>,
  options: DecodeStreamOptions = {},
): AsyncGenerator<unknown, void, undefined> {
  const ready: unknown[] = [];
  const onError = options.onError ?? (() => undefined);
  const decoder = new JsonLineDecoder((value) => ready.push(value), onError, options);
  for await (const chunk of source) {
    decoder.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    while (ready.length > 0) yield ready.shift();
  }
  decoder.end();
  while (ready.length > 0) yield ready.shift();
}

/**
 * The JSON-line protocol as one object (codechu-ipc's `JsonLineProtocol`):
 * `encode`, `decodeStream`, and `decoder()` for an incremental decoder. The
 * instance carries the line-length limit.
 */
export class JsonLineProtocol {
  /** Longest accepted line in bytes, newline excluded. */
  readonly maxLineLength: number;

  /** @param options.maxLineLength Longest accepted line in bytes. @default 16777216 (16 MiB) */
  constructor(options: JsonLineDecoderOptions = {}) {
    const max = options.maxLineLength ?? DEFAULT_JSON_MAX_LINE_LENGTH;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError('options.maxLineLength must be a positive integer');
    }
    this.maxLineLength = max;
  }

  /** See {@link encodeJsonLine}. */
  encode(value: unknown): Buffer {
    return encodeJsonLine(value);
  }

  /** See {@link decodeJsonLineStream}; uses this protocol's maxLineLength. */
  decodeStream(
    source: AsyncIterable<Buffer | string>,
    options: Omit<DecodeStreamOptions, 'maxLineLength'> = {},
  ): AsyncGenerator<unknown, void, undefined> {
    return decodeJsonLineStream(source, { ...options, maxLineLength: this.maxLineLength });
  }

  /** A fresh incremental decoder with this protocol's maxLineLength. */
  decoder(onValue: (value: unknown) => void, onError: (err: PipeIOError) => void): JsonLineDecoder {
    return new JsonLineDecoder(onValue, onError, { maxLineLength: this.maxLineLength });
  }
}
